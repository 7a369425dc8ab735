"""Working groups, rosters, strategies, blockers, values and the audit log: the services on a real
migrated SQLite file, then the pages and their JSON twins in-process, with who may do what."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.db import Database
from facilitator.errors import Forbidden, Invalid, NotFound, Refused
from facilitator.flow import Role, Stage
from facilitator.services import (
    audit,
    backbone,
    blockers,
    commitments,
    group_changes,
    groups,
    joining,
    lifecycle,
    network,
    opener,
    overview,
    state,
    strategies,
    users,
)
from facilitator.services.actors import Actor
from facilitator.services.scope import Scope, scope_of
from facilitator.services.strategies import StrategyInput
from facilitator.settings import Settings
from tests.support.live_server import local_today
from tests.support.world import POSTGRES, TODAY, Clock, World

PASSWORD = "a long password"


def whole(world: World) -> Scope:
    return Scope(world.network, Role.BACKBONE, None)


async def actions(db: Database, network_id: int, entity: str | None = None) -> list[str]:
    return [e["action"] for e in await audit.entries(db, network_id, entity=entity)][::-1]


# --- services -----------------------------------------------------------------------------------


async def test_a_group_is_created_edited_archived_and_staffed(db: Database, world: World) -> None:
    bb, fac = world.backbone.user_id, world.staff.user_id
    assert bb is not None
    assert fac is not None
    scope = whole(world)
    gid = await group_changes.create_group(
        db, scope, bb, "צוות חינוך", "task_force", "  לצמצם נשירה  "
    )
    await group_changes.update_group(
        db, scope, bb, gid, purpose="לצמצם נשירה", name="צוות חינוך ונוער"
    )
    await group_changes.update_group(db, scope, bb, gid, purpose=None)  # a form without it keeps it
    page = await groups.group_page(db, scope, gid)
    assert (page["name"], page["kind"], page["purpose"]) == (
        "צוות חינוך ונוער",
        "task_force",
        "לצמצם נשירה",
    )
    with pytest.raises(Invalid):
        await group_changes.create_group(db, scope, bb, "x", "committee")

    await group_changes.assign_facilitator(db, scope, bb, gid, fac)
    await group_changes.assign_facilitator(db, scope, bb, gid, fac)  # twice is once
    assert [f["id"] for f in (await groups.group_page(db, scope, gid))["facilitators"]] == [fac]
    # Only active staff of this network.
    other_net = await network.create_network(db, "רשת אחרת")
    stranger = await users.create_user(db, other_net, "x@example.org", PASSWORD, name="זר")
    with pytest.raises(NotFound):
        await group_changes.assign_facilitator(db, scope, bb, gid, stranger)
    await group_changes.unassign_facilitator(db, scope, bb, gid, fac)
    assert (await groups.group_page(db, scope, gid))["facilitators"] == []

    await group_changes.set_archived(db, scope, bb, gid, archived=True)
    listing = await groups.group_list(db, scope)
    assert gid in [g["id"] for g in listing["archived"]]
    assert gid not in [g["id"] for g in listing["groups"]]
    # An archived group gets no new meetings.
    with pytest.raises(Refused) as refused:
        await lifecycle.create_meeting(db, world.backbone, gid, "פגישה", TODAY)
    assert refused.value.key == "group.archived"
    await group_changes.set_archived(db, scope, bb, gid, archived=False)
    await lifecycle.create_meeting(db, world.backbone, gid, "פגישה", TODAY)

    assert await actions(db, world.network, "group") == [
        "group.create",
        "group.update",
        "group.assign",
        "group.unassign",
        "group.archive",
        "group.unarchive",
    ]
    update = (await audit.entries(db, world.network, action="group.update"))[0]
    # Only what changed, and by whom.
    assert update["before"] == {"name": "צוות חינוך"}
    assert update["after"] == {"name": "צוות חינוך ונוער"}
    assert update["user"] == "שדרה"


async def test_the_roster_search_add_remove(db: Database, world: World) -> None:
    bb = world.backbone.user_id
    assert bb is not None
    scope = whole(world)
    found = await groups.search_people(db, scope, world.group, "אדם")
    assert len(found) == 6
    assert await groups.search_people(db, scope, world.group, "") == []
    # By organization too, and never more than the bound.
    by_org = await groups.search_people(db, scope, world.group, "ועד שכונה")
    assert {p["id"] for p in by_org} == {world.people[2], world.people[5]}
    for pid in world.people[:2]:
        await group_changes.add_member(db, scope, bb, world.group, pid)
    await group_changes.add_member(db, scope, bb, world.group, world.people[0])  # once only
    page = await groups.group_page(db, scope, world.group)
    assert [m["person_id"] for m in page["roster"]] == world.people[:2]
    assert page["roster"][0]["organization"] == "עירייה"
    # Who is on the roster is not offered again.
    assert {p["id"] for p in await groups.search_people(db, scope, world.group, "אדם")} == set(
        world.people[2:]
    )
    await group_changes.remove_member(db, scope, bb, world.group, world.people[1])
    assert [
        m["person_id"] for m in (await groups.group_page(db, scope, world.group))["roster"]
    ] == [world.people[0]]
    with pytest.raises(NotFound):
        await group_changes.add_member(db, scope, bb, world.group, 999_999)
    assert await actions(db, world.network, "group") == [
        "group.member_add",
        "group.member_add",
        "group.member_remove",
    ]


async def test_a_facilitator_reaches_only_their_groups(db: Database, world: World) -> None:
    lone = await users.create_user(
        db, world.network, "lone@example.org", PASSWORD, name="לבד", role="facilitator"
    )
    await network.assign_staff(db, world.group, lone)
    scope = await scope_of(db, world.network, lone, Role.FACILITATOR)
    listing = await groups.group_list(db, scope)
    assert [g["id"] for g in listing["groups"]] == [world.group]
    with pytest.raises(NotFound):
        await groups.group_page(db, scope, world.other_group)
    with pytest.raises(NotFound):
        await group_changes.add_member(db, scope, lone, world.other_group, world.people[0])
    with pytest.raises(NotFound):
        await groups.search_people(db, scope, world.other_group, "אדם")
    with pytest.raises(Forbidden):
        await group_changes.create_group(db, scope, lone, "שלי", "forum")
    with pytest.raises(Forbidden):
        await group_changes.set_archived(db, scope, lone, world.group, archived=True)
    with pytest.raises(Forbidden):
        await group_changes.assign_facilitator(db, scope, lone, world.group, lone)
    with pytest.raises(Forbidden):
        await group_changes.update_group(db, scope, lone, world.group, purpose=None, name="שם אחר")
    # Their own group's purpose and roster are theirs to keep.
    await group_changes.update_group(
        db, scope, lone, world.group, purpose="מטרה", name="קבוצת עבודה"
    )
    await group_changes.add_member(db, scope, lone, world.group, world.people[3])
    page = await groups.group_page(db, scope, world.group)
    assert page["purpose"] == "מטרה"
    assert [m["person_id"] for m in page["roster"]] == [world.people[3]]


async def held_meeting(db: Database, world: World, clock: Clock, day: date, came: list[int]) -> int:
    clock.set_day(day)
    mid = (
        await lifecycle.create_meeting(db, world.staff, world.group, f"מפגש {day}", day)
    ).event.meeting_id
    await lifecycle.start(db, mid, world.staff)
    for pid in came:
        await joining.join(db, mid, person_id=pid)
    return mid


async def close(db: Database, world: World, mid: int, day: date) -> None:
    """To the close (a meeting closes with a commitment), so the group's next one may start."""
    for stage in (Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS):
        await lifecycle.move(db, mid, world.staff, stage)
    await commitments.add(db, mid, world.staff, "לסכם", world.people[0], day.isoformat())
    await lifecycle.close(db, mid, world.staff)


async def test_attendance_compares_who_came_with_who_was_expected(
    db: Database, world: World, clock: Clock
) -> None:
    """Roster p0..p3 (4 expected). Meeting 1: p0, p1 and guest p4 came → 2 of 4 (50%), 1 guest.
    Meeting 2: p0..p3 and guest p5 → 4 of 4 (100%), 1 guest. Group: 6 of 4×2=8 → 75%, 2 guests.
    """
    p, bb = world.people, world.backbone.user_id
    assert bb is not None
    for pid in p[:4]:
        await group_changes.add_member(db, whole(world), bb, world.group, pid)
    first = await held_meeting(db, world, clock, date(2026, 3, 2), [p[0], p[1], p[4]])
    await close(db, world, first, date(2026, 3, 2))
    await held_meeting(db, world, clock, date(2026, 3, 9), [p[0], p[1], p[2], p[3], p[5]])
    report = await backbone.attendance(db, backbone.reach_of(world.network, 0, Role.BACKBONE))
    group = next(g for g in report["groups"] if g["id"] == world.group)
    assert [(m["expected"], m["came"], m["guests"], m["rate"]) for m in group["meetings"]] == [
        (4, 2, 1, 0.5),
        (4, 4, 1, 1.0),
    ]
    assert (group["expected"], group["came"], group["guests"], group["rate"]) == (4, 6, 2, 0.75)
    other = next(g for g in report["groups"] if g["id"] == world.other_group)
    assert (other["expected"], other["rate"]) == (0, None)
    # Each member's rate on the group's page: p0 came to both, p2 to one, nobody else counted.
    roster = {
        m["person_id"]: m
        for m in (await groups.group_page(db, whole(world), world.group))["roster"]
    }
    assert (roster[p[0]]["came"], roster[p[0]]["held"], roster[p[0]]["rate"]) == (2, 2, 1.0)
    assert (roster[p[2]]["came"], roster[p[2]]["rate"]) == (1, 0.5)
    assert (await groups.group_list(db, whole(world)))["groups"][-1]["meetings_held"] == 2


async def test_blockers_retire_restore_and_trends_keep_retired_answers(
    db: Database, world: World, clock: Clock
) -> None:
    bb = world.backbone.user_id
    mid = await held_meeting(db, world, clock, TODAY, [world.people[0]])
    await lifecycle.move(db, mid, world.staff, Stage.OPENER)
    first = [b["id"] for b in (await state.snapshot(db, mid))["blockers"]]
    await opener.respond(db, mid, Actor.participant(world.people[0]), [first[0], first[1]])

    await blockers.set_blocker_active(db, world.network, first[0], active=False, user_id=bb)
    await blockers.set_blocker_active(db, world.network, first[1], active=False, user_id=bb)
    listed = await blockers.blocker_list(db, world.network)
    assert [b["id"] for b in listed if not b["active"]] == first[:2]
    # The trends still count the answers given to retired lines.
    trends = await backbone.opener_trends(db, backbone.reach_of(world.network, 0, Role.BACKBONE))
    counts = {b["id"]: b["total"] for b in trends["groups"][0]["blockers"]}
    assert (counts[first[0]], counts[first[1]]) == (1, 1)

    custom = await blockers.add_blocker(db, world.network, "אין זמן", "No time", user_id=bb)
    await blockers.move_blocker(db, world.network, first[2], 1, user_id=bb)
    await blockers.update_blocker(
        db, world.network, first[3], "מילים אחרות", "Other words", active=True, user_id=bb
    )
    restored = await blockers.restore_seed_blockers(db, world.network, user_id=bb)
    assert restored == 2
    after = await blockers.blocker_list(db, world.network)
    assert [(b["key"], b["he"], b["en"], b["active"]) for b in after[:9]] == [
        (key, he, en, True) for key, he, en in network.SEED_BLOCKERS
    ]
    assert (after[9]["id"], after[9]["active"]) == (custom, True)
    assert await actions(db, world.network, "blocker") == [
        "blocker.retire",
        "blocker.retire",
        "blocker.create",
        "blocker.move",
        "blocker.update",
        "blocker.restore_seed",
    ]


async def test_strategies_with_a_target_archived_yet_still_linked(
    db: Database, world: World
) -> None:
    bb = world.backbone.user_id
    sid = await strategies.create_strategy(
        db,
        world.network,
        bb,
        StrategyInput(
            "תעסוקת צעירים",
            "צעירים בעבודה קבועה",
            "200",
            "2027-06-30",
            (world.group, world.other_group),
        ),
    )
    listing = await strategies.strategy_list(db, world.network)
    made = next(s for s in listing["strategies"] if s["id"] == sid)
    assert (made["target"], made["target_amount"], made["target_by"]) == (
        "צעירים בעבודה קבועה",
        "200",
        "2027-06-30",
    )
    assert sorted(g["id"] for g in made["groups"]) == sorted([world.group, world.other_group])
    with pytest.raises(Invalid):
        await strategies.create_strategy(
            db, world.network, bb, StrategyInput("x", "y", target_by="30/06/2027")
        )
    await strategies.update_strategy(
        db,
        world.network,
        bb,
        sid,
        StrategyInput("תעסוקת צעירים", "צעירים בעבודה", "250", "", (world.group,)),
    )
    change = (await audit.entries(db, world.network, action="strategy.update"))[0]
    assert change["before"]["target_amount"] == "200"
    assert change["after"]["target_amount"] == "250"
    assert change["after"]["target_by"] is None
    assert change["after"]["groups"] == ["קבוצת עבודה"]

    await strategies.set_archived(db, world.network, bb, sid, archived=True)
    # Not offered for new links, but still listed (apart) for the backbone.
    offered = (await overview.network_lists(db, world.network))["strategies"]
    assert sid not in [s["id"] for s in offered]
    assert sid in [s["id"] for s in (await strategies.strategy_list(db, world.network))["archived"]]
    await strategies.set_archived(db, world.network, bb, sid, archived=False)
    assert sid in [s["id"] for s in (await overview.network_lists(db, world.network))["strategies"]]


async def test_value_changes_are_audited(db: Database, world: World) -> None:
    bb = world.backbone.user_id
    added = await network.add_value(
        db, world.network, network.ValueWords("אמון", ["מקשיבים"]), user_id=bb
    )
    vid = added.value_id
    await network.update_value(
        db, world.network, vid, network.ValueWords("אמון", ["מקשיבים", "מכבדים"]), user_id=bb
    )
    await network.remove_value(db, world.network, vid, user_id=bb)
    entries = await audit.entries(db, world.network, entity="value", entity_id=vid)
    assert [e["action"] for e in entries] == ["value.remove", "value.update", "value.create"]
    assert entries[1]["before"] == {"behaviours_he": ["מקשיבים"]}
    assert entries[1]["after"] == {"behaviours_he": ["מקשיבים", "מכבדים"]}
    assert all(e["user"] == "שדרה" for e in entries)


# --- pages and JSON twins ----------------------------------------------------------------------


@dataclass
class Seed:
    network: int
    group: int
    other_group: int
    people: list[int]
    backbone: int
    facilitator: int


async def _seed(url: str) -> Seed:
    db = Database(url)
    try:
        nid = await network.create_network(db, "רשת ניהול")
        await network.add_value(db, nid, network.ValueWords("שקיפות", ["מחליטים בחדר"]))
        org = await network.add_organization(db, nid, "עמותת גשר", "nonprofit")
        people = [await network.add_person(db, nid, f"חבר {n}", org) for n in range(4)]
        group = await network.add_group(db, nid, "קבוצת חינוך", "working_group")
        other = await network.add_group(db, nid, "ועדת היגוי", "steering_committee")
        bb = await users.create_user(
            db, nid, "bb@example.org", PASSWORD, name="שדרה", role="backbone"
        )
        fac = await users.create_user(
            db, nid, "fac@example.org", PASSWORD, name="מנחה", role="facilitator"
        )
        await network.assign_staff(db, group, fac)
        return Seed(nid, group, other, people, bb, fac)
    finally:
        await db.dispose()


@dataclass
class Site:
    client: TestClient
    seed: Seed
    url: str

    def csrf(self) -> str:
        if not self.client.cookies.get("fac_csrf"):
            self.client.get("/login")
        return str(self.client.cookies.get("fac_csrf"))

    def login(self, email: str) -> None:
        answer = self.client.post(
            "/login",
            data={"csrf": self.csrf(), "email": email, "password": PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text

    def post(self, path: str, **data: str) -> int:
        answer = self.client.post(path, data={"csrf": self.csrf(), **data}, follow_redirects=False)
        return answer.status_code

    def audit(self) -> list[str]:
        async def read() -> list[str]:
            db = Database(self.url)
            try:
                # What staff did in the browser (the seed's own entries have no one).
                entries = await audit.entries(db, self.seed.network)
                return [e["action"] for e in entries[::-1] if e["user_id"] is not None]
            finally:
                await db.dispose()

        return asyncio.run(read())


@pytest.fixture
def site(migrated_template: str, tmp_path: Path) -> Iterator[Site]:
    if POSTGRES:
        pytest.skip("runs on its own SQLite file")
    db_file = tmp_path / "admin.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    seed = asyncio.run(_seed(url))
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=url)),
        base_url="http://testserver",
    ) as client:
        yield Site(client, seed, url)


PAGES = ["/admin/groups", "/admin/groups/1", "/admin/strategies", "/admin/blockers",
         "/admin/values", "/admin/audit"]  # fmt: skip
APIS = ["/api/admin/groups", "/api/admin/groups/1", "/api/admin/groups/1/people?q=x",
        "/api/admin/strategies", "/api/admin/blockers", "/api/admin/values", "/api/admin/audit"]  # fmt: skip


def test_strangers_are_sent_to_sign_in_and_the_api_says_401(site: Site) -> None:
    for path in PAGES:
        answer = site.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=/admin/"), path
    for path in APIS:
        assert site.client.get(path).status_code == 401, path
    assert site.post("/admin/groups", name="x", kind="forum") == 303
    assert site.client.get("/api/admin/groups").status_code == 401


def test_a_facilitator_sees_their_group_and_is_refused_elsewhere(site: Site) -> None:
    site.login("fac@example.org")
    listing = site.client.get("/admin/groups")
    assert listing.status_code == 200
    assert "קבוצת חינוך" in listing.text
    assert "ועדת היגוי" not in listing.text
    assert 'action="/admin/groups"' not in listing.text  # no form to create one
    api = site.client.get("/api/admin/groups").json()
    assert [g["id"] for g in api["groups"]] == [site.seed.group]
    other = site.seed.other_group
    assert site.client.get(f"/admin/groups/{other}").status_code == 404
    assert site.client.get(f"/api/admin/groups/{other}").status_code == 404
    assert site.post(f"/admin/groups/{other}/members", person_id=str(site.seed.people[0])) == 404
    # Not theirs to do: create, archive, assign, rename — a 403 page that says why.
    refused = site.client.post(
        "/admin/groups", data={"csrf": site.csrf(), "name": "שלי", "kind": "forum"}
    )
    assert refused.status_code == 403
    assert "רק צוות השדרה" in refused.text or "צוות" in refused.text
    group = site.seed.group
    assert site.post(f"/admin/groups/{group}/archive") == 403
    assert site.post(f"/admin/groups/{group}/facilitators", staff_id=str(site.seed.backbone)) == 403
    assert site.post(f"/admin/groups/{group}", name="שם אחר", purpose="") == 403
    for path in ("/admin/strategies", "/admin/blockers", "/admin/values", "/admin/audit"):
        assert site.client.get(path).status_code == 403, path
    for path in ("/api/admin/strategies", "/api/admin/blockers", "/api/admin/values",
                 "/api/admin/audit"):  # fmt: skip
        assert site.client.get(path).status_code == 403, path
    assert site.post("/admin/blockers/restore-seed") == 403
    # Their own group's purpose and roster.
    page = site.client.get(f"/admin/groups/{group}")
    assert page.status_code == 200
    assert 'name="name"' not in page.text
    assert site.post(f"/admin/groups/{group}", purpose="ללוות צעירים") == 303
    assert site.post(f"/admin/groups/{group}/members", person_id=str(site.seed.people[1])) == 303
    detail = site.client.get(f"/api/admin/groups/{group}").json()
    assert detail["purpose"] == "ללוות צעירים"
    assert [m["person_id"] for m in detail["roster"]] == [site.seed.people[1]]
    assert site.audit() == ["group.update", "group.member_add"]


@pytest.mark.parametrize(("lang", "direction"), [("he", "rtl"), ("en", "ltr")])
def test_the_backbone_runs_a_group_from_the_browser_forms(
    site: Site, lang: str, direction: str
) -> None:
    site.login("bb@example.org")
    created = site.client.post(
        "/admin/groups",
        data={
            "csrf": site.csrf(),
            "name": "<b>צוות</b> תעסוקה",
            "kind": "task_force",
            "purpose": "עבודה לצעירים",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    found = re.fullmatch(r"/admin/groups/(\d+)\?saved=1", created.headers["location"])
    assert found is not None
    gid = int(found.group(1))
    people = site.client.get(f"/api/admin/groups/{gid}/people?q=חבר").json()["people"]
    assert len(people) == 4
    for pid in site.seed.people[:3]:
        assert site.post(f"/admin/groups/{gid}/members", person_id=str(pid)) == 303
    assert site.post(f"/admin/groups/{gid}/members/{site.seed.people[2]}/remove") == 303
    assert (
        site.post(f"/admin/groups/{gid}/facilitators", staff_id=str(site.seed.facilitator)) == 303
    )
    page = site.client.get(f"/admin/groups/{gid}?lang={lang}&q=חבר")
    assert page.status_code == 200
    assert f'dir="{direction}"' in page.text
    assert "&lt;b&gt;צוות&lt;/b&gt;" in page.text
    assert "<b>צוות" not in page.text
    assert page.text.count('name="person_id"') == 2  # the two not on the roster yet
    word = {"he": "צוות משימה", "en": "task force"}[lang]
    assert word in page.text
    listing = site.client.get(f"/admin/groups?lang={lang}")
    assert "מנחה" in listing.text
    assert site.post(f"/admin/groups/{gid}", name="צוות תעסוקה", kind="forum", purpose="") == 303
    assert site.post(f"/admin/groups/{gid}/archive") == 303
    api = site.client.get("/api/admin/groups").json()
    assert [g["id"] for g in api["archived"]] == [gid]
    bad = site.client.post("/admin/groups", data={"csrf": site.csrf(), "name": "", "kind": "forum"})
    assert bad.status_code == 200
    assert "השדה ריק" in bad.text or "empty" in bad.text.lower()
    assert site.post("/admin/groups", name="x", kind="forum", csrf="forged") == 303
    assert site.audit() == [
        "group.create",
        "group.member_add",
        "group.member_add",
        "group.member_add",
        "group.member_remove",
        "group.assign",
        "group.update",
        "group.archive",
    ]


def test_strategies_blockers_and_values_pages(site: Site) -> None:
    site.login("bb@example.org")
    group = site.seed.group
    assert (
        site.post(
            "/admin/strategies", title="קריאה בכיתה א", target="ילדים שקוראים בסוף כיתה א",
            target_amount="90%", target_by="2027-06-30", **{f"group_{group}": "1"},
        )
        == 303
    )  # fmt: skip
    listed = site.client.get("/api/admin/strategies").json()["strategies"]
    made = next(s for s in listed if s["title"] == "קריאה בכיתה א")
    assert (made["target_amount"], made["target_by"]) == ("90%", "2027-06-30")
    assert [g["id"] for g in made["groups"]] == [group]
    page = site.client.get("/admin/strategies?lang=he")
    assert "30 ביוני 2027" in page.text
    assert (
        "June 30, 2027" in site.client.get("/admin/strategies?lang=en").text
        or "30 June 2027" in site.client.get("/admin/strategies?lang=en").text
    )
    assert site.post(f"/admin/strategies/{made['id']}/archive") == 303
    assert site.client.get("/api/admin/strategies").json()["archived"][0]["id"] == made["id"]

    blockers = site.client.get("/api/admin/blockers").json()["blockers"]
    assert len(blockers) == 9
    first, second = blockers[0]["id"], blockers[1]["id"]
    assert site.post(f"/admin/blockers/{first}/retire") == 303
    assert site.post(f"/admin/blockers/{second}/up") == 303
    assert site.post("/admin/blockers", label_he="חוסר זמן", label_en="No time") == 303
    page = site.client.get("/admin/blockers?lang=en").text
    assert "Unclear goals" in page
    assert "Put back on the list" in page
    assert site.post("/admin/blockers/restore-seed") == 303
    again = site.client.get("/api/admin/blockers").json()["blockers"]
    assert [b["key"] for b in again[:9]] == [key for key, _he, _en in network.SEED_BLOCKERS]
    assert all(b["active"] for b in again)

    # Values live under the administration now; the old address leads there.
    moved = site.client.get("/values", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (301, "/admin/values")
    assert site.post("/admin/values", title_he="אמון", behaviours_he="מקשיבים\nמכבדים") == 303
    assert "מקשיבים\nמכבדים" in site.client.get("/admin/values").text
    values = site.client.get("/api/admin/values").json()["values"]
    assert values[-1]["he"] == {"title": "אמון", "behaviours": ["מקשיבים", "מכבדים"]}
    assert site.client.post("/values", data={"csrf": site.csrf()}).status_code == 405
    assert site.audit() == [
        "strategy.create",
        "strategy.archive",
        "blocker.retire",
        "blocker.move",
        "blocker.create",
        "blocker.restore_seed",
        "value.create",
    ]


@pytest.mark.parametrize(("lang", "words"), [("he", "יצירת קבוצה"), ("en", "group created")])
def test_the_audit_log_reads_and_cannot_be_changed(site: Site, lang: str, words: str) -> None:
    site.login("bb@example.org")
    site.post("/admin/groups", name="צוות א", kind="forum")
    site.post(f"/admin/groups/{site.seed.group}", name="קבוצת חינוך ונוער", kind="working_group",
              purpose="")  # fmt: skip
    page = site.client.get(f"/admin/audit?lang={lang}")
    assert page.status_code == 200
    assert words in page.text
    assert "קבוצת חינוך ונוער" in page.text
    assert "<del" in page.text
    assert f'href="/admin/groups/{site.seed.group}"' in page.text
    # Network-local time: 09:00 UTC is not shown; the zone's hour is (Jerusalem is UTC+2/+3).
    assert re.search(r"\d{1,2}:\d{2}", page.text)
    assert '<form method="post"' not in page.text.split('class="data audit-log"')[1]
    filtered = site.client.get("/api/admin/audit?action=group.update").json()
    assert [e["action"] for e in filtered["entries"]] == ["group.update"]
    assert filtered["entries"][0]["before"] == {"name": "קבוצת חינוך"}
    by_entity = site.client.get("/admin/audit?entity=group&who=" + str(site.seed.backbone))
    assert by_entity.status_code == 200
    assert site.client.get("/api/admin/audit?entity=nope").status_code == 422
    for method in ("post", "put", "delete"):
        assert getattr(site.client, method)("/admin/audit").status_code == 405
        assert getattr(site.client, method)("/api/admin/audit").status_code == 405


def test_audit_pages_back_to_older_entries(site: Site) -> None:
    site.login("bb@example.org")
    for n in range(55):
        site.post("/admin/blockers", label_he=f"חסם {n}", label_en=f"Blocker {n}")
    first = site.client.get("/api/admin/audit").json()
    assert len(first["entries"]) == 50
    assert first["older"]
    older = site.client.get(f"/api/admin/audit?before={first['older']}").json()
    assert len(older["entries"]) == 6  # five more, and the seed's value
    assert older["older"] is None
    page = site.client.get("/admin/audit")
    assert f"before={first['older']}" in page.text


def test_attendance_csv_marks_members_and_guests(site: Site) -> None:
    site.login("bb@example.org")
    group = site.seed.group
    site.post(f"/admin/groups/{group}/members", person_id=str(site.seed.people[0]))

    async def hold() -> None:
        db = Database(site.url)
        try:
            staff = Actor.staff(site.seed.backbone, "backbone")
            mid = (
                await lifecycle.create_meeting(db, staff, group, "פגישה", local_today())
            ).event.meeting_id
            await lifecycle.start(db, mid, staff)
            for pid in site.seed.people[:2]:
                await joining.join(db, mid, person_id=pid)
        finally:
            await db.dispose()

    asyncio.run(hold())
    rows = list(csv.reader(io.StringIO(site.client.get("/backbone/attendance.csv?lang=en").text)))
    assert rows[0][-1] == "On the group's list"
    assert sorted((r[3], r[-1]) for r in rows[1:]) == [("חבר 0", "expected"), ("חבר 1", "guest")]
    report = site.client.get("/api/backbone/attendance").json()
    mine = next(g for g in report["groups"] if g["id"] == group)
    assert (mine["meetings"][0]["expected"], mine["meetings"][0]["came"]) == (1, 1)
    assert mine["meetings"][0]["guests"] == 1
    page = site.client.get("/backbone/attendance?lang=en").text
    assert "Came of expected" in page
    assert "100%" in page
