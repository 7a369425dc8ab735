"""Changing a commitment before the close, turning a proposal down with a reason, and the names
people choose to show with their opener answer: services on a real migrated SQLite file."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import select

from facilitator import migrate
from facilitator.db import Database
from facilitator.db.models import Commitment, MeetingEvent
from facilitator.errors import Forbidden, GateRefused, Invalid, Refused
from facilitator.flow import Stage
from facilitator.services import commitments, joining, lifecycle, opener, state
from facilitator.services.actors import Actor
from tests.support.meetings import new_meeting, walk
from tests.support.world import TODAY, World

LATER = TODAY + timedelta(days=14)


async def in_closing_round(db: Database, world: World) -> int:
    mid = await new_meeting(db, world)
    for person in world.people[:3]:
        await joining.join(db, mid, person_id=person)
    await lifecycle.start(db, mid, world.staff)
    await walk(db, mid, world.staff, Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS)
    return mid


async def test_a_withdrawn_commitment_no_longer_counts_and_never_comes_back(
    db: Database, world: World
) -> None:
    mid = await in_closing_round(db, world)
    added = await commitments.add(db, mid, world.staff, "לזמן את ההורים", world.people[1], LATER)
    cid = added.event.payload["commitment"]["id"]
    withdrawn = await commitments.withdraw(db, mid, world.staff, cid, reason="  כבר נעשה  ")
    assert withdrawn.event.type == "commitment_withdrawn"
    assert withdrawn.event.payload["reason"] == "כבר נעשה"
    assert withdrawn.event.payload["commitment"]["status"] == "withdrawn"
    assert [c["id"] for c in (await state.snapshot(db, mid))["commitments"]] == []

    # It no longer satisfies the close gate, and withdrawing twice is refused.
    with pytest.raises(GateRefused) as refused:
        await lifecycle.close(db, mid, world.staff)
    assert [r.key for r in refused.value.reasons] == ["gate.no_commitment"]
    with pytest.raises(Refused) as again:
        await commitments.withdraw(db, mid, world.staff, cid)
    assert again.value.key == "commitment.not_editable"

    await commitments.add(db, mid, world.staff, "להפיץ סיכום", world.people[0], LATER)
    await lifecycle.close(db, mid, world.staff)
    follow_up = await new_meeting(db, world, day=TODAY + timedelta(days=7))
    started = await lifecycle.start(db, follow_up, world.staff)
    reopened = [c["text"] for c in started.event.payload["reopened"]]
    assert reopened == ["להפיץ סיכום"]


async def test_withdraw_is_for_staff_and_for_confirmed_commitments_only(
    db: Database, world: World
) -> None:
    mid = await in_closing_round(db, world)
    phone = Actor.participant(world.people[0])
    proposed = await commitments.propose(db, mid, phone, "לכתוב טיוטה", LATER)
    pid = proposed.event.payload["commitment"]["id"]
    with pytest.raises(Forbidden):
        await commitments.withdraw(db, mid, phone, pid)
    with pytest.raises(Refused) as refused:
        await commitments.withdraw(db, mid, world.staff, pid)
    assert refused.value.key == "commitment.withdraw_proposal"
    with pytest.raises(Invalid):
        await commitments.withdraw(db, mid, world.staff, pid, reason="x" * 501)
    async with db.read() as session:
        status = await session.scalar(select(Commitment.status).where(Commitment.id == pid))
    assert status == "proposed"


async def test_a_turned_down_proposal_carries_its_reason_in_the_log(
    db: Database, world: World
) -> None:
    mid = await in_closing_round(db, world)
    phone = Actor.participant(world.people[0])
    proposed = await commitments.propose(db, mid, phone, "לכתוב טיוטה", LATER)
    pid = proposed.event.payload["commitment"]["id"]
    turned = await commitments.confirm(
        db, mid, world.staff, pid, accept=False, reason="לא ברור מה הצעד"
    )
    assert turned.event.type == "commitment_rejected"
    assert turned.event.payload["reason"] == "לא ברור מה הצעד"
    async with db.read() as session:
        stored = await session.scalar(
            select(MeetingEvent.payload).where(
                MeetingEvent.meeting_id == mid, MeetingEvent.seq == turned.event.seq
            )
        )
    assert stored is not None
    assert stored["reason"] == "לא ברור מה הצעד"


async def test_a_name_shown_with_an_answer_reaches_staff_only_by_choice(
    db: Database, world: World
) -> None:
    mid = await new_meeting(db, world)
    for person in world.people[:2]:
        await joining.join(db, mid, person_id=person)
    await lifecycle.start(db, mid, world.staff)
    await walk(db, mid, world.staff, Stage.OPENER)
    blockers = [b["id"] for b in (await state.snapshot(db, mid))["blockers"]]
    named, hidden = (Actor.participant(p) for p in world.people[:2])
    await opener.respond(db, mid, named, [blockers[2], blockers[5]], anonymous=False)
    await opener.respond(db, mid, hidden, [blockers[2]], anonymous=True)
    assert await opener.named_answers(db, mid) == {
        str(blockers[2]): ["אדם 0"],
        str(blockers[5]): ["אדם 0"],
    }
    mine = await state.me(db, mid, world.people[0])
    assert mine["opener"] == [blockers[2], blockers[5]]
    assert mine["opener_named"] is True
    theirs = await state.me(db, mid, world.people[1])
    assert theirs["opener_named"] is False

    # Changing one's mind to anonymous takes the name off the console.
    await opener.respond(db, mid, named, [blockers[5]], anonymous=True)
    assert await opener.named_answers(db, mid) == {}
    snapshot = await state.snapshot(db, mid)
    assert "named_answers" not in snapshot  # the shared snapshot never carries names


async def test_a_schema_downgrade_keeps_a_withdrawn_commitment_as_turned_down(
    db_url: str, db: Database, world: World
) -> None:
    mid = await in_closing_round(db, world)
    added = await commitments.add(db, mid, world.staff, "לזמן את ההורים", world.people[1], LATER)
    cid = added.event.payload["commitment"]["id"]
    await commitments.withdraw(db, mid, world.staff, cid)
    # env.py runs its own event loop, so Alembic needs a thread of its own.
    await asyncio.to_thread(command.downgrade, migrate.alembic_config(db_url), "0003")
    back = Database(db_url)
    try:
        async with back.read() as session:
            status = await session.scalar(select(Commitment.status).where(Commitment.id == cid))
    finally:
        await back.dispose()
    assert status == "rejected"
