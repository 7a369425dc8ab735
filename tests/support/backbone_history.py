"""A small backbone history built by hand through the services (three meetings of one group,
commitments done on time, late, slipped twice, dropped), shared by the backbone's tests."""

from __future__ import annotations

from datetime import date

from facilitator.db import Database
from facilitator.flow import Stage
from facilitator.services import commitments, joining, lifecycle, opener, state
from facilitator.services.actors import Actor
from tests.support.world import Clock, World

D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 16), date(2026, 3, 30)
AS_OF = date(2026, 3, 31)


async def meeting_on(
    db: Database, world: World, clock: Clock, day: date, present: list[int]
) -> int:
    clock.set_day(day)
    mid = (
        await lifecycle.create_meeting(db, world.staff, world.group, f"מפגש {day}", day)
    ).event.meeting_id
    await lifecycle.start(db, mid, world.staff)
    for pid in present:
        await joining.join(db, mid, person_id=pid)
    return mid


async def to_commitments(db: Database, world: World, mid: int) -> None:
    for stage in (Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS):
        await lifecycle.move(db, mid, world.staff, stage)


async def add(db: Database, world: World, mid: int, text: str, owner: int, due: str) -> int:
    result = await commitments.add(db, mid, world.staff, text, owner, due)
    return int(result.event.payload["commitment"]["id"])


async def build_history(db: Database, world: World, clock: Clock) -> dict[str, int]:
    """people p0..p5 belong to org0 (government), org1 (nonprofit), org2 (community) in turn."""
    p = world.people
    ids: dict[str, int] = {}
    m1 = await meeting_on(db, world, clock, D1, [p[0], p[1], p[2]])
    await lifecycle.move(db, m1, world.staff, Stage.OPENER)
    blockers = [b["id"] for b in (await state.snapshot(db, m1))["blockers"]]
    await opener.respond(db, m1, Actor.participant(p[0]), [blockers[0]])
    await opener.respond(db, m1, Actor.participant(p[1]), [blockers[0], blockers[4]])
    for stage in (Stage.AGENDA, Stage.COMMITMENTS):
        await lifecycle.move(db, m1, world.staff, stage)
    ids["A"] = await add(db, world, m1, "A", p[0], "2026-03-09")
    ids["B"] = await add(db, world, m1, "B", p[1], "2026-03-09")
    ids["C"] = await add(db, world, m1, "C", p[2], "2026-03-16")
    ids["D"] = await add(db, world, m1, "D", p[3], "2026-03-12")
    ids["G"] = await add(db, world, m1, "G", p[5], "2026-03-09")
    await lifecycle.close(db, m1, world.staff)

    m2 = await meeting_on(db, world, clock, D2, [p[0], p[1], p[3]])
    await commitments.review(
        db, m2, world.staff, ids["A"], "done"
    )  # at the first meeting after its due date: on time
    await commitments.review(db, m2, world.staff, ids["G"], "on_track")  # past due and not done
    await commitments.review(db, m2, world.staff, ids["B"], "slipped", new_due="2026-03-30")
    await commitments.review(db, m2, world.staff, ids["C"], "done")  # on its due day
    await commitments.review(db, m2, world.staff, ids["D"], "dropped", reason="no budget")
    await lifecycle.move(db, m2, world.staff, Stage.OPENER)
    await opener.respond(db, m2, Actor.participant(p[0]), [blockers[4]])
    for stage in (Stage.AGENDA, Stage.COMMITMENTS):
        await lifecycle.move(db, m2, world.staff, stage)
    ids["E"] = await add(db, world, m2, "E", p[4], "2026-03-20")
    await lifecycle.close(db, m2, world.staff)

    m3 = await meeting_on(db, world, clock, D3, [p[1], p[4]])
    await commitments.review(db, m3, world.staff, ids["B"], "slipped", new_due="2026-04-13")
    await commitments.review(db, m3, world.staff, ids["E"], "on_track")
    await commitments.review(
        db, m3, world.staff, ids["G"], "done"
    )  # a meeting past due heard it was not done: late
    await to_commitments(db, world, m3)
    ids["F"] = await add(db, world, m3, "F", p[1], "2026-04-02")
    await lifecycle.close(db, m3, world.staff)
    ids.update(m1=m1, m2=m2, m3=m3, b0=blockers[0], b4=blockers[4])
    return ids
