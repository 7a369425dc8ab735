"""The roster at the door, against a real uvicorn process: a joining phone is offered its group's
roster first (organizations, then a chosen one's people), the rest of the network only once two
characters are typed, never an archived or merged person or organization; picking a name is an
ordinary join, a typed merged name lands on the person it was merged into, and a typed archived
name finds its person instead of making a second one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import Group, GroupMember, GroupStaff, Organization, Person, StaffUser
from tests.support.live_server import Server, join_known, new_meeting, staff_client

pytestmark = pytest.mark.slow

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


@dataclass
class Door:
    """A group with a roster, and the people around it."""

    group: int
    city: int  # organization id
    fund: int
    people: dict[str, int]


async def _furnish(server: Server) -> Door:
    db = Database(server.db_url)
    try:
        async with db.write() as session:
            nid = server.seeded.network
            user = await session.scalar(
                select(StaffUser.id).where(StaffUser.email == server.seeded.staff_email)
            )
            group = Group(network_id=nid, name="צוות משימה: מפתח", kind="task_force")
            city = Organization(network_id=nid, name="עיריית דלת", sector="government")
            fund = Organization(network_id=nid, name="קרן מפתח", sector="philanthropy")
            gone = Organization(
                network_id=nid, name="ארגון שנסגר", sector="nonprofit", archived_at=NOW
            )
            old = Organization(network_id=nid, name="קרן מפתח הישנה", sector="philanthropy")
            session.add_all([group, city, fund, gone, old])
            await session.flush()
            old.merged_into_id = fund.id
            session.add(GroupStaff(group_id=group.id, user_id=user))

            def person(name: str, org: Organization, **extra: object) -> Person:
                made = Person(
                    network_id=nid, organization_id=org.id, name=name, created_at=NOW, **extra
                )
                session.add(made)
                return made

            people = {
                "רות לוי": person("רות לוי", city),
                "רון כהן": person("רון כהן", city),
                "שירה דהן": person("שירה דהן", fund),
                "רותם ישראלי": person("רותם ישראלי", fund),  # in the network, not on the roster
                "רותי ארכיון": person("רותי ארכיון", city, archived_at=NOW),
                "רוני ותיק": person("רוני ותיק", gone),  # on the roster, organization archived
                "דני אמיתי": person("דני אמיתי", city),
            }
            await session.flush()
            people["דני כפול"] = person("דני כפול", city, merged_into_id=people["דני אמיתי"].id)
            # Merged into "שירה דהן" of the fund, by an older spelling of the fund.
            people["שירה ד."] = person("שירה ד.", old, merged_into_id=people["שירה דהן"].id)
            await session.flush()
            for name in ("רות לוי", "רון כהן", "שירה דהן", "רותי ארכיון", "רוני ותיק", "דני כפול"):
                session.add(GroupMember(group_id=group.id, person_id=people[name].id, added_at=NOW))
            return Door(group.id, city.id, fund.id, {n: p.id for n, p in people.items()})
    finally:
        await db.dispose()


async def _open_door(server: Server) -> tuple[Door, str, int]:
    furnished = await _furnish(server)
    staff = await staff_client(server)
    try:
        mid, code, _view = await new_meeting(server, staff, group=furnished.group)
    finally:
        await staff.aclose()
    return furnished, code, mid


@pytest.fixture(scope="module")
def door(server: Server) -> tuple[Door, str, int]:
    return asyncio.run(_open_door(server))


async def _people_count(server: Server) -> int:
    db = Database(server.db_url)
    try:
        async with db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(Person)) or 0)
    finally:
        await db.dispose()


async def test_the_roster_comes_first_and_the_network_only_after_two_letters(
    server: Server, door: tuple[Door, str, int]
) -> None:
    furnished, code, mid = door
    async with httpx.AsyncClient(base_url=server.base) as phone:

        async def ask(**params: str) -> dict[str, list[dict[str, object]]]:
            answer = await phone.get(f"/api/join/{code}/roster", params=params)
            assert answer.status_code == 200, answer.text
            assert answer.headers["cache-control"] == "no-store"
            return answer.json()  # type: ignore[no-any-return]

        # First the roster's organizations, with how many of their people are on it: not the
        # archived organization (though one of its people is on the roster), and no people yet.
        first = await ask()
        assert first["organizations"] == [
            {"id": furnished.city, "name": "עיריית דלת", "people": 2},
            {"id": furnished.fund, "name": "קרן מפתח", "people": 1},
        ]
        assert first["people"] == first["others"] == []

        # Then a chosen organization's roster people: no archived or merged name among them.
        city = await ask(organization=str(furnished.city))
        assert city["people"] == [
            {"name": "רון כהן", "organization": "עיריית דלת"},
            {"name": "רות לוי", "organization": "עיריית דלת"},
        ]
        narrowed = await ask(organization=str(furnished.city), q="לוי")
        assert [p["name"] for p in narrowed["people"]] == ["רות לוי"]

        # One typed letter searches the roster only; two reach the rest of the network too.
        one = await ask(q="ר")
        assert {p["name"] for p in one["people"]} == {"רות לוי", "רון כהן", "שירה דהן"}
        assert one["others"] == []
        two = await ask(q="רות")
        assert [p["name"] for p in two["people"]] == ["רות לוי"]
        assert two["others"] == [{"name": "רותם ישראלי", "organization": "קרן מפתח"}]
        # Never an archived person, nor a merged one, nor an id of anyone.
        for typed in ("רותי", "דני כפול", "שירה ד.", "רוני"):
            found = await ask(q=typed)
            assert found["people"] + found["others"] == [], typed
        assert all(set(p) == {"name", "organization"} for p in two["people"] + two["others"])

        # Bounded and checked at the edge.
        too_long = await phone.get(f"/api/join/{code}/roster", params={"q": "א" * 121})
        assert too_long.status_code == 422
        bad = await phone.get(f"/api/join/{code}/roster", params={"organization": "x1"})
        assert bad.json()["error"]["key"] == "input.bad_id"
        wrong = await phone.get("/api/join/ZZZ999/roster")
        assert (wrong.status_code, wrong.json()["error"]["key"]) == (404, "join.bad_code")

        # Picking a name from the roster asks to be that person: the facilitator accepts it.
        picked = city["people"][1]
        joined = await join_known(server, mid, code, **picked)
        assert joined.status_code == 200, joined.text
        assert joined.json()["person"]["id"] == furnished.people["רות לוי"]
        # ... and a held name stays held: another phone picking it is refused.
        again = await phone.post("/api/join", json={"code": code, **picked})
        assert again.json()["error"]["key"] == "join.name_taken"


async def test_typed_names_follow_merges_and_find_archived_people(
    server: Server, door: tuple[Door, str, int]
) -> None:
    furnished, code, mid = door
    before = await _people_count(server)
    async with httpx.AsyncClient(base_url=server.base) as phone:

        async def join(name: str, organization: str) -> dict[str, object]:
            # Each is someone the network knew: the facilitator accepts the request.
            answer = await join_known(server, mid, code, name, organization)
            assert answer.status_code == 200, answer.text
            person: dict[str, object] = answer.json()["person"]
            return person

        # A merged name joins as the person it was merged into.
        merged = await join("דני כפול", "עיריית דלת")
        assert (merged["id"], merged["name"]) == (furnished.people["דני אמיתי"], "דני אמיתי")
        # A merged organization's old spelling, and a merged person in it: both followed.
        both = await join("שירה ד.", "קרן מפתח הישנה")
        assert both["id"] == furnished.people["שירה דהן"]
        assert both["organization"] == "קרן מפתח"
        # An archived person typed exactly is found, not made again.
        archived = await join("רותי ארכיון", "עיריית דלת")
        assert archived["id"] == furnished.people["רותי ארכיון"]
        # So is a person of an archived organization.
        old_hand = await join("רוני ותיק", "ארגון שנסגר")
        assert old_hand["id"] == furnished.people["רוני ותיק"]
    assert await _people_count(server) == before

    # The organizations suggested while typing never include archived or merged ones.
    async with httpx.AsyncClient(base_url=server.base) as phone:
        offered = await phone.get(f"/api/join/{code}/suggest", params={"q": "קרן מפתח"})
        assert offered.json()["organizations"] == ["קרן מפתח"]
        closed = await phone.get(f"/api/join/{code}/suggest", params={"q": "שנסגר"})
        assert closed.json()["organizations"] == []
