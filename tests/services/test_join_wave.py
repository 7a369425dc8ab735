"""A hall arriving: phones joining at once share the writer's transactions, each keeps its own
attendance and its token, and one refused join spoils none of the others."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import Attendance, ParticipantToken, Person
from facilitator.errors import Refused
from facilitator.services import access, joining
from facilitator.services.commands import Result
from tests.support.meetings import new_meeting
from tests.support.world import World

HALL = 30


async def test_a_hall_joining_at_once_shares_transactions(db: Database, world: World) -> None:
    meeting_id = await new_meeting(db, world)
    batches = db.group_commit.batches
    tokens = [access.new_token() for _ in range(HALL)]
    results = await asyncio.gather(
        *(
            joining.join(
                db,
                meeting_id,
                name=f"אורח {n}",
                organization="עמותת הכנס",
                token_hash=access.digest(token),
            )
            for n, token in enumerate(tokens)
        )
    )
    assert db.group_commit.batches - batches < HALL  # fewer transactions (and fsyncs) than joins
    assert sorted(r.event.payload["attendance"] for r in results) == list(range(1, HALL + 1))
    assert len({r.event.seq for r in results}) == HALL
    for result, token in zip(results, tokens, strict=True):  # each token names its own person
        assert await access.person_for(db, token) == result.event.payload["person"]["id"]
    async with db.read() as session:
        present = await session.scalar(
            select(func.count()).where(Attendance.meeting_id == meeting_id)
        )
        stored = await session.scalar(select(func.count()).select_from(ParticipantToken))
        person = await session.get_one(Person, results[7].event.payload["person"]["id"])
    # Made by a plain insert: the key a later spelling finds them by is the model's own.
    assert person.name_key == Person(name=person.name).name_key
    assert present == HALL
    assert stored is not None
    assert stored >= HALL


async def test_a_join_refused_in_a_batch_leaves_the_others_in(db: Database, world: World) -> None:
    meeting_id = await new_meeting(db, world)
    held = access.digest(access.new_token())
    await joining.join(db, meeting_id, name="דנה", organization="עמותת הכנס", token_hash=held)
    unused = access.new_token()
    again, other = await asyncio.gather(
        # The same person from another phone, in the same batch: refused, no token stored.
        joining.join(
            db,
            meeting_id,
            name="דנה",
            organization="עמותת הכנס",
            token_hash=access.digest(unused),
        ),
        joining.join(db, meeting_id, name="נועה", organization="עמותת הכנס"),
        return_exceptions=True,
    )
    assert isinstance(again, Refused)
    assert again.key == "join.name_taken"
    assert isinstance(other, Result)
    assert not other.replayed
    assert other.event.payload["attendance"] == 2
    assert await access.person_for(db, unused) is None
