"""Which mails are due, on a real migrated SQLite file: the reminder lead is the network's
setting, a commitment made inside the window or reported done is not reminded, overdue notices
stop after a week, nothing goes before 08:00 in the network's day, the digest is weekly from
the network's first weekday, and writing the same mail twice writes it once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import MailOut
from facilitator.services import lifecycle, mail_due, network_settings, personal
from facilitator.services.staff_links import FieldError
from tests.support.meetings import add, new_meeting, run_to_commitments
from tests.support.world import TODAY, World


def local(day: date, hour: int) -> datetime:
    """``hour`` o'clock in Jerusalem in March (UTC+2)."""
    return datetime.combine(day, time(hour), UTC) - timedelta(hours=2)


async def _kinds(db: Database, now: datetime) -> list[tuple[str, str]]:
    return sorted((m.kind, m.about) for m in await mail_due.unwritten(db, now))


async def _made(db: Database, world: World, due: date, text: str = "למפות") -> int:
    meeting = await new_meeting(db, world)
    await run_to_commitments(db, world, meeting, world.people[:2])
    made = await add(db, world, meeting, text, world.people[0], due)
    await lifecycle.close(db, meeting, world.staff)
    return made


async def test_reminders_follow_the_networks_lead_and_skip_what_is_done(
    db: Database, world: World
) -> None:
    due = TODAY + timedelta(days=10)
    made = await _made(db, world, due)
    about = f"commitment:{made}"
    assert ("reminder", about) not in await _kinds(db, local(due - timedelta(days=4), 9))
    assert ("reminder", about) in await _kinds(db, local(due - timedelta(days=3), 9))
    # Nothing before eight in the morning where the network is.
    assert await _kinds(db, local(due - timedelta(days=3), 7)) == []
    await network_settings.update_network(
        db, world.network, world.backbone.user_id or 0,
        {**await _form(db, world), "reminder_days": "5"},
    )  # fmt: skip
    assert ("reminder", about) in await _kinds(db, local(due - timedelta(days=5), 9))
    assert ("due", about) in await _kinds(db, local(due, 9))
    assert ("overdue", about) in await _kinds(db, local(due + timedelta(days=7), 9))
    assert ("overdue", about) not in await _kinds(db, local(due + timedelta(days=8), 9))
    # The owner said it is done: the next meeting confirms it, no one reminds them.
    await personal.report(db, world.people[0], made, "done", None)
    assert ("due", about) not in await _kinds(db, local(due, 9))


async def test_a_commitment_made_inside_the_window_gets_no_early_reminder(
    db: Database, world: World
) -> None:
    made = await _made(db, world, TODAY + timedelta(days=2))
    kinds = await _kinds(db, local(TODAY + timedelta(days=1), 9))
    assert ("reminder", f"commitment:{made}") not in kinds
    assert ("due", f"commitment:{made}") in await _kinds(db, local(TODAY + timedelta(days=2), 9))


async def test_the_digest_is_weekly_and_each_mail_is_written_once(
    db: Database, world: World
) -> None:
    await _made(db, world, TODAY + timedelta(days=20))
    monday = TODAY  # 2 March 2026; in Israel the week began on Sunday 1 March
    assert mail_due.week_start(monday, "he") == date(2026, 3, 1)
    assert mail_due.week_start(monday, "en") == monday
    now = local(monday, 9)
    assert await mail_due.write_due(db, now) == 1  # the backbone's digest
    assert await mail_due.write_due(db, now) == 0
    assert await mail_due.write_due(db, local(monday + timedelta(days=5), 9)) == 0  # same week
    assert await mail_due.write_due(db, local(monday + timedelta(days=6), 9)) == 1  # Sunday
    async with db.read() as session:
        rows = await session.scalar(select(func.count()).select_from(MailOut))
        records = await session.scalar(
            select(func.count()).select_from(MailOut).where(MailOut.kind == "record")
        )
    assert (rows, records) == (4, 2)  # two digests and the record to the two who came


async def test_the_reminder_lead_is_checked(db: Database, world: World) -> None:
    for wrong in ("0", "15", "soon"):
        with pytest.raises(FieldError) as refused:
            await network_settings.update_network(
                db, world.network, world.backbone.user_id or 0,
                {**await _form(db, world), "reminder_days": wrong},
            )  # fmt: skip
        assert refused.value.field == "reminder_days"


async def _form(db: Database, world: World) -> dict[str, object]:
    now = await network_settings.network_settings(db, world.network)
    return {
        "network_name": now["name"],
        "language": now["default_language"],
        "timezone": now["timezone"],
        "meeting_minutes": now["meeting_minutes"],
        "public_url": now["public_url"],
    }
