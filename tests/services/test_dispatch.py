"""A decoded message through the dispatch table to its service, on a real migrated SQLite file:
what a field's absence and an explicit null mean reaches the service intact."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import Commitment
from facilitator.live import messages
from facilitator.live.dispatch import execute
from facilitator.services.actors import Actor
from facilitator.services.commands import Result
from tests.support.meetings import new_meeting, run_to_commitments
from tests.support.world import TODAY, World


async def send(db: Database, meeting_id: int, actor: Actor, **fields: Any) -> Result:
    message = messages.parse(json.dumps(fields))
    assert isinstance(message, messages.Command)
    return await execute(db, meeting_id, actor, message)


async def strategy_of(db: Database, commitment_id: int) -> int | None:
    async with db.read() as session:
        return await session.scalar(
            select(Commitment.strategy_id).where(Commitment.id == commitment_id)
        )


async def test_an_absent_strategy_is_left_alone_and_a_null_one_cleared(
    db: Database, world: World
) -> None:
    mid = await new_meeting(db, world)
    await run_to_commitments(db, world, mid, world.people[:2])
    due = (TODAY + timedelta(days=14)).isoformat()
    added = await send(
        db, mid, world.staff, type="add_commitment", id="a1", text="לזמן את ההורים",
        owner_id=world.people[1], due=due, strategy_id=world.strategy,
    )  # fmt: skip
    cid = int(added.event.payload["commitment"]["id"])
    assert await strategy_of(db, cid) == world.strategy

    edited = await send(
        db, mid, world.staff, type="edit_commitment", id="e1", commitment_id=cid, text="אחר"
    )
    assert edited.event.payload["commitment"]["text"] == "אחר"
    assert await strategy_of(db, cid) == world.strategy  # absent: left alone

    await send(
        db, mid, world.staff, type="edit_commitment", id="e2", commitment_id=cid, strategy_id=None
    )
    assert await strategy_of(db, cid) is None  # an explicit null: cleared


async def test_a_resent_command_is_answered_from_the_log(db: Database, world: World) -> None:
    # A resend of one id is answered from the log: the same seq, marked replayed.
    mid = await new_meeting(db, world)
    first = await send(db, mid, world.staff, type="start", id="s1")
    again = await send(db, mid, world.staff, type="start", id="s1")
    assert (again.event.seq, again.replayed) == (first.event.seq, True)
    moved = await send(db, mid, world.staff, type="move", id="m1", stage="opener")
    assert moved.event.type == "stage_changed"
    assert moved.event.type in messages.EVENT_KINDS
