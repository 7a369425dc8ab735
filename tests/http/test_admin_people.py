"""Organizations and people administered: merges move every kind of history, and the backbone's
figures change exactly as worked out here by hand; the pages and their JSON twins, in both
languages, for the backbone only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    AuditEntry,
    CalendarFeed,
    Commitment,
    CommitmentReview,
    GroupMember,
    OpenerResponse,
    Organization,
    Person,
)
from facilitator.errors import Conflict, Invalid
from facilitator.flow import Role, Stage
from facilitator.services import (
    access,
    backbone,
    commitments,
    feeds,
    identity,
    joining,
    lifecycle,
    network,
    opener,
    organizations,
    people,
    people_merge,
    people_search,
    state,
)
from facilitator.services.access import StaffIdentity
from facilitator.services.actors import Actor
from tests.support.admin_site import Site
from tests.support.world import Clock, World

D1, D2 = date(2026, 3, 2), date(2026, 3, 16)
AS_OF = date(2026, 3, 31)


@pytest.fixture
def site(admin_site: Site) -> Site:
    """The administration tests' site (the tier's ``site`` is the live-server seed)."""
    return admin_site


async def _groups(db: Database, world: World) -> list[int]:
    return await backbone.visible_groups(
        db, world.network, world.backbone.user_id or 0, Role.BACKBONE
    )


async def _meeting(db: Database, world: World, clock: Clock, day: date) -> int:
    clock.set_day(day)
    made = await lifecycle.create_meeting(db, world.staff, world.group, f"מפגש {day}", day)
    await lifecycle.start(db, made.event.meeting_id, world.staff)
    return made.event.meeting_id


async def _to_commitments(db: Database, world: World, mid: int) -> None:
    for stage in (Stage.AGENDA, Stage.COMMITMENTS):
        await lifecycle.move(db, mid, world.staff, stage)


async def _add(db: Database, world: World, mid: int, text: str, owner: int, due: str) -> int:
    return int(
        (await commitments.add(db, mid, world.staff, text, owner, due)).event.payload["commitment"][
            "id"
        ]
    )


def _by_name(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {r["name"]: r for r in report["rows"]}  # type: ignore[attr-defined, index]


async def _count(db: Database, model: type, **where: int) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(await session.scalar(query) or 0)


async def test_person_merge_moves_every_record_and_the_figures_follow(
    db: Database, world: World, clock: Clock
) -> None:
    p0 = world.people[0]  # עירייה (government)
    # The same person, joined once from a phone under another organization's name (עמותה).
    dup = await network.add_person(db, world.network, "אדם אפס", world.orgs[1])
    async with db.write() as session:
        session.add(GroupMember(group_id=world.group, person_id=p0, added_at=clock.now))
        session.add(GroupMember(group_id=world.group, person_id=dup, added_at=clock.now))
        session.add(GroupMember(group_id=world.other_group, person_id=dup, added_at=clock.now))
    dup_phone = await access.issue_participant_token(db, dup)
    bb = StaffIdentity(
        0, world.backbone.user_id or 0, world.network, "שדרה", "bb@example.org", Role.BACKBONE, None
    )
    await feeds.create_feed(db, bb, "person", dup, [])

    m1 = await _meeting(db, world, clock, D1)
    await joining.join(db, m1, person_id=dup)  # 09:00
    clock.now += timedelta(minutes=5)
    await joining.join(db, m1, person_id=p0)  # 09:05
    await lifecycle.move(db, m1, world.staff, Stage.OPENER)
    blockers = [b["id"] for b in (await state.snapshot(db, m1))["blockers"]]
    await opener.respond(db, m1, Actor.participant(p0), [blockers[0]])
    await opener.respond(db, m1, Actor.participant(dup), [blockers[0], blockers[4]])
    await _to_commitments(db, world, m1)
    a = await _add(db, world, m1, "A", dup, "2026-03-09")
    b = await _add(db, world, m1, "B", p0, "2026-03-09")
    await lifecycle.close(db, m1, world.staff)

    m2 = await _meeting(db, world, clock, D2)
    await joining.join(db, m2, person_id=dup)
    await commitments.review(db, m2, Actor.participant(dup), a, "done")  # on time, by its owner
    await commitments.review(db, m2, world.staff, b, "slipped", new_due="2026-03-30")
    await lifecycle.move(db, m2, world.staff, Stage.OPENER)
    await _to_commitments(db, world, m2)
    proposed = await commitments.propose(db, m2, Actor.participant(dup), "C", "2026-03-20")
    c = int(proposed.event.payload["commitment"]["id"])
    await commitments.confirm(db, m2, world.staff, c)
    await lifecycle.close(db, m2, world.staff)

    before = _by_name(
        await backbone.accountability(
            db, backbone.reach_of(world.network, 0, Role.BACKBONE), "organization", AS_OF
        )
    )
    # By hand. B (p0, עירייה): slipped to 30.3, open on 31.3: overdue. A (dup, עמותה): done at
    # the first meeting after its due day: on time. C (dup, עמותה): due 20.3, open: overdue.
    assert (before["עירייה"]["made"], before["עירייה"]["slipped"], before["עירייה"]["overdue"]) == (
        1,
        1,
        1,
    )
    assert before["עמותה"]["made"] == 2
    assert (before["עמותה"]["done_on_time"], before["עמותה"]["overdue"]) == (1, 1)
    assert before["עמותה"]["on_time_rate"] == 0.5
    seen = (await backbone.attendance(db, backbone.reach_of(world.network, 0, Role.BACKBONE)))[
        "groups"
    ]
    first = next(g for g in seen if g["id"] == world.group)["meetings"]
    assert [(m["attended"], m["organizations"]) for m in first] == [(2, 2), (1, 1)]
    assert first[0]["sectors"] == ["government", "nonprofit"]

    moved = await people_merge.merge(db, world.network, world.backbone.user_id, p0, dup)
    assert moved == {
        "commitments_owned": 2, "commitments_proposed": 1, "reviews": 1, "phones": 1,
        "attendance": 1, "attendance_joined": 1, "opener_answers": 1, "opener_answers_dropped": 1,
        "groups": 1, "feeds": 1,
    }  # fmt: skip

    after = _by_name(
        await backbone.accountability(
            db, backbone.reach_of(world.network, 0, Role.BACKBONE), "organization", AS_OF
        )
    )
    # Everything is p0's, so עירייה's: made 3 (A, B, C), done on time 1 (A), slipped 1 (B),
    # overdue 2 (B, C), come due 3: on time 1/3. עמותה made nothing of its own.
    assert list(after) == ["עירייה"]
    row = after["עירייה"]
    assert (row["made"], row["done"], row["done_on_time"], row["slipped"], row["overdue"]) == (
        3,
        1,
        1,
        1,
        2,
    )
    assert row["on_time_rate"] == 0.333
    seen = (await backbone.attendance(db, backbone.reach_of(world.network, 0, Role.BACKBONE)))[
        "groups"
    ]
    first = next(g for g in seen if g["id"] == world.group)["meetings"]
    assert [(m["attended"], m["organizations"]) for m in first] == [(1, 1), (1, 1)]
    assert first[0]["sectors"] == ["government"]

    # Where both were at once, one record: the earliest arrival, keep's own opener answer.
    async with db.read() as session:
        joined = await session.scalar(
            select(Attendance.joined_at).where(
                Attendance.meeting_id == m1, Attendance.person_id == p0
            )
        )
        assert joined == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        answers = set((await session.execute(
            select(OpenerResponse.blocker_id).where(OpenerResponse.meeting_id == m1, OpenerResponse.person_id == p0)
        )).scalars())  # fmt: skip
        assert answers == {blockers[0], blockers[4]}
        reviewer = await session.scalar(
            select(CommitmentReview.reviewer_person_id).where(CommitmentReview.commitment_id == a)
        )
        assert reviewer == p0
        assert (
            await session.scalar(select(Commitment.proposed_by_person_id).where(Commitment.id == c))
            == p0
        )
        feed = await session.scalar(select(CalendarFeed.target_id))
        assert feed == p0
        gone = await session.get_one(Person, dup)
        assert gone.merged_into_id == p0
        assert gone.archived_at is not None
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "person.merge"))
        ).one()
        assert entry.entity_id == p0
        assert entry.after is not None
        assert entry.after["moved"] == moved
    assert await _count(db, OpenerResponse, meeting_id=m1) == 2  # the tally: b0 once, b4 once
    assert await _count(db, GroupMember, person_id=p0) == 2
    assert await _count(db, GroupMember, person_id=dup) == 0
    assert await access.person_for(db, dup_phone) == p0  # their phone keeps working, as p0

    # A merged record is no longer there to pick, change or merge again.
    found = await people_search.search(db, world.network, people_search.Query())
    assert dup not in [p["id"] for p in found["people"]]
    with pytest.raises(Conflict):
        await people_merge.merge(db, world.network, None, world.people[1], dup)
    with pytest.raises(Invalid):
        await people_merge.merge(db, world.network, None, p0, p0)


async def test_organization_merge_moves_people_and_spellings(
    db: Database, world: World, clock: Clock
) -> None:
    gov, ngo = world.orgs[0], world.orgs[1]
    await organizations.update_organization(
        db, world.network, None, ngo, "עמותה", "nonprofit", "עמותת הגשר\nהגשר"
    )
    p0, p1, p4 = world.people[0], world.people[1], world.people[4]  # עירייה, עמותה, עמותה
    m1 = await _meeting(db, world, clock, D1)
    for pid in (p0, p1, p4):
        await joining.join(db, m1, person_id=pid)
    await lifecycle.move(db, m1, world.staff, Stage.OPENER)
    await _to_commitments(db, world, m1)
    await _add(db, world, m1, "X", p1, "2026-03-09")
    await _add(db, world, m1, "Y", p0, "2026-04-20")
    await _add(db, world, m1, "Z", p4, "2026-04-20")
    await lifecycle.close(db, m1, world.staff)
    before = _by_name(
        await backbone.accountability(
            db, backbone.reach_of(world.network, 0, Role.BACKBONE), "organization", AS_OF
        )
    )
    assert (before["עירייה"]["made"], before["עמותה"]["made"], before["עמותה"]["overdue"]) == (
        1,
        2,
        1,
    )
    listed = {o["name"]: o for o in await organizations.list_organizations(db, world.network)}
    assert (listed["עמותה"]["people"], listed["עמותה"]["open_commitments"]) == (2, 2)

    moved = await organizations.merge(db, world.network, world.backbone.user_id, ngo, gov)
    assert moved == [p1, p4]
    after = _by_name(
        await backbone.accountability(
            db, backbone.reach_of(world.network, 0, Role.BACKBONE), "organization", AS_OF
        )
    )
    # X, Y and Z are all עירייה's now: made 3, overdue 1 (X, due 9.3), come due 1, none on time.
    assert list(after) == ["עירייה"]
    assert (
        after["עירייה"]["made"],
        after["עירייה"]["overdue"],
        after["עירייה"]["on_time_rate"],
    ) == (3, 1, 0.0)
    seen = (await backbone.attendance(db, backbone.reach_of(world.network, 0, Role.BACKBONE)))[
        "groups"
    ]
    meeting = next(g for g in seen if g["id"] == world.group)["meetings"][0]
    assert (meeting["attended"], meeting["organizations"], meeting["sectors"]) == (
        3,
        1,
        ["government"],
    )

    listed = {o["name"]: o for o in await organizations.list_organizations(db, world.network)}
    assert "עמותה" not in listed
    assert listed["עירייה"]["aliases"] == ["עמותה", "עמותת הגשר", "הגשר"]
    assert (listed["עירייה"]["people"], listed["עירייה"]["open_commitments"]) == (4, 3)
    async with db.read() as session:
        source = await session.get_one(Organization, ngo)
        assert source.merged_into_id == gov
        assert source.archived_at is not None
        entry = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "organization.merge")
            )
        ).one()
        assert entry.after is not None
        assert entry.after["moved_people"] == [p1, p4]
    # Its old names now find עירייה, so no other organization may take them.
    for taken in ("עמותה", "הַגֶּשֶׁר", "עמותת  הגשר"):
        with pytest.raises(Conflict):
            await organizations.add_organization(db, world.network, None, taken, None)
    with pytest.raises(Conflict):
        await organizations.update_organization(
            db, world.network, None, world.orgs[2], "ועד שכונה", None, "הגשר"
        )


async def test_people_search_sort_and_pages(db: Database, world: World, clock: Clock) -> None:
    for n in range(60):
        await network.add_person(db, world.network, f"שם {n:02d}", world.orgs[2])
    await network.add_person(db, world.network, "רות כ״ץ-לוי", world.orgs[0])
    await people.update_person(
        db, world.network, None, world.people[1], name="אדם 1", organization_id=world.orgs[1],
        email="Adam1@Example.org", phone="+972 50-123 4567", group_ids=[world.group],
    )  # fmt: skip
    # Any spelling: niqqud, ASCII quotes for gershayim, a maqaf for the hyphen.
    for typed in ('כ"ץ־לוי', "רוּת", "adam1@example"):
        found = await people_search.search(db, world.network, people_search.Query(q=typed))
        assert found["total"] == 1, typed
    by_org = await people_search.search(db, world.network, people_search.Query(q="ועד שכונה"))
    assert by_org["total"] == 62
    assert by_org["pages"] == 2
    assert len(by_org["people"]) == 50
    second = await people_search.search(
        db, world.network, people_search.Query(q="ועד שכונה", page=2)
    )
    assert len(second["people"]) == 12
    m1 = await _meeting(db, world, clock, D1)
    await joining.join(db, m1, person_id=world.people[3])
    await lifecycle.move(db, m1, world.staff, Stage.OPENER)
    await _to_commitments(db, world, m1)
    await _add(db, world, m1, "X", world.people[4], "2026-04-20")
    await _add(db, world, m1, "Y", world.people[4], "2026-04-21")
    await _add(db, world, m1, "Z", world.people[5], "2026-04-21")
    busiest = await people_search.search(db, world.network, people_search.Query(sort="commitments"))
    assert [p["id"] for p in busiest["people"][:2]] == [world.people[4], world.people[5]]
    assert busiest["people"][0]["open_commitments"] == 2
    recent = await people_search.search(db, world.network, people_search.Query(sort="attended"))
    assert recent["people"][0]["id"] == world.people[3]
    assert recent["people"][0]["last_attended"] == "2026-03-02"
    with pytest.raises(Invalid):
        await people.update_person(
            db, world.network, None, world.people[1], name="אדם 1", organization_id=world.orgs[1],
            email="not an address", phone=None, group_ids=[],
        )  # fmt: skip
    with pytest.raises(Invalid):
        people.clean_phone("050-CALL-ME")
    await people.set_archived(db, world.network, None, world.people[2], archived=True)
    assert world.people[2] not in [
        p["id"]
        for p in (await people_search.search(db, world.network, people_search.Query()))["people"]
    ]
    archived = await people_search.search(db, world.network, people_search.Query(archived=True))
    assert [p["id"] for p in archived["people"]] == [world.people[2]]


# ---- over HTTP ------------------------------------------------------------------------------


PAGES = [
    "/admin/organizations",
    "/admin/people",
    "/admin/import",
    "/admin/people.csv",
    "/admin/people/1",
]
APIS = ["/api/admin/organizations", "/api/admin/people"]


def test_backbone_only(site: Site) -> None:
    for path in PAGES:
        answer = site.client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={path}"
    for path in APIS:
        assert site.client.get(path).status_code == 401
    site.login("fac@example.org")
    for path in PAGES:
        assert site.client.get(path).status_code == 403, path
    for path in APIS:
        assert site.client.get(path).status_code == 403
    refused = site.client.post(
        f"/admin/people/{site.ids['ruth2']}/merge",
        data={"csrf": site.csrf(), "keep": str(site.ids["ruth"])},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    add = site.client.post("/admin/organizations", data={"csrf": site.csrf(), "name": "x"})
    assert add.status_code == 403


@pytest.mark.parametrize(("lang", "words"), [("he", "ארגונים"), ("en", "Organizations")])
def test_pages_in_both_languages_escape_what_people_typed(
    site: Site, lang: str, words: str
) -> None:
    site.login("bb@example.org")
    for path in (
        "/admin/organizations",
        "/admin/people",
        f"/admin/people/{site.ids['dan']}",
        "/admin/import",
    ):
        page = site.client.get(f"{path}?lang={lang}")
        assert page.status_code == 200, path
        assert f'lang="{lang}"' in page.text
        assert "<b>Levi</b>" not in page.text
    assert words in site.client.get("/admin/organizations").text
    people_page = site.client.get("/admin/people").text
    assert 'dir="auto">Dan &lt;b&gt;Levi&lt;/b&gt;</a>' in people_page


def test_edit_merge_and_api_over_http(site: Site) -> None:
    site.login("bb@example.org")
    ids = site.ids
    saved = site.client.post(
        f"/admin/people/{ids['ruth']}",
        data={"csrf": site.csrf(), "name": "רות כהן", "organization_id": str(ids["gov"]),
              "email": "ruth@example.org", "phone": "050-1234567", "groups": [str(ids["group"])]},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("notice=admin.saved")
    bad = site.client.post(
        f"/admin/people/{ids['ruth']}",
        data={
            "csrf": site.csrf(),
            "name": "רות כהן",
            "organization_id": str(ids["gov"]),
            "email": "nope",
        },
        follow_redirects=False,
    )
    assert bad.headers["location"].endswith("error=person.bad_email")
    assert "כתובת הדוא״ל אינה תקינה" in site.client.get(bad.headers["location"] + "&lang=he").text
    no_csrf = site.client.post(
        f"/admin/people/{ids['ruth']}/archive", data={}, follow_redirects=False
    )
    assert no_csrf.headers["location"].endswith("error=auth.csrf")

    person = site.client.get(f"/admin/people/{ids['ruth2']}").text
    assert f'<option value="{ids["ruth"]}">' in person  # the same name elsewhere is offered
    merged = site.client.post(
        f"/admin/people/{ids['ruth2']}/merge",
        data={"csrf": site.csrf(), "keep": str(ids["ruth"])},
        follow_redirects=False,
    )
    assert merged.headers["location"] == f"/admin/people/{ids['ruth']}?notice=admin.people.merged"
    api = site.client.get("/api/admin/people", params={"q": "רות"}).json()
    assert [p["id"] for p in api["people"]] == [ids["ruth"]]
    assert api["people"][0]["groups"] == [{"id": ids["group"], "name": "קבוצת עבודה"}]
    assert api["people"][0]["email"] == "ruth@example.org"

    renamed = site.client.post(
        f"/admin/organizations/{ids['ngo']}",
        data={
            "csrf": site.csrf(),
            "name": "עמותת גשר",
            "sector": "nonprofit",
            "aliases": "גשר\nעיריית  חיפה\u200f",
        },
        follow_redirects=False,
    )
    assert renamed.headers["location"].endswith("error=organization.spelling_taken")
    joined = site.client.post(
        f"/admin/organizations/{ids['ngo']}/merge",
        data={"csrf": site.csrf(), "into": str(ids["gov"])},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    orgs = site.client.get("/api/admin/organizations").json()["organizations"]
    assert [(o["name"], o["aliases"], o["people"]) for o in orgs] == [
        ("עיריית חיפה", ["עמותת גשר"], 2)
    ]
    spec = site.client.get("/api/openapi.json").json()
    assert {"/api/admin/organizations", "/api/admin/people"} <= set(spec["paths"])


def test_people_csv_is_safe_for_excel(site: Site) -> None:
    site.login("bb@example.org")
    site.client.post(
        f"/admin/organizations/{site.ids['ngo']}",
        data={"csrf": site.csrf(), "name": '=HYPERLINK("x")', "sector": "nonprofit", "aliases": ""},
    )
    answer = site.client.get("/admin/people.csv?lang=en")
    assert answer.headers["content-type"].startswith("text/csv")
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeffname,organization,sector,email,phone,groups\r\n")
    assert re.search(r"'=HYPERLINK", text)


async def test_merges_keep_an_organizations_spellings_within_their_cap(
    db: Database, world: World
) -> None:
    """Merging many spellings into one never leaves it over the cap (every later save of it
    would be refused); a spelling left out still finds it, through the merged organization."""
    kept = world.orgs[0]
    for n in range(organizations.MAX_ALIASES + 5):
        other = await organizations.add_organization(
            db, world.network, None, f"ארגון {n}", "other", [f"כינוי {n}"]
        )
        await organizations.merge(db, world.network, None, other, kept)
    async with db.read() as session:
        target = await session.get_one(Organization, kept)
        assert len(target.aliases or []) == organizations.MAX_ALIASES
        spellings = target.aliases
    await organizations.update_organization(
        db, world.network, None, kept, "עירייה", "government", spellings or []
    )
    async with db.write() as session:
        found = await identity.organizations_named(session, world.network, "כינוי 54")
    assert [o.id for o in found][:1] == [kept]
