"""One calendar: every day a person reads is the network's own day. Tested on a UTC clock at
22:30 on 30 November, which is already 00:30 on 1 December in Jerusalem."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.db import Database
from facilitator.db.models import Meeting, Network
from facilitator.flow import Stage
from facilitator.i18n import format_date
from facilitator.localtime import local_day
from facilitator.services import commitments, feeds, joining, lifecycle, network, users
from facilitator.services.access import staff_for, start_session
from facilitator.services.actors import Actor
from facilitator.services.commands import local_today, meeting_day
from facilitator.settings import Settings
from tests.support.world import Clock

PAST_MIDNIGHT = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
THERE = date(2026, 12, 1)
JERUSALEM = "Asia/Jerusalem"
PASSWORD = "a long password"


@pytest.mark.parametrize(
    ("moment", "timezone", "day"),
    [
        (PAST_MIDNIGHT, JERUSALEM, THERE),
        (PAST_MIDNIGHT - timedelta(minutes=31), JERUSALEM, date(2026, 11, 30)),  # 23:59 there
        (PAST_MIDNIGHT, "UTC", date(2026, 11, 30)),
        (PAST_MIDNIGHT.replace(tzinfo=None), JERUSALEM, THERE),  # stored moments are UTC
        (datetime(2026, 6, 30, 21, 30, tzinfo=UTC), JERUSALEM, date(2026, 7, 1)),  # summer: +3
        (datetime(2026, 6, 30, 20, 59, tzinfo=UTC), JERUSALEM, date(2026, 6, 30)),
    ],
)
def test_local_day_crosses_midnight_where_the_network_meets(
    moment: datetime, timezone: str, day: date
) -> None:
    assert local_day(moment, timezone) == day


def test_today_and_a_meetings_day_are_the_networks() -> None:
    there = Network(timezone=JERUSALEM)
    assert local_today(there, PAST_MIDNIGHT) == THERE
    planned = Meeting(scheduled_on=date(2026, 12, 3), started_at=None)
    assert meeting_day(planned, there) == date(2026, 12, 3)
    held = Meeting(scheduled_on=date(2026, 12, 3), started_at=PAST_MIDNIGHT)
    assert meeting_day(held, there) == THERE


def test_a_moment_is_never_cut_to_its_utc_day_when_shown() -> None:
    assert format_date(THERE, "he") == "1 בדצמבר 2026"
    assert format_date("2026-12-01", "en") == "1 December 2026"
    with pytest.raises(TypeError):
        format_date(PAST_MIDNIGHT, "en")
    with pytest.raises(TypeError):
        format_date(PAST_MIDNIGHT.isoformat(), "he")


async def _held_past_midnight(db_url: str) -> tuple[int, int, int]:
    """A meeting held, a commitment made and a calendar link created at 00:30 Jerusalem time."""
    db = Database(db_url, clock=Clock(PAST_MIDNIGHT))
    try:
        return await _hold(db)
    finally:
        await db.dispose()


async def _hold(db: Database) -> tuple[int, int, int]:
    nid = await network.create_network(db, "רשת הלילה")
    org = await network.add_organization(db, nid, "עמותה", "nonprofit")
    person = await network.add_person(db, nid, "רות כהן", org)
    group = await network.add_group(db, nid, "קבוצת לילה", "working_group")
    uid = await users.create_user(db, nid, "bb@example.org", PASSWORD, name="שדרה", role="backbone")
    staff = Actor.staff(uid, "backbone")
    meeting = (await lifecycle.create_meeting(db, staff, group, "מפגש לילה", THERE)).event
    mid = meeting.meeting_id
    await lifecycle.start(db, mid, staff)
    await joining.join(db, mid, person_id=person)
    for stage in (Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS):
        await lifecycle.move(db, mid, staff, stage)
    made = await commitments.add(db, mid, staff, "לשלוח סיכום", person, THERE + timedelta(7))
    await lifecycle.close(db, mid, staff)
    identity = await staff_for(db, await start_session(db, uid))
    assert identity is not None
    await feeds.create_feed(db, identity, "group", group, [group])
    return uid, int(made.event.payload["commitment"]["id"]), mid


def test_pages_and_exports_show_the_networks_day(db_url: str) -> None:
    _uid, commitment, meeting = asyncio.run(_held_past_midnight(db_url))
    # What was stored is what is shown: the app reads it on the real clock.
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=db_url))
    ) as client:
        client.get("/login")
        client.post(
            "/login",
            data={
                "csrf": client.cookies["fac_csrf"],
                "email": "bb@example.org",
                "password": PASSWORD,
            },
        )
        # The attendance page shows a group's meetings (and their days) once it is opened.
        group = client.get("/api/backbone/attendance").json()["groups"][0]["id"]
        opened = {"/backbone/attendance": {"group": str(group)}}
        pages = [
            "/",
            "/backbone/attendance",
            f"/backbone/commitments/{commitment}",
            "/backbone/feeds",
            f"/m/{meeting}/summary",
        ]
        for path in pages:
            text = client.get(path, params={"lang": "en", **opened.get(path, {})}).text
            assert "1 December 2026" in text, path
            assert "30 November 2026" not in text, path
        made_on = csv.DictReader(
            io.StringIO(client.get("/backbone/commitments.csv", params={"lang": "en"}).text)
        )
        assert [row["Date"] for row in made_on] == ["2026-12-01"]
        attended = client.get("/backbone/attendance.csv").text
        assert re.search(r"מפגש לילה,2026-12-01,", attended)
