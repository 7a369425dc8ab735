"""The attendance report's edges the small shared history does not reach: more meetings than
are shown, someone with no organization, an organization with no sector, a meeting nobody
came to, guests, and a facilitator's narrower reach."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from facilitator.db import Database
from facilitator.db.models import Attendance, GroupMember, Meeting
from facilitator.flow import Role
from facilitator.services import backbone, network, users
from facilitator.services.backbone_meetings import SHOWN
from tests.support.world import World

FIRST = date(2026, 1, 5)


async def held(db: Database, group: int, came: list[list[int]]) -> None:
    """A closed meeting a week for each list of who came, then one cancelled after it started
    and one never started: neither of those counts."""
    first = datetime(FIRST.year, FIRST.month, FIRST.day, 15, tzinfo=UTC)
    meetings = [(people, "closed", True, False) for people in came]
    meetings += [([], "closed", True, True), ([], "lobby", False, False)]
    async with db.write() as session:
        for n, (people, stage, started, cancelled) in enumerate(meetings):
            at = first + timedelta(weeks=n)
            meeting = {
                "group_id": group, "title": f"מפגש {n}", "scheduled_on": at.date(),
                "stage": stage, "created_at": at, "started_at": at if started else None,
                "closed_at": at if stage == "closed" else None,
                "cancelled_at": at if cancelled else None,
            }  # fmt: skip
            mid = (
                await session.execute(insert(Meeting).returning(Meeting.id), meeting)
            ).scalar_one()
            for pid in people:
                await session.execute(
                    insert(Attendance), {"meeting_id": mid, "person_id": pid, "joined_at": at}
                )


async def test_attendance_over_more_meetings_than_shown(db: Database, world: World) -> None:
    p, community = world.people, world.orgs[2]
    unsorted = await network.add_organization(db, world.network, "ארגון בלי מגזר")
    loner = await network.add_person(db, world.network, "בלי ארגון")
    q1 = await network.add_person(db, world.network, "אורחת", unsorted)
    async with db.write() as session:
        for pid in (p[0], p[1], loner):
            await session.execute(
                insert(GroupMember),
                {"group_id": world.group, "person_id": pid, "added_at": datetime.now(UTC)},
            )
    # Meetings 0 and 1 are older than the latest SHOWN: p5 came only to those, so is not
    # among who stopped coming (p2 is, and takes the community organization with them).
    came = [[p[0], p[5]], [p[0], p[5]]]
    came += [[p[0], p[1]], [p[0], p[1], q1], [p[0], p[1], p[2]], [p[0], p[1], loner], [p[0], p[1]]]
    came += [[]]  # nobody came
    came += [[p[0], p[1]]] * 4 + [[p[0], q1, p[3]], [p[0], p[4]]]
    assert len(came) == SHOWN + 2
    await held(db, world.group, came)
    await held(db, world.other_group, [[p[3]]])

    report = await backbone.attendance(db, backbone.reach_of(world.network, 0, Role.BACKBONE))
    group = next(g for g in report["groups"] if g["id"] == world.group)
    assert [m["title"] for m in group["meetings"]] == [f"מפגש {n}" for n in range(2, SHOWN + 2)]
    # (attended, organizations, sectors, came of the roster p0 p1 loner, guests)
    gov, npo, com = "government", "nonprofit", "community"
    assert [
        (m["attended"], m["organizations"], m["sectors"], m["came"], m["guests"])
        for m in group["meetings"]
    ] == [
        (2, 2, [gov, npo], 2, 0),
        (3, 3, [gov, npo], 2, 1),  # q1's organization has no sector
        (3, 3, [com, gov, npo], 2, 1),
        (3, 2, [gov, npo], 3, 0),  # the loner has no organization
        (2, 2, [gov, npo], 2, 0),
        (0, 0, [], 0, 0),
        *[(2, 2, [gov, npo], 2, 0)] * 4,
        (3, 2, [gov], 1, 2),
        (2, 2, [gov, npo], 1, 1),  # p4 keeps the nonprofit at the table
    ]
    assert {m["expected"] for m in group["meetings"]} == {3}
    assert (group["held"], group["sectors"]) == (SHOWN + 2, [com, gov, npo])
    assert [x["id"] for x in group["stopped_coming"]] == sorted([p[1], p[2], loner])
    assert [x["name"] for x in group["stopped_coming"]][-1] == "בלי ארגון"
    assert group["organizations_stopped"] == [{"id": community, "name": "ועד שכונה"}]
    assert (group["community_present"], group["community_rate"]) == (1, round(1 / SHOWN, 3))
    assert (group["expected"], group["came"], group["guests"]) == (3, 21, 5)
    assert group["rate"] == round(21 / (3 * SHOWN), 3)

    # A group's only meeting is among its last two: nobody has stopped coming.
    other = next(g for g in report["groups"] if g["id"] == world.other_group)
    assert (other["held"], other["stopped_coming"], other["organizations_stopped"]) == (1, [], [])
    assert (other["expected"], other["came"], other["guests"], other["rate"]) == (0, 0, 1, None)

    # A facilitator of the other group alone sees that group as the backbone does.
    uid = await users.create_user(
        db, world.network, "other@example.org", "a long password", name="מנחה", role="facilitator"
    )
    await network.assign_staff(db, world.other_group, uid)
    mine = await backbone.attendance(db, backbone.reach_of(world.network, uid, Role.FACILITATOR))
    assert mine["groups"] == [other]
