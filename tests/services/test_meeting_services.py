"""Services on a real migrated SQLite file: a whole meeting, its gates, its events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import Attendance, Commitment, Meeting, Person
from facilitator.errors import GateRefused, NotFound
from facilitator.flow import Stage
from facilitator.services import agenda, commitments, joining, lifecycle, opener, state
from facilitator.services.actors import Actor
from tests.support.meetings import new_meeting, seqs, walk
from tests.support.world import TODAY, World


async def test_a_whole_meeting(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    snap = await state.snapshot(db, mid)
    code = snap["meeting"]["join_code"]
    assert snap["meeting"]["stage"] == "lobby"
    assert [(v["he"]["title"], v["en"]) for v in snap["values"]] == [("שקיפות", None)]
    assert len(snap["blockers"]) == 9
    assert snap["blockers"][0]["en"] == "Unclear goals"
    assert await joining.find_open_meeting(db, code.lower()) == mid

    # Phones join: two known people, one new person with a new organization.
    p0, p1 = world.people[:2]
    await joining.join(db, mid, person_id=p0)
    await joining.join(db, mid, person_id=p1)
    new = await joining.join(
        db, mid, name="Dana  Levi ", organization="Parents' forum", sector="community"
    )
    newcomer = new.event.payload["person"]
    assert newcomer["name"] == "Dana Levi"
    assert newcomer["sector"] == "community"
    assert new.event.payload["attendance"] == 3

    start = await lifecycle.start(db, mid, world.staff)
    assert start.event.payload == {"stage": "review", "previous": "lobby", "reopened": []}
    await walk(db, mid, world.staff, Stage.OPENER)
    blockers = [b["id"] for b in snap["blockers"]]
    await opener.respond(db, mid, Actor.participant(p0), [blockers[0], blockers[4]])
    await opener.respond(db, mid, Actor.participant(p1), [blockers[4]])
    changed = await opener.respond(db, mid, Actor.participant(p1), [blockers[4], blockers[5]])
    assert changed.event.payload == {
        "tally": {str(blockers[0]): 1, str(blockers[4]): 2, str(blockers[5]): 1},
        "respondents": 2,
    }
    assert "person" not in str(changed.event.payload)  # anonymous: the tally names no one
    await opener.record_action(db, mid, world.staff, blockers[4], "כל סעיף נגמר בהחלטה")

    await walk(db, mid, world.staff, Stage.AGENDA)
    item = snap["agenda"][1]["id"]
    await agenda.record_decision(db, mid, world.staff, item, "בוחרים בחלופה ב׳")

    await walk(db, mid, world.staff, Stage.COMMITMENTS)
    with pytest.raises(GateRefused) as refused:
        await lifecycle.close(db, mid, world.staff)
    assert [r.key for r in refused.value.reasons] == ["gate.no_commitment"]

    proposed = await commitments.propose(
        db, mid, Actor.participant(p0), "להפיץ את הנתונים", TODAY + timedelta(days=7)
    )
    cid = proposed.event.payload["commitment"]["id"]
    assert proposed.event.payload["commitment"]["status"] == "proposed"
    await commitments.add(db, mid, world.staff, "לזמן את ההורים", newcomer["id"], TODAY)
    with pytest.raises(GateRefused) as refused:
        await lifecycle.close(db, mid, world.staff)
    assert [r.key for r in refused.value.reasons] == ["gate.pending_proposals"]
    await commitments.confirm(db, mid, world.staff, cid)

    closed = await lifecycle.close(db, mid, world.staff)
    assert closed.event.payload == {
        "stage": "closed",
        "previous": "commitments",
        "commitments": 2,
        "attendance": 3,
    }
    final = await state.snapshot(db, mid)
    assert final["meeting"]["stage"] == "closed"
    assert final["meeting"]["join_code"] is None
    assert final["opener_actions"] == {str(blockers[4]): "כל סעיף נגמר בהחלטה"}
    assert final["tally"]
    assert final["respondents"] == 2
    # A phone draws neither the tally nor the notes: its snapshot leaves them out.
    assert not {"tally", "respondents", "opener_actions"} & set(state.for_phones(final))
    assert final["agenda"][1]["decision"] == "בוחרים בחלופה ב׳"
    assert [c["status"] for c in final["commitments"]] == ["open", "open"]
    assert final["gates"] == []
    # Every change is in the log, numbered without gaps.
    numbers = await seqs(db, mid)
    assert numbers == list(range(1, len(numbers) + 1))
    assert numbers[-1] == final["meeting"]["last_seq"]
    # The code stops working, and closed is final.
    with pytest.raises(NotFound):
        await joining.find_open_meeting(db, code)
    with pytest.raises(Exception) as late:
        await lifecycle.move(db, mid, world.staff, Stage.AGENDA)
    assert getattr(late.value, "key", None) == "flow.meeting_closed"


async def test_close_lists_every_unmet_gate_and_changes_nothing(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    await walk(db, mid, world.staff, Stage.REVIEW, Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS)
    before = await seqs(db, mid)
    with pytest.raises(GateRefused):
        await lifecycle.close(db, mid, world.staff)
    assert await seqs(db, mid) == before
    snap = await state.snapshot(db, mid)
    assert snap["meeting"]["stage"] == "commitments"
    assert snap["gates"] == [{"key": "gate.no_commitment", "params": {}}]


async def test_going_back_and_forward_again(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    await walk(
        db, mid, world.staff, Stage.REVIEW, Stage.OPENER, Stage.AGENDA, Stage.OPENER, Stage.AGENDA
    )
    await walk(db, mid, world.staff, Stage.LOBBY, Stage.REVIEW)
    assert (await state.snapshot(db, mid))["meeting"]["stage"] == "review"


async def test_join_codes_are_short_unambiguous_and_distinct(db: Database, world: World) -> None:
    codes = set()
    for _ in range(30):
        mid = await new_meeting(db, world)
        code = (await state.snapshot(db, mid))["meeting"]["join_code"]
        assert len(code) == 6
        assert not set(code) & set("0O1IL2Z5S8B6G")
        codes.add(code)
    assert len(codes) == 30


async def test_join_records_attendance_once(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    first = await joining.join(db, mid, person_id=world.people[0])
    again = await joining.join(db, mid, person_id=world.people[0])
    assert again.replayed
    assert again.event == first.event
    # A new phone of a known person is matched by name and organization, not duplicated.
    named = await joining.join(db, mid, name="Dana Levi", organization="Parents")
    renamed = await joining.join(db, mid, name="dana levi", organization="PARENTS")
    assert renamed.event.payload["person"]["id"] == named.event.payload["person"]["id"]
    assert renamed.replayed
    async with db.read() as session:
        attended = await session.scalar(select(func.count()).where(Attendance.meeting_id == mid))
        people = await session.scalar(select(func.count()).select_from(Person))
    assert attended == 2
    assert people == len(world.people) + 1


async def test_resent_client_message_ids_change_nothing(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    phone = Actor.participant(world.people[0])
    joined = await joining.join(db, mid, name="New Person", organization="Org", client_msg_id="j-1")
    joined_again = await joining.join(
        db, mid, name="New Person", organization="Org", client_msg_id="j-1"
    )
    assert joined_again.replayed
    assert joined_again.event == joined.event
    await joining.join(db, mid, person_id=world.people[0], client_msg_id="j-2")
    first = await lifecycle.start(db, mid, world.staff, client_msg_id="m-1")
    second = await lifecycle.start(db, mid, world.staff, client_msg_id="m-1")
    assert second.replayed
    assert second.event == first.event
    await walk(db, mid, world.staff, Stage.OPENER, Stage.AGENDA)
    a = await commitments.propose(db, mid, phone, "משהו", TODAY, client_msg_id="c-1")
    b = await commitments.propose(db, mid, phone, "משהו", TODAY, client_msg_id="c-1")
    assert b.replayed
    assert a.event == b.event
    async with db.read() as session:
        made = await session.scalar(select(func.count()).select_from(Commitment))
        people = await session.scalar(select(func.count()).select_from(Person))
    assert made == 1
    assert people == len(world.people) + 1
    assert await seqs(db, mid) == [1, 2, 3, 4, 5, 6, 7]
    # The same id from someone else is refused, not replayed to them.
    with pytest.raises(Exception) as reused:
        await commitments.propose(
            db, mid, Actor.participant(world.people[1]), "x", TODAY, client_msg_id="c-1"
        )
    assert getattr(reused.value, "key", None) == "input.msg_id_reused"
    # Creating a meeting is idempotent too.
    m1 = await lifecycle.create_meeting(
        db, world.staff, world.group, "ישיבה", TODAY, client_msg_id="new-1"
    )
    m2 = await lifecycle.create_meeting(
        db, world.staff, world.group, "ישיבה", TODAY, client_msg_id="new-1"
    )
    assert m2.replayed
    assert m2.event == m1.event
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 2
