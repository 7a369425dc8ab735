"""The facts a commitment's reviews decide, stored on its row (slips, done on time), always
equal what its reviews say: after reports, changed reports, withdrawals, a cancelled meeting
and a merge of people, and after migration 0008 fills them for rows written before it."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from alembic import command
from sqlalchemy import Connection, select

from facilitator import migrate
from facilitator.db import Database
from facilitator.db.models import Commitment
from facilitator.services import backbone_queries as queries
from facilitator.services import commitments, lifecycle, people_merge
from facilitator.services.backbone import Reach
from tests.support.backbone_history import add, build_history, meeting_on, to_commitments
from tests.support.world import Clock, World

D4, D5 = date(2026, 4, 13), date(2026, 4, 27)


async def stored_and_worked_out(db: Database, world: World) -> dict[int, tuple[Any, ...]]:
    """Per commitment of the network: (slips, done on time) stored, then worked out."""

    def read(connection: Connection) -> dict[int, tuple[Any, ...]]:
        zone = queries.timezone_of(connection, world.network)
        found = connection.execute(
            select(
                Commitment.id,
                Commitment.slips,
                Commitment.done_on_time,
                queries.slips(),
                queries.done_on_time(zone),
            ).where(queries.in_reach(Reach(world.network), Commitment.group_id))
        )
        return {r[0]: (r[1], bool(r[2]), r[3], bool(r[4])) for r in found}

    return await db.read_sync(read)


def stored(facts: dict[int, tuple[Any, ...]]) -> dict[int, tuple[int, bool]]:
    for cid, (slips, on_time, worked_slips, worked_on_time) in facts.items():
        assert (slips, on_time) == (worked_slips, worked_on_time), cid
    return {cid: (f[0], f[1]) for cid, f in facts.items()}


async def test_stored_facts_follow_every_report(db: Database, world: World, clock: Clock) -> None:
    ids = await build_history(db, world, clock)
    facts = stored(await stored_and_worked_out(db, world))
    assert facts[ids["A"]] == (0, True)  # done at the first meeting after its due date
    assert facts[ids["C"]] == (0, True)  # done on its due day
    assert facts[ids["G"]] == (0, False)  # a meeting past due heard it was not done
    assert facts[ids["B"]] == (2, False)
    assert facts[ids["D"]] == (0, False)  # dropped

    p = world.people
    m4 = await meeting_on(db, world, clock, D4, [p[1]])
    # Changed reports in the same meeting: the last one decides.
    await commitments.review(db, m4, world.staff, ids["B"], "done")
    await commitments.review(db, m4, world.staff, ids["B"], "on_track")
    await commitments.review(db, m4, world.staff, ids["F"], "slipped", new_due="2026-04-20")
    assert stored(await stored_and_worked_out(db, world))[ids["F"]] == (1, False)
    await commitments.review(db, m4, world.staff, ids["F"], "done")
    await commitments.review(db, m4, world.staff, ids["E"], "done")
    await commitments.review(db, m4, world.staff, ids["E"], "dropped", reason="merged")
    await to_commitments(db, world, m4)
    kept = await add(db, world, m4, "H", p[1], "2026-04-20")
    gone = await add(db, world, m4, "I", p[2], "2026-04-20")
    await commitments.withdraw(db, m4, world.staff, gone)
    await lifecycle.close(db, m4, world.staff)
    facts = stored(await stored_and_worked_out(db, world))
    assert facts[ids["B"]] == (2, False)
    assert facts[ids["F"]] == (0, True)  # the slip was taken back; done at the first meeting
    assert facts[ids["E"]] == (0, False)
    assert facts[gone] == (0, False)

    # A meeting that reopened B and H is called off: its unheard reopenings go.
    m5 = await meeting_on(db, world, clock, D5, [])
    await lifecycle.cancel(db, m5, world.staff)
    # The owner of H is merged into another person: the facts stay the commitment's.
    await people_merge.merge(db, world.network, None, p[3], p[1])
    facts = stored(await stored_and_worked_out(db, world))
    assert facts[kept] == (0, False)
    assert facts[ids["B"]] == (2, False)


async def test_migration_0008_fills_the_facts_of_earlier_rows(
    db: Database, db_url: str, world: World, clock: Clock
) -> None:
    await build_history(db, world, clock)
    before = stored(await stored_and_worked_out(db, world))
    assert set(before.values()) >= {(2, False), (0, True), (0, False)}
    config = migrate.alembic_config(db_url)
    # Alembic runs its own event loop: on a thread of its own, away from the test's.
    await asyncio.to_thread(command.downgrade, config, "0007")
    await asyncio.to_thread(command.upgrade, config, "head")
    again = Database(db_url)
    try:
        assert stored(await stored_and_worked_out(again, world)) == before
    finally:
        await again.dispose()
