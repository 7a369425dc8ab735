"""Fifty phones at once: no "database is locked", nothing lost, no gap in the event log.

Two ``Database`` objects on one file stand for two server processes: then the in-process write
lock cannot help, and only ``BEGIN IMMEDIATE`` with the busy timeout keeps writers in line.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import Attendance, MeetingEvent, OpenerResponse
from facilitator.flow import Stage
from facilitator.services import joining, lifecycle, opener, state
from facilitator.services.actors import Actor
from tests.support.meetings import new_meeting
from tests.support.world import Clock, World

PHONES = 50


async def test_fifty_concurrent_joins_and_opener_answers(
    db: Database, db_url: str, clock: Clock, world: World
) -> None:
    second = Database(db_url, clock=clock)
    try:
        mid = await new_meeting(db, world)
        joins = [
            joining.join(
                db if n % 2 else second,
                mid,
                name=f"Phone {n}",
                organization=f"Org {n % 7}",
                client_msg_id=f"join-{n}",
            )
            for n in range(PHONES)
        ]
        joined = await asyncio.gather(*joins)
        people = [r.event.payload["person"]["id"] for r in joined]
        assert len(set(people)) == PHONES

        await lifecycle.start(db, mid, world.staff)
        await lifecycle.move(db, mid, world.staff, Stage.OPENER)
        blockers = [b["id"] for b in (await state.snapshot(db, mid))["blockers"]]
        choices = {pid: [blockers[pid % 9], blockers[(pid * 5 + 1) % 9]] for pid in people}
        answers = [
            opener.respond(
                second if n % 2 else db,
                mid,
                Actor.participant(pid),
                sorted(set(choices[pid])),
                client_msg_id=f"open-{n}",
            )
            for n, pid in enumerate(people)
        ]
        # Every answer sent twice at once, as a phone on bad Wi-Fi would.
        await asyncio.gather(
            *answers,
            *[
                opener.respond(
                    db,
                    mid,
                    Actor.participant(pid),
                    sorted(set(choices[pid])),
                    client_msg_id=f"open-{n}",
                )
                for n, pid in enumerate(people)
            ],
        )

        expected: dict[str, int] = {}
        for picks in choices.values():
            for blocker in set(picks):
                expected[str(blocker)] = expected.get(str(blocker), 0) + 1
        snap = await state.snapshot(db, mid)
        assert snap["tally"] == expected
        assert snap["respondents"] == PHONES
        async with db.read() as session:
            attended = await session.scalar(
                select(func.count()).where(Attendance.meeting_id == mid)
            )
            flagged = await session.scalar(
                select(func.count()).where(OpenerResponse.meeting_id == mid)
            )
            numbers = list(
                await session.scalars(
                    select(MeetingEvent.seq)
                    .where(MeetingEvent.meeting_id == mid)
                    .order_by(MeetingEvent.seq)
                )
            )
        assert attended == PHONES
        assert flagged == sum(len(set(p)) for p in choices.values())
        # created + 50 joins + start + opener + 50 answers (their resends add nothing)
        assert numbers == list(range(1, 1 + 1 + PHONES + 2 + PHONES))
    finally:
        await second.dispose()


async def test_read_then_write_transactions_from_two_processes(
    db: Database, db_url: str, clock: Clock, world: World
) -> None:
    """Creating a meeting reads before it writes; begun deferred, two writers would deadlock."""
    second = Database(db_url, clock=clock)
    try:
        created = await asyncio.gather(
            *[
                lifecycle.create_meeting(
                    db if n % 2 else second, world.staff, world.group, f"Meeting {n}", "2026-03-09"
                )
                for n in range(30)
            ]
        )
        assert len({r.event.meeting_id for r in created}) == 30
        codes = {r.event.payload["meeting"]["join_code"] for r in created}
        assert len(codes) == 30
    finally:
        await second.dispose()
