"""Which of the meetings a staff user watches are out of their reach as they are now: what every
process asks when it hears a user's reach changed (issue 15), before closing their sockets."""

from __future__ import annotations

from facilitator.db import Database
from facilitator.flow import Role
from facilitator.services import group_changes, lifecycle, network, users
from facilitator.services import staff as staff_service
from facilitator.services.actors import Actor
from facilitator.services.scope import Scope, out_of_reach
from tests.support.meetings import new_meeting
from tests.support.world import TODAY, World


async def test_a_group_taken_away_puts_its_meetings_out_of_reach(
    db: Database, world: World
) -> None:
    fac, bb = world.staff.user_id, world.backbone.user_id
    assert fac is not None
    assert bb is not None
    lost = await new_meeting(db, world)
    kept = await new_meeting(db, world, group=world.other_group)
    assert await out_of_reach(db, fac, {lost, kept}) == set()
    backbone = Scope(world.network, Role.BACKBONE, None)
    await group_changes.unassign_facilitator(db, backbone, bb, world.group, fac)
    assert await out_of_reach(db, fac, {lost, kept}) == {lost}
    # The backbone reaches every group of its network; a meeting gone is out of anyone's.
    assert await out_of_reach(db, bb, {lost, kept, 10**9}) == {10**9}
    assert await out_of_reach(db, fac, []) == set()


async def test_another_networks_meeting_is_out_of_reach_even_for_its_backbone(
    db: Database, world: World
) -> None:
    bb = world.backbone.user_id
    assert bb is not None
    elsewhere = await network.create_network(db, "רשת אחרת")
    theirs = await network.add_group(db, elsewhere, "קבוצה שם", "forum")
    their_backbone = await users.create_user(
        db, elsewhere, "there@example.org", "a long password", name="שם", role="backbone"
    )
    made = await lifecycle.create_meeting(
        db, Actor.staff(their_backbone, "backbone"), theirs, "שם", TODAY, []
    )
    meeting = made.event.meeting_id
    assert await out_of_reach(db, bb, {meeting}) == {meeting}


async def test_a_deactivated_or_unknown_user_reaches_nothing(db: Database, world: World) -> None:
    fac, bb = world.staff.user_id, world.backbone.user_id
    assert fac is not None
    assert bb is not None
    meetings = {await new_meeting(db, world), await new_meeting(db, world, group=world.other_group)}
    await staff_service.set_active(db, world.network, bb, fac, active=False)
    assert await out_of_reach(db, fac, meetings) == meetings
    assert await out_of_reach(db, 10**9, meetings) == meetings
