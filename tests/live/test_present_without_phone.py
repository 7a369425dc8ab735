"""People without phones and guests, against a real uvicorn process with real WebSocket clients:
the facilitator marks a roster member present (every screen counts them; a phone may not, nor for
a person of another network, nor twice), records their review and their commitment, and puts a
guest on the roster; a phone that later joins as the marked person becomes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import (
    AuditEntry,
    GroupMember,
    GroupStaff,
    Network,
    Person,
    StaffUser,
)
from tests.support.live_server import (
    Server,
    cookie_header,
    join_phone,
    local_today,
    new_meeting,
    open_client,
    staff_client,
)

pytestmark = pytest.mark.slow

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


async def _roster_and_stranger(server: Server) -> int:
    """The seeded group's roster (its first four people) and its facilitator; a person of
    another network, whose id is returned."""
    db = Database(server.db_url)
    try:
        async with db.write() as session:
            group = server.seeded.group
            user = await session.scalar(
                select(StaffUser.id).where(StaffUser.email == server.seeded.staff_email)
            )
            assigned = await session.scalar(
                select(GroupStaff.id).where(
                    GroupStaff.group_id == group, GroupStaff.user_id == user
                )
            )
            if assigned is None:
                session.add(GroupStaff(group_id=group, user_id=user))
            for pid, _name, _org in server.seeded.people[:4]:
                session.add(GroupMember(group_id=group, person_id=pid, added_at=NOW))
            elsewhere = Network(name="רשת אחרת", created_at=NOW)
            session.add(elsewhere)
            await session.flush()
            stranger = Person(network_id=elsewhere.id, name="זר", created_at=NOW)
            session.add(stranger)
            await session.flush()
            return stranger.id
    finally:
        await db.dispose()


async def _roster_rows(server: Server, person_id: int) -> tuple[int, int]:
    db = Database(server.db_url)
    try:
        async with db.read() as session:
            members = await session.scalars(
                select(GroupMember.id).where(
                    GroupMember.group_id == server.seeded.group,
                    GroupMember.person_id == person_id,
                )
            )
            audits = await session.scalars(
                select(AuditEntry.id).where(
                    AuditEntry.action == "group.member_add",
                    AuditEntry.entity_id == server.seeded.group,
                )
            )
            return len(list(members)), len(list(audits))
    finally:
        await db.dispose()


async def test_marked_present_without_a_phone_and_a_guest_put_on_the_roster(
    server: Server,
) -> None:
    stranger = await _roster_and_stranger(server)
    staff = await staff_client(server)
    try:
        await _the_meeting(server, staff, stranger)
    finally:
        await staff.aclose()


async def _the_meeting(server: Server, staff: httpx.AsyncClient, stranger: int) -> None:
    meeting_id, code, view = await new_meeting(server, staff, group=server.seeded.group)
    (absent_id, absent_name, org), (member_id, member_name, _o) = server.seeded.people[:2]
    console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
    await console.expect(lambda m: m["type"] == "welcome")
    wall = await open_client(server, meeting_id, "projector", {"view": view})
    await wall.expect(lambda m: m["type"] == "welcome")

    # A roster member joins by phone; a guest joins with a name the network has not seen.
    member_token, member = await join_phone(server, code, member_name, org, staff)
    assert member["id"] == member_id
    guest_token, guest = await join_phone(server, code, "אורחת חדשה", "ארגון אורח")
    phone = await open_client(server, meeting_id, "phone", {"token": member_token})
    await phone.expect(lambda m: m["type"] == "welcome")

    # A phone may neither mark anyone present nor put anyone on the roster.
    for command in ("mark_present", "add_to_roster"):
        refused = await phone.command(command, person_id=absent_id)
        assert (refused["type"], refused["key"]) == ("error", "role.forbidden")

    # The facilitator marks the member who came without a phone: every screen counts them.
    marked = await console.command("mark_present", person_id=absent_id)
    assert marked["type"] == "ack", marked
    told = await console.event("marked_present")
    assert told["payload"]["person"]["id"] == absent_id
    assert (told["payload"]["attendance"], told["payload"]["no_phone"]) == (3, True)
    assert (await wall.event("marked_present"))["payload"]["attendance"] == 3
    # A phone draws no attendance: it is not told (nor the names of who came).
    with pytest.raises(TimeoutError):
        await phone.event("marked_present", within=0.5)
    snapshot = (await staff.get(f"/api/m/{meeting_id}/snapshot")).json()
    assert [p["id"] for p in snapshot["attendance"]] == [member_id, guest["id"], absent_id]

    # Not twice, and never a person of another network (nor a made-up one).
    twice = await console.command("mark_present", person_id=absent_id)
    assert (twice["type"], twice["key"]) == ("error", "present.already")
    assert absent_name in twice["message"]
    for nobody in (stranger, 999_999):
        foreign = await console.command("mark_present", person_id=nobody)
        assert (foreign["type"], foreign["key"]) == ("error", "person.not_found")
    assert (await console.command("mark_present", person_id=0))["key"] == "input.bad_id"

    # The console's panel: the roster, who of it came, the guest, who has no phone.
    panel = (await staff.get(f"/api/m/{meeting_id}/roster")).json()
    expected = {p[0] for p in server.seeded.people[:4]}
    assert {p["id"] for p in panel["roster"]} == expected
    assert {p["id"] for p in panel["roster"] if p["present"]} == {absent_id, member_id}
    assert (panel["guests"], panel["no_phone"]) == ([guest["id"]], [absent_id])
    # For staff only: not for a phone's token, nor for no one.
    async with httpx.AsyncClient(base_url=server.base) as anyone:
        assert (await anyone.get(f"/api/m/{meeting_id}/roster")).status_code == 403
        bearer = {"authorization": f"Bearer {guest_token}"}
        assert (await anyone.get(f"/api/m/{meeting_id}/roster", headers=bearer)).status_code == 403

    # The guest goes on the roster, with its audit entry and an event every console hears.
    _rows, audits_before = await _roster_rows(server, guest["id"])
    added = await console.command("add_to_roster", person_id=guest["id"])
    assert added["type"] == "ack", added
    heard = await console.event("roster_added")
    assert heard["payload"]["person"]["id"] == guest["id"]
    assert heard["payload"]["group_id"] == server.seeded.group
    assert await _roster_rows(server, guest["id"]) == (1, audits_before + 1)
    panel = (await staff.get(f"/api/m/{meeting_id}/roster")).json()
    assert panel["guests"] == []
    again = await console.command("add_to_roster", person_id=guest["id"])
    assert (again["type"], again["key"]) == ("error", "roster.already")

    # The facilitator reports for the person without a phone and records their commitment.
    assert (await console.command("start"))["type"] == "ack"
    started = await console.event("stage_changed")
    [carried] = started["payload"]["reopened"]
    assert (carried["id"], carried["owner"]["id"]) == (server.seeded.carried, absent_id)
    reviewed = await console.command("review", commitment_id=carried["id"], outcome="done")
    assert reviewed["type"] == "ack", reviewed
    for stage in ("opener", "agenda", "commitments"):
        assert (await console.command("move", stage=stage))["type"] == "ack"
    due = (datetime.fromisoformat(local_today()) + timedelta(days=14)).date().isoformat()
    made = await console.command(
        "add_commitment", text="להביא את נתוני בית הספר", owner_id=absent_id, due=due
    )
    assert made["type"] == "ack", made
    commitment = (await console.event("commitment_added"))["payload"]["commitment"]
    assert commitment["owner"]["id"] == absent_id

    # Their phone turns up after all: typing their name makes it theirs, token and all.
    late_token, late = await join_phone(server, code, absent_name, org, staff)
    assert late["id"] == absent_id
    assert late_token
    late_phone = await open_client(server, meeting_id, "phone", {"token": late_token})
    welcome = await late_phone.expect(lambda m: m["type"] == "welcome")
    assert welcome["me"]["person"]["id"] == absent_id
    panel = (await staff.get(f"/api/m/{meeting_id}/roster")).json()
    assert panel["no_phone"] == []

    # The close counts them present with the rest.
    assert (await console.command("close"))["type"] == "ack"
    closed = (await staff.get(f"/api/m/{meeting_id}/snapshot")).json()
    assert len(closed["attendance"]) == 3
    late_mark = await console.command("mark_present", person_id=server.seeded.people[2][0])
    assert (late_mark["type"], late_mark["key"]) == ("error", "flow.meeting_closed")
