"""Meetings for service tests: made, walked through stages, filled with commitments."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import MeetingEvent
from facilitator.flow import Stage
from facilitator.services import commitments, joining, lifecycle
from facilitator.services.actors import Actor
from facilitator.services.agenda import AgendaItemInput
from tests.support.world import TODAY, World


async def new_meeting(
    db: Database, world: World, day: date = TODAY, group: int | None = None
) -> int:
    result = await lifecycle.create_meeting(
        db,
        world.staff,
        group or world.group,
        "מפגש",
        day,
        [
            AgendaItemInput("עדכונים", 10, "update"),
            AgendaItemInput("החלטה", 20, "decision", world.strategy),
        ],
    )
    return result.event.meeting_id


async def seqs(db: Database, meeting_id: int) -> list[int]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(MeetingEvent.seq)
                .where(MeetingEvent.meeting_id == meeting_id)
                .order_by(MeetingEvent.seq)
            )
        )


async def walk(db: Database, meeting_id: int, staff: Actor, *stages: Stage) -> None:
    for stage in stages:
        await lifecycle.move(db, meeting_id, staff, stage)


async def run_to_commitments(db: Database, world: World, mid: int, people: list[int]) -> None:
    await lifecycle.start(db, mid, world.staff)
    for pid in people:
        await joining.join(db, mid, person_id=pid)
    await walk(db, mid, world.staff, Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS)


async def add(db: Database, world: World, mid: int, text: str, owner: int, due: date) -> int:
    result = await commitments.add(db, mid, world.staff, text, owner, due)
    return int(result.event.payload["commitment"]["id"])
