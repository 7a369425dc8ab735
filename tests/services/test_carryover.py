"""Commitments carried from meeting to meeting: reopened, reviewed, slipped, with history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from facilitator.db import Database
from facilitator.errors import Forbidden, GateRefused, NotFound
from facilitator.flow import Stage
from facilitator.services import commitments, joining, lifecycle, state
from facilitator.services.actors import Actor
from tests.support.meetings import add, new_meeting, run_to_commitments, walk
from tests.support.world import TODAY, Clock, World


async def test_carry_over_across_three_meetings(db: Database, world: World, clock: Clock) -> None:
    p = world.people
    # Meeting 1: four commitments in the group, one in another group, one proposal turned down.
    m1 = await new_meeting(db, world)
    await run_to_commitments(db, world, m1, p[:4])
    a = await add(db, world, m1, "A: data to all partners", p[0], TODAY + timedelta(days=7))
    b = await add(db, world, m1, "B: map mentoring", p[1], TODAY + timedelta(days=14))
    c = await add(db, world, m1, "C: meet the youth council", p[2], TODAY + timedelta(days=10))
    d = await add(db, world, m1, "D: recruit volunteers", p[3], TODAY + timedelta(days=20))
    turned_down = await commitments.propose(db, m1, Actor.participant(p[1]), "E: maybe", TODAY)
    await commitments.confirm(
        db, m1, world.staff, turned_down.event.payload["commitment"]["id"], accept=False
    )
    await lifecycle.close(db, m1, world.staff)

    other = await new_meeting(db, world, group=world.other_group)
    await run_to_commitments(db, world, other, p[:2])
    elsewhere = await add(db, world, other, "Other group's", p[0], TODAY + timedelta(days=5))
    await lifecycle.close(db, other, world.staff)

    # Meeting 2, three weeks later: exactly the group's four open commitments come back.
    day2 = TODAY + timedelta(days=21)
    clock.set_day(day2)
    m2 = await new_meeting(db, world, day=day2)
    started = await lifecycle.start(db, m2, world.staff)
    reopened = started.event.payload["reopened"]
    assert {r["id"] for r in reopened} == {a, b, c, d}
    assert elsewhere not in {r["id"] for r in reopened}
    for pid in p[:4]:
        await joining.join(db, m2, person_id=pid)

    # Owners report from their phones; nobody can report on someone else's.
    with pytest.raises(Forbidden):
        await commitments.review(db, m2, Actor.participant(p[1]), a, "done")
    await commitments.review(db, m2, Actor.participant(p[0]), a, "done")
    await commitments.review(db, m2, Actor.participant(p[1]), b, "on_track")
    await commitments.review(
        db, m2, Actor.participant(p[2]), c, "slipped", new_due=day2 + timedelta(days=14)
    )
    await walk(db, m2, world.staff, Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS)
    await add(db, world, m2, "F: new in meeting 2", p[0], day2 + timedelta(days=30))
    with pytest.raises(GateRefused) as refused:
        await lifecycle.close(db, m2, world.staff)
    assert [(r.key, r.params) for r in refused.value.reasons] == [("gate.unreviewed", {"count": 1})]
    await commitments.review(db, m2, world.staff, d, "dropped", reason="The company withdrew")
    await lifecycle.close(db, m2, world.staff)

    # Meeting 3: done and dropped stay closed; slipped comes back with its new date.
    day3 = day2 + timedelta(days=21)
    clock.set_day(day3)
    m3 = await new_meeting(db, world, day=day3)
    started = await lifecycle.start(db, m3, world.staff)
    back = {r["id"]: r for r in started.event.payload["reopened"]}
    assert set(back) == {b, c, back_f := next(i for i in back if back[i]["text"].startswith("F"))}
    assert back[c]["due"] == (day2 + timedelta(days=14)).isoformat()
    assert back[c]["times_slipped"] == 1
    assert back_f not in {a, b, c, d}
    await joining.join(db, m3, person_id=p[2])
    await commitments.review(
        db, m3, Actor.participant(p[2]), c, "slipped", new_due=day3 + timedelta(days=7)
    )

    journey = await commitments.history(db, c)
    assert journey["commitment"]["times_slipped"] == 2
    assert journey["commitment"]["origin_meeting_id"] == m1
    assert [
        (r["meeting_id"], r["outcome"], r["old_due"], r["new_due"]) for r in journey["reviews"]
    ] == [
        (
            m2,
            "slipped",
            (TODAY + timedelta(days=10)).isoformat(),
            (day2 + timedelta(days=14)).isoformat(),
        ),
        (
            m3,
            "slipped",
            (day2 + timedelta(days=14)).isoformat(),
            (day3 + timedelta(days=7)).isoformat(),
        ),
    ]
    assert all(r["reviewer_person_id"] == p[2] for r in journey["reviews"])
    snap = await state.snapshot(db, m3)
    assert {r["id"]: r["review"]["outcome"] for r in snap["reopened"]} == {
        b: None,
        c: "slipped",
        back_f: None,
    }
    assert [g["key"] for g in snap["gates"]] == ["gate.unreviewed", "gate.no_commitment"]


async def test_a_changed_report_replaces_the_first(
    db: Database, world: World, clock: Clock
) -> None:
    m1 = await new_meeting(db, world)
    await run_to_commitments(db, world, m1, world.people[:1])
    due = TODAY + timedelta(days=7)
    cid = await add(db, world, m1, "X", world.people[0], due)
    await lifecycle.close(db, m1, world.staff)
    clock.set_day(TODAY + timedelta(days=14))
    m2 = await new_meeting(db, world, day=TODAY + timedelta(days=14))
    await lifecycle.start(db, m2, world.staff)
    await commitments.review(
        db, m2, world.staff, cid, "slipped", new_due=TODAY + timedelta(days=30)
    )
    await commitments.review(db, m2, world.staff, cid, "done")
    journey = await commitments.history(db, cid)
    assert journey["commitment"]["status"] == "done"
    assert journey["commitment"]["due"] == due.isoformat()
    assert journey["commitment"]["times_slipped"] == 0
    assert [r["outcome"] for r in journey["reviews"]] == ["done"]


async def test_only_reopened_commitments_can_be_reviewed(db: Database, world: World) -> None:
    m1 = await new_meeting(db, world)
    await run_to_commitments(db, world, m1, world.people[:1])
    cid = await add(db, world, m1, "made here", world.people[0], TODAY)
    with pytest.raises(NotFound) as refused:
        await commitments.review(db, m1, world.staff, cid, "done")
    assert refused.value.key == "review.not_reopened_here"


async def test_starting_twice_does_not_reopen_twice(
    db: Database, world: World, clock: Clock
) -> None:
    m1 = await new_meeting(db, world)
    await run_to_commitments(db, world, m1, world.people[:1])
    await add(db, world, m1, "carried", world.people[0], TODAY + timedelta(days=3))
    await lifecycle.close(db, m1, world.staff)
    m2 = await new_meeting(db, world)
    first = await lifecycle.start(db, m2, world.staff)
    await walk(db, m2, world.staff, Stage.LOBBY)
    again = await lifecycle.start(db, m2, world.staff)
    assert len(first.event.payload["reopened"]) == 1
    assert again.event.payload["reopened"] == []
    assert len((await state.snapshot(db, m2))["reopened"]) == 1
