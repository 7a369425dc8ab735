"""A returning phone is recognised in one read, and only when everything about it holds: a live
token, a person of this meeting's network, who joined this very meeting."""

from __future__ import annotations

from sqlalchemy import update

from facilitator.db import Database
from facilitator.db.models import Attendance, ParticipantToken
from facilitator.flow import Stage
from facilitator.services import access, joining, lifecycle, network, opener, state
from facilitator.services.actors import Actor
from tests.support.meetings import new_meeting
from tests.support.world import World


async def test_a_phone_is_known_only_where_it_joined(db: Database, world: World) -> None:
    here, elsewhere = (
        await new_meeting(db, world),
        await new_meeting(db, world, group=world.other_group),
    )
    joined, stranger = world.people[0], world.people[1]
    await joining.join(db, here, person_id=joined)
    await joining.join(db, elsewhere, person_id=stranger)
    token = await access.issue_participant_token(db, joined)
    strangers_token = await access.issue_participant_token(db, stranger)
    await lifecycle.start(db, here, world.staff)
    await lifecycle.move(db, here, world.staff, Stage.OPENER)
    blockers = [b["id"] for b in (await state.snapshot(db, here))["blockers"]]
    await opener.respond(db, here, Actor.participant(joined), [blockers[3], blockers[1]])

    network_id, person_id, me = await state.phone_arrival(db, here, token) or (0, 0, {})
    assert (network_id, person_id) == (world.network, joined)
    assert me == await state.me(db, here, joined)
    assert me["person"]["id"] == joined
    assert me["opener"] == sorted([blockers[3], blockers[1]])

    assert await state.phone_arrival(db, here, strangers_token) is None  # joined elsewhere
    assert await state.phone_arrival(db, elsewhere, token) is None
    assert await state.phone_arrival(db, 999_999, token) is None
    for junk in (None, "", "x" * 201, 12, ["token"], token + "x"):
        assert await state.phone_arrival(db, here, junk) is None

    # A person of another network, somehow joined to this meeting, is still nobody here.
    other_net = await network.create_network(db, "Other network")
    outsider = await network.add_person(db, other_net, "Outsider", None)
    outsiders_token = await access.issue_participant_token(db, outsider)
    async with db.write() as session:  # past every service's checks, straight into the table
        session.add(Attendance(meeting_id=here, person_id=outsider, joined_at=db.now()))
    assert await state.phone_arrival(db, here, outsiders_token) is None

    async with db.write() as session:
        await session.execute(update(ParticipantToken).values(revoked_at=db.now()))
    assert await state.phone_arrival(db, here, token) is None
