"""Rules across meetings and senders: one live meeting per group, calling off, the real meeting
day, and message ids that belong to one request of one sender."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import CommitmentReview, Meeting
from facilitator.errors import Forbidden, Invalid, NotFound, Refused
from facilitator.flow import Stage
from facilitator.services import (
    blockers,
    commitments,
    joining,
    lifecycle,
    network,
    opener,
    state,
    users,
)
from facilitator.services.actors import Actor
from tests.support.meetings import add, new_meeting, run_to_commitments, walk
from tests.support.world import TODAY, Clock, World


async def test_one_meeting_of_a_group_under_way_at_a_time(db: Database, world: World) -> None:
    m1 = await new_meeting(db, world)
    await run_to_commitments(db, world, m1, world.people[:1])
    carried = await add(db, world, m1, "carried", world.people[0], TODAY + timedelta(days=3))
    await lifecycle.close(db, m1, world.staff)

    m2, m3 = await new_meeting(db, world), await new_meeting(db, world)
    other_group = await new_meeting(db, world, group=world.other_group)
    await lifecycle.start(db, m2, world.staff)
    with pytest.raises(Refused) as refused:
        await lifecycle.start(db, m3, world.staff)
    assert refused.value.key == "flow.group_busy"
    with pytest.raises(Refused):
        await lifecycle.move(db, m3, world.staff, Stage.REVIEW)
    await lifecycle.start(db, other_group, world.staff)  # another group is no obstacle

    # Going back to the lobby does not free the group: the meeting has started.
    await walk(db, m2, world.staff, Stage.LOBBY)
    with pytest.raises(Refused):
        await lifecycle.start(db, m3, world.staff)

    # Calling m2 off (nothing committed in it) frees the group; its unreported review goes away
    # and the commitment waits for the next meeting.
    await lifecycle.cancel(db, m2, world.staff)
    async with db.read() as session:
        pending = await session.scalar(
            select(func.count()).where(CommitmentReview.meeting_id == m2)
        )
        cancelled = await session.get_one(Meeting, m2)
    assert pending == 0
    assert cancelled.stage == "closed"
    assert cancelled.cancelled_at is not None
    assert cancelled.join_code is None
    started = await lifecycle.start(db, m3, world.staff)
    assert [c["id"] for c in started.event.payload["reopened"]] == [carried]


async def test_a_meeting_with_commitments_closes_rather_than_being_called_off(
    db: Database, world: World
) -> None:
    m1 = await new_meeting(db, world)
    await run_to_commitments(db, world, m1, world.people[:1])
    await add(db, world, m1, "made", world.people[0], TODAY)
    with pytest.raises(Refused) as refused:
        await lifecycle.cancel(db, m1, world.staff)
    assert refused.value.key == "cancel.has_commitments"
    with pytest.raises(Forbidden):
        await lifecycle.cancel(db, m1, Actor.participant(world.people[0]))


async def test_start_is_only_from_the_lobby(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    await lifecycle.start(db, mid, world.staff)
    await walk(db, mid, world.staff, Stage.OPENER, Stage.AGENDA)
    with pytest.raises(Refused) as refused:
        await lifecycle.start(db, mid, world.staff)
    assert refused.value.key == "flow.already_started"
    assert (await state.snapshot(db, mid))["meeting"]["stage"] == "agenda"


async def test_due_dates_are_judged_against_the_day_the_meeting_runs(
    db: Database, world: World, clock: Clock
) -> None:
    # Planned for next week, run today: due today is fine.
    early = await new_meeting(db, world, day=TODAY + timedelta(days=7))
    await run_to_commitments(db, world, early, world.people[:1])
    await add(db, world, early, "due the day it ran", world.people[0], TODAY)
    await lifecycle.close(db, early, world.staff)
    # Planned for today, run three days late: due tomorrow is already past.
    late = await new_meeting(db, world)
    clock.set_day(TODAY + timedelta(days=3))
    await run_to_commitments(db, world, late, world.people[:1])
    with pytest.raises(Invalid) as refused:
        await add(db, world, late, "past", world.people[0], TODAY + timedelta(days=1))
    assert refused.value.key == "commitment.due_before_meeting"


async def test_a_message_id_answers_only_its_own_request(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    await joining.join(db, mid, name="Alice", organization="Org", client_msg_id="j-1")
    with pytest.raises(Forbidden) as taken:
        await joining.join(db, mid, name="Mallory", organization="Evil", client_msg_id="j-1")
    assert taken.value.key == "input.msg_id_reused"
    again = await joining.join(db, mid, name="alice", organization="org", client_msg_id="j-1")
    assert again.replayed

    # The same id for another command is no replay of the first.
    await lifecycle.start(db, mid, world.staff, client_msg_id="s-1")
    with pytest.raises(Forbidden):
        await lifecycle.move(db, mid, world.staff, Stage.OPENER, client_msg_id="s-1")

    # Creating a meeting: another user's id is not theirs to replay.
    await lifecycle.create_meeting(db, world.staff, world.group, "mine", TODAY, client_msg_id="n-1")
    with pytest.raises(Forbidden) as reused:
        await lifecycle.create_meeting(
            db, world.backbone, world.group, "theirs", TODAY, client_msg_id="n-1"
        )
    assert reused.value.key == "input.msg_id_reused"
    # Nor is one's own id for a meeting of another group: the group asked for now is the one
    # checked, and the stored meeting (its join code included) is not handed back for it.
    with pytest.raises(Forbidden) as elsewhere:
        await lifecycle.create_meeting(
            db, world.staff, world.other_group, "mine", TODAY, client_msg_id="n-1"
        )
    assert elsewhere.value.key == "input.msg_id_reused"


async def test_people_and_staff_of_another_network_are_strangers(
    db: Database, world: World
) -> None:
    other = await network.create_network(db, "Another network", language="en", timezone="UTC")
    outsider = await network.add_person(db, other, "Outsider")
    other_staff = await users.create_user(
        db, other, "other@example.org", "a long password", name="Other"
    )
    mid = await new_meeting(db, world)
    with pytest.raises(Forbidden) as refused:
        await joining.join(db, mid, person_id=outsider)
    assert refused.value.key == "participant.unknown"
    with pytest.raises(Forbidden) as refused:
        await lifecycle.start(db, mid, Actor.staff(other_staff))
    assert refused.value.key == "staff.not_in_network"
    with pytest.raises(Forbidden):
        await lifecycle.create_meeting(db, Actor.staff(other_staff), world.group, "x", TODAY)
    await lifecycle.start(db, mid, world.staff)
    await walk(db, mid, world.staff, Stage.OPENER, Stage.AGENDA)
    with pytest.raises(Invalid) as owner:
        await commitments.add(db, mid, world.staff, "x", outsider, TODAY)
    assert owner.value.key == "commitment.owner_unknown"


async def test_a_network_needs_a_real_time_zone(db: Database) -> None:
    with pytest.raises(Invalid) as refused:
        await network.create_network(db, "x", timezone="Mars/Olympus")
    assert refused.value.key == "network.bad_timezone"


async def test_the_blocker_list_is_the_network_s_own(db: Database, world: World) -> None:
    snap = await state.snapshot(db, await new_meeting(db, world))
    first, *_ = snap["blockers"]
    added = await blockers.add_blocker(db, world.network, "אין זמן", "No time")
    await blockers.update_blocker(
        db, world.network, first["id"], "יעדים עמומים", "Vague goals", active=False
    )
    mid = await new_meeting(db, world)
    offered = (await state.snapshot(db, mid))["blockers"]
    assert [b["en"] for b in offered][-1] == "No time"
    assert first["id"] not in [b["id"] for b in offered]
    assert len(offered) == 9
    await joining.join(db, mid, person_id=world.people[0])
    await lifecycle.start(db, mid, world.staff)
    await walk(db, mid, world.staff, Stage.OPENER)
    with pytest.raises(NotFound):
        await opener.respond(db, mid, Actor.participant(world.people[0]), [first["id"]])
    await opener.respond(db, mid, Actor.participant(world.people[0]), [added])
