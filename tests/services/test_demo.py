"""The demo network: real history, so starting its next meeting shows the carry-over."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from facilitator import demo
from facilitator.db import Database
from facilitator.db.models import MailOut, Meeting
from facilitator.flow import Stage
from facilitator.services import commitments, lifecycle, state, users
from facilitator.services.actors import Actor
from tests.support.world import Clock


async def test_demo_next_meeting_reopens_commitments_in_every_state(
    db: Database, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 27, 10, tzinfo=UTC)
    logins = await demo.load(db)
    assert await demo.has_network(db)
    backbone, facilitator = logins
    assert await users.authenticate(db, backbone.email, backbone.password) is not None
    fac_id = await users.authenticate(db, facilitator.email, facilitator.password)
    assert fac_id is not None
    assert await users.authenticate(db, facilitator.email, "wrong password") is None

    async with db.read() as session:
        lobby = (
            await session.scalars(select(Meeting).where(Meeting.stage == Stage.LOBBY.value))
        ).all()
        closed = (
            await session.scalars(select(Meeting).where(Meeting.stage == Stage.CLOSED.value))
        ).all()
    assert len(lobby) == 1
    assert len(closed) == 3
    next_meeting = lobby[0]
    snap = await state.snapshot(db, next_meeting.id)
    assert snap["network"]["language"] == "he"
    assert len(snap["values"]) == 4
    # Every value in both languages, so the wall reads it in its own.
    assert all(
        v[lang]["title"] and v[lang]["behaviours"] for v in snap["values"] for lang in ("he", "en")
    )
    assert next(b["he"] for b in snap["blockers"]) == "יעדים לא ברורים"
    assert len(snap["agenda"]) == 3

    staff = Actor.staff(fac_id, "facilitator")
    started = await lifecycle.start(db, next_meeting.id, staff)
    reopened = started.event.payload["reopened"]
    # Two on track, two slipped once, two made at the second meeting; done, dropped and the
    # steering committee's commitment stay away.
    assert len(reopened) == 6
    assert sorted(c["times_slipped"] for c in reopened) == [0, 0, 0, 0, 1, 1]
    assert all(c["group_id"] == next_meeting.group_id for c in reopened)
    # Owners reported between meetings: the stuck one comes first, with its note.
    assert reopened[0]["report"]["outcome"] == "stuck"
    assert "נתוני עלות" in reopened[0]["report"]["note"]
    assert sorted((c["report"] or {}).get("outcome", "") for c in reopened) == [
        "", "", "", "", "done", "stuck"
    ]  # fmt: skip
    overdue = [c for c in reopened if c["due"] < "2026-11-27"]
    assert overdue, "the demo shows overdue commitments"
    slipped = next(c for c in reopened if c["times_slipped"] == 1)
    journey = await commitments.history(db, slipped["id"])
    assert [r["outcome"] for r in journey["reviews"]] == ["slipped", None]
    past = {m.id for m in closed}
    assert {c["origin_meeting_id"] for c in reopened} <= past


async def test_demo_mail_went_and_one_came_back(db: Database, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 27, 10, tzinfo=UTC)
    await demo.load(db)
    async with db.read() as session:
        rows = list(await session.scalars(select(MailOut).where(MailOut.kind == "record")))
    assert rows
    states = sorted(r.state for r in rows)
    assert states.count("bounced") == 1
    assert set(states) == {"sent", "bounced"}
    [returned] = [r for r in rows if r.state == "bounced"]
    assert returned.address is not None
    assert "5.1.1" in str(returned.error)
    # Inside the backbone's 30 days, so `make run` shows it.
    written = returned.created_at
    written = written if written.tzinfo else written.replace(tzinfo=UTC)
    assert written >= datetime(2026, 10, 28, tzinfo=UTC)
