"""What the database itself holds, so several processes on one PostgreSQL keep it too: one
live meeting per group, and one organization per name however many create it at once.

Each race runs through two ``Database`` objects on one database (two processes' worth of
connections). A third holds rows locked while both are sent, so on PostgreSQL they really
overlap; on SQLite the one writer serializes them, and the answers must be the same
(``tests/support/races.py``). People and organizations of one name are
``test_one_per_name.py``'s."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from facilitator import migrate
from facilitator.db import Database
from facilitator.db.models import CommitmentReview, Meeting, MeetingEvent, Organization
from facilitator.errors import Conflict, Refused
from facilitator.services import joining, lifecycle, network, organizations
from tests.support.meetings import add, new_meeting, run_to_commitments
from tests.support.races import released_together
from tests.support.world import POSTGRES, TODAY, Clock, World, build_world


async def carried_meeting(db: Database, world: World) -> int:
    """A closed meeting of the group with one open commitment the next start reopens."""
    m1 = await new_meeting(db, world)
    await run_to_commitments(db, world, m1, world.people[:1])
    carried = await add(db, world, m1, "carried", world.people[0], TODAY + timedelta(days=3))
    await lifecycle.close(db, m1, world.staff)
    return carried


async def reviews_of(db: Database, commitment_id: int) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).where(CommitmentReview.commitment_id == commitment_id)
        )
    return count or 0


async def test_the_database_refuses_a_second_live_meeting_of_a_group(
    db: Database, world: World
) -> None:
    m2, m3 = await new_meeting(db, world), await new_meeting(db, world)
    elsewhere = await new_meeting(db, world, group=world.other_group)
    await lifecycle.start(db, m2, world.staff)
    started = {"started_at": db.now(), "stage": "review"}
    # Past the flow's check altogether: the index alone refuses it.
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await session.execute(update(Meeting).where(Meeting.id == m3).values(**started))
    async with db.write() as session:  # another group's meeting is no obstacle
        await session.execute(update(Meeting).where(Meeting.id == elsewhere).values(**started))
    # Back in the lobby a started meeting still holds the group; a closed one does not.
    async with db.write() as session:
        await session.execute(update(Meeting).where(Meeting.id == m2).values(stage="lobby"))
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await session.execute(update(Meeting).where(Meeting.id == m3).values(**started))
    async with db.write() as session:
        await session.execute(update(Meeting).where(Meeting.id == m2).values(stage="closed"))
        await session.execute(update(Meeting).where(Meeting.id == m3).values(**started))


@pytest.mark.skipif(bool(POSTGRES), reason="the migration's own SQL; shown once, on a file")
async def test_the_migration_leaves_the_latest_started_meeting_live(
    tmp_path: Path, clock: Clock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
    await migrate.upgrade_async(url, "0013")
    db = Database(url, clock=clock)
    try:
        world = await build_world(db)
        older, newer, waiting = [await new_meeting(db, world) for _ in range(3)]
        elsewhere = await new_meeting(db, world, group=world.other_group)
        await lifecycle.start(db, older, world.staff)
        await lifecycle.start(db, elsewhere, world.staff)
        clock.now += timedelta(hours=1)
        async with db.write() as session:  # what a past race left: two live in one group
            await session.execute(
                update(Meeting)
                .where(Meeting.id == newer)
                .values(started_at=db.now(), stage="agenda")
            )
    finally:
        await db.dispose()

    await migrate.upgrade_async(url)

    db = Database(url, clock=clock)
    try:
        async with db.read() as session:
            rows = {
                m.id: (m.stage, m.closed_at is not None, m.join_code is None)
                for m in await session.scalars(select(Meeting))
            }
    finally:
        await db.dispose()
    assert rows[older] == ("closed", True, True)
    assert rows[newer] == ("agenda", False, False)
    assert rows[elsewhere] == ("review", False, False)
    assert rows[waiting] == ("lobby", False, False)


async def test_a_start_past_the_flows_check_gets_the_flows_refusal(
    db: Database, other_db: Database, world: World
) -> None:
    carried = await carried_meeting(db, world)
    m2, m3 = await new_meeting(db, world), await new_meeting(db, world)
    async with db.read() as session:
        title = (await session.get_one(Meeting, m2)).title
        before = (await session.get_one(Meeting, m3)).last_seq

    async def start_m2_unseen(session: Any) -> None:
        # Started in a transaction not committed yet: on PostgreSQL the start of m3 does not
        # see it when the flow checks, and its own write of the start waits on the index.
        await session.execute(
            update(Meeting).where(Meeting.id == m2).values(started_at=db.now(), stage="review")
        )

    (outcome,) = await released_together(
        db, start_m2_unseen, lifecycle.start(other_db, m3, world.staff)
    )

    assert isinstance(outcome, Refused)
    assert (outcome.key, outcome.params) == ("flow.group_busy", {"title": title})
    async with db.read() as session:
        m3_row = await session.get_one(Meeting, m3)
        logged = await session.scalar(
            select(func.count()).where(MeetingEvent.meeting_id == m3, MeetingEvent.seq > before)
        )
    # All of it rolled back: not started, no event numbered, nothing reopened.
    assert (m3_row.stage, m3_row.started_at, m3_row.last_seq, logged) == ("lobby", None, before, 0)
    assert await reviews_of(db, carried) == 0


async def test_two_starts_at_once_one_wins_and_commitments_reopen_once(
    db: Database, other_db: Database, third_db: Database, world: World
) -> None:
    carried = await carried_meeting(db, world)
    m2, m3 = await new_meeting(db, world), await new_meeting(db, world)

    async def hold_both(session: Any) -> None:
        # Both starts begin by numbering their meeting's event: they wait here, then go on
        # together into the check and the write of the start.
        await session.execute(
            update(Meeting).where(Meeting.id.in_([m2, m3])).values(last_seq=Meeting.last_seq)
        )

    outcomes = await released_together(
        third_db,
        hold_both,
        lifecycle.start(db, m2, world.staff),
        lifecycle.start(other_db, m3, world.staff),
    )

    refused = [o for o in outcomes if isinstance(o, Refused)]
    won = [o for o in outcomes if isinstance(o, lifecycle.Result)]
    assert len(won) == 1, outcomes
    assert len(refused) == 1, outcomes
    winner = won[0].event.meeting_id
    async with db.read() as session:
        titles = {m: (await session.get_one(Meeting, m)).title for m in (m2, m3)}
        live = list(
            await session.scalars(
                select(Meeting.id).where(Meeting.started_at.is_not(None), Meeting.stage != "closed")
            )
        )
    assert refused[0].key == "flow.group_busy"
    assert refused[0].params == {"title": titles[winner]}
    assert live == [winner]
    assert [c["id"] for c in won[0].event.payload["reopened"]] == [carried]
    assert await reviews_of(db, carried) == 1


async def test_two_creations_of_one_organization_at_once_give_one_row(
    db: Database, other_db: Database, world: World
) -> None:
    name = "מרכז קהילתי חדש"
    outcomes = await asyncio.gather(
        network.add_organization(db, world.network, name, "community"),
        network.add_organization(other_db, world.network, name, "community"),
    )
    assert outcomes[0] == outcomes[1]
    assert await _organizations_named(db, world, name) == [outcomes[0]]


async def test_an_organization_made_meanwhile_is_the_one_both_callers_get(
    db: Database, other_db: Database, world: World
) -> None:
    name = "ארגון שנוצר עכשיו"
    made: list[int] = []

    async def make_it_unseen(session: Any) -> None:
        # Another process's insert, not committed while both callers look for the name.
        made.append(await network_insert(session, world, name))

    outcomes = await released_together(
        db,
        make_it_unseen,
        network.add_organization(other_db, world.network, name, "business"),
        network.add_organization(other_db, world.network, name, "business"),
    )
    assert outcomes == made * 2
    assert await _organizations_named(db, world, name) == made


async def test_an_organization_added_by_hand_at_the_same_moment_is_refused_as_taken(
    db: Database, other_db: Database, world: World
) -> None:
    name = "חברה בע״מ"

    async def make_it_unseen(session: Any) -> None:
        await network_insert(session, world, name)

    (outcome,) = await released_together(
        db,
        make_it_unseen,
        organizations.add_organization(other_db, world.network, None, name, "business"),
    )
    # The answer of the check when nothing raced: the name is taken (no 500, no second row).
    assert isinstance(outcome, Conflict), outcome
    assert (outcome.key, outcome.params) == ("organization.spelling_taken", {"name": name})
    assert len(await _organizations_named(db, world, name)) == 1


async def test_two_phones_naming_one_new_organization_at_once_share_it(
    db: Database, other_db: Database, third_db: Database, world: World
) -> None:
    meeting = await new_meeting(db, world)
    await lifecycle.start(db, meeting, world.staff)
    name = "מתנ״ס השכונה"
    made: list[int] = []

    async def make_it_unseen(session: Any) -> None:
        # A third phone's join in another process, not committed while these two look.
        made.append(await network_insert(session, world, name))

    outcomes = await released_together(
        third_db,
        make_it_unseen,
        joining.join(db, meeting, name="רות כהן", organization=name, client_msg_id="a" * 20),
        joining.join(other_db, meeting, name="נועה לוי", organization=name, client_msg_id="b" * 20),
    )
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert await _organizations_named(db, world, name) == made
    async with db.read() as session:
        joined = list(
            await session.scalars(
                text("SELECT organization_id FROM people WHERE name IN ('רות כהן', 'נועה לוי')")
            )
        )
    assert joined == made * 2


async def network_insert(session: Any, world: World, name: str) -> int:
    org = Organization(network_id=world.network, name=name, sector="other")
    session.add(org)
    await session.flush()
    return org.id


async def _organizations_named(db: Database, world: World, name: str) -> list[int]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(Organization.id).where(
                    Organization.network_id == world.network, Organization.name == name
                )
            )
        )
