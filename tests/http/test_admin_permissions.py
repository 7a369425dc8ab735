"""Every administration page and API, asked by everyone who must not get in: anonymous, a
phone's token, a facilitator of another group, a backbone of another network, a deactivated
user. Read from the app's own route table, so a new admin route is checked the day it lands
(and an id this table does not know fails the test until it is added).

A refused change must change nothing: the whole database is compared before and after.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update
from starlette.routing import Route
from starlette.testclient import TestClient

from facilitator.app import ROUTES, create_app
from facilitator.db import Database
from facilitator.db.models import Blocker, GroupMember, SharedValue, StaffUser
from facilitator.services import access, network, users
from facilitator.settings import Settings
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")

PASSWORD = "a long test password"
CSRF = "c" * 32
# The network the callers try to reach: its names must never show to them.
SECRET_ORG = "ארגון סודי"
SECRET_PERSON = "אדם סודי"
SECRET_GROUP = "קבוצה סודית"
# Paths the table below does not check, and why.
PUBLIC = ("/setup/", "/invite/", "/reset/")  # one-time links: tests/http/test_setup_and_staff.py


@dataclass
class Seeded:
    ids: dict[str, int]
    sessions: dict[str, str]  # caller -> session cookie
    phone_token: str


async def _seed(url: str) -> Seeded:
    db = Database(url)
    try:
        a = await network.create_network(db, "רשת א")
        b = await network.create_network(db, "רשת ב")
        org = await network.add_organization(db, a, SECRET_ORG, "nonprofit")
        person = await network.add_person(db, a, SECRET_PERSON, org)
        other_person = await network.add_person(db, a, "אדם אחר", org)
        group = await network.add_group(db, a, SECRET_GROUP, "working_group")
        own_group = await network.add_group(db, a, "הקבוצה של המנחה", "forum")
        strategy = await network.add_strategy(db, a, "אסטרטגיה", "יעד")
        value = (
            await network.add_value(db, a, network.ValueWords("שקיפות", ["מחליטים בחדר"]))
        ).value_id
        backbone = await users.create_user(db, a, "bb@a.org", PASSWORD, name="ש", role="backbone")
        target_fac = await users.create_user(db, a, "fac@a.org", PASSWORD, name="מ")
        await network.assign_staff(db, group, target_fac)
        other_fac = await users.create_user(db, a, "other@a.org", PASSWORD, name="אחר")
        await network.assign_staff(db, own_group, other_fac)
        gone = await users.create_user(db, a, "gone@a.org", PASSWORD, name="ע", role="backbone")
        stranger = await users.create_user(db, b, "bb@b.org", PASSWORD, name="ז", role="backbone")
        sessions = {
            "backbone": await access.start_session(db, backbone),
            "facilitator of another group": await access.start_session(db, other_fac),
            "backbone of another network": await access.start_session(db, stranger),
            "deactivated user": await access.start_session(db, gone),
        }
        async with db.write() as session:
            await session.execute(
                update(StaffUser).where(StaffUser.id == gone).values(active=False)
            )
            session.add(GroupMember(group_id=group, person_id=person, added_at=db.now()))
            blocker = await session.scalar(
                select(Blocker.id).where(Blocker.network_id == a).order_by(Blocker.id)
            )
            assert await session.get(SharedValue, value) is not None
        assert blocker is not None
        phone_token = await access.issue_participant_token(db, person)
        ids = {
            "user_id": target_fac,
            "staff_id": target_fac,
            "org_id": org,
            "person_id": other_person,
            "group_id": group,
            "strategy_id": strategy,
            "value_id": value,
            "blocker_id": blocker,
        }
        return Seeded(ids, sessions, phone_token)
    finally:
        await db.dispose()


@dataclass
class Site:
    client: TestClient
    seeded: Seeded
    db_file: Path

    def digest(self) -> str:
        """Every row of every table (but the sessions' last-seen times), hashed."""
        with sqlite3.connect(self.db_file) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
                if row[0] != "staff_sessions"
            ]
            content = hashlib.sha256()
            for table in tables:
                for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1"):
                    content.update(repr(row).encode())
        return content.hexdigest()

    def as_caller(self, caller: str) -> dict[str, str]:
        """Cookies and headers for one caller (the CSRF pair is always valid: a refusal must
        come from who they are, not from a missing token)."""
        self.client.cookies.clear()
        self.client.cookies.set("fac_csrf", CSRF)
        if caller == "phone":
            return {"authorization": f"Bearer {self.seeded.phone_token}"}
        if caller in self.seeded.sessions:
            self.client.cookies.set("fac_session", self.seeded.sessions[caller])
        return {}


@pytest.fixture(scope="module")
def site(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("admin-permissions")
    db_file = folder / "site.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    seeded = asyncio.run(_seed(url))
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=url)),
        base_url="http://testserver",
    ) as client:
        yield Site(client, seeded, db_file)


# A path parameter that is not an id: the value each route is tried with.
ACTIONS = {"/admin/organizations/": "archive", "/admin/people/": "archive"}


def _admin_routes() -> list[tuple[str, str]]:
    found = []
    for route in ROUTES:
        if not isinstance(route, Route):
            continue
        path = route.path
        if not path.startswith(("/admin", "/api/admin")) or path.startswith(PUBLIC):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, path))
    return found


def _fill(path: str, ids: dict[str, int]) -> str:
    def one(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if kind == "id":
            assert name in ids, f"{path}: no id for {{{name}}} in the permission table"
            return str(ids[name])
        prefix = next((p for p in ACTIONS if path.startswith(p)), None)
        assert prefix is not None, f"{path}: no value for {{{name}}} in the permission table"
        return ACTIONS[prefix]

    return re.sub(r"\{(\w+):(\w+)\}", one, path)


# What an allowed form would carry: the refusal must not be a complaint about the fields.
FORM = {
    "csrf": CSRF,
    "name": "שונה",
    "title": "שונה",
    "title_he": "שונה",
    "behaviours_he": "התנהגות",
    "label_he": "שונה",
    "label_en": "Changed",
    "kind": "working_group",
    "sector": "other",
    "email": "new@a.org",
    "role": "backbone",
    "language": "en",
    "timezone": "Europe/London",
    "meeting_minutes": "60",
    "target": "יעד",
    "purpose": "מטרה",
}

ADMIN_ROUTES = _admin_routes()
OUTSIDERS = (
    "anonymous",
    "phone",
    "facilitator of another group",
    "backbone of another network",
    "deactivated user",
)
# Pages a facilitator may open (scoped to their own groups): everything else is backbone only.
FACILITATOR_PAGES = ("/admin/groups", "/api/admin/groups")


def test_the_table_covers_the_administration() -> None:
    paths = {path for _method, path in ADMIN_ROUTES}
    for expected in (
        "/admin/network",
        "/admin/organizations",
        "/admin/people",
        "/admin/groups",
        "/admin/strategies",
        "/admin/blockers",
        "/admin/values",
        "/admin/staff",
        "/admin/audit",
        "/admin/import",
    ):
        assert expected in paths, expected
    # Each list page has its JSON twin.
    for twin in ("network", "organizations", "people", "groups", "strategies", "blockers"):
        assert f"/api/admin/{twin}" in paths, twin
    for twin in ("values", "staff", "audit"):
        assert f"/api/admin/{twin}" in paths, twin


@pytest.mark.parametrize("caller", OUTSIDERS)
def test_nobody_outside_reads_the_networks_administration(site: Site, caller: str) -> None:
    for method, template in ADMIN_ROUTES:
        if method != "GET":
            continue
        path = _fill(template, site.seeded.ids)
        headers = site.as_caller(caller)
        answer = site.client.get(path, headers=headers, follow_redirects=False)
        api = path.startswith("/api/")
        where = f"{caller} GET {path}"
        if caller in ("anonymous", "phone", "deactivated user"):
            if api:
                assert answer.status_code == 401, where
                assert answer.json()["error"]["message"], where
            else:
                assert answer.status_code == 303, where
                assert answer.headers["location"].startswith("/login"), where
            continue
        if template == "/admin":  # the landing address: each to their own first page
            landing = "/admin/groups" if caller.startswith("facilitator") else "/admin/network"
            assert (answer.status_code, answer.headers["location"]) == (303, landing), where
            continue
        if caller == "facilitator of another group" and not template.startswith(FACILITATOR_PAGES):
            assert answer.status_code == 403, where
            continue
        # Inside the app but outside this network (or group): nothing of it shows.
        assert answer.status_code in (200, 404), where
        for secret in (SECRET_ORG, SECRET_PERSON, SECRET_GROUP):
            assert secret not in answer.text, where


@pytest.mark.parametrize("caller", OUTSIDERS)
def test_nobody_outside_changes_the_network(site: Site, caller: str) -> None:
    for method, template in ADMIN_ROUTES:
        if method != "POST":
            continue
        if caller == "backbone of another network" and "{" not in template:
            continue  # no id in it: it acts on the caller's own network, rightly
        path = _fill(template, site.seeded.ids)
        before = site.digest()
        headers = site.as_caller(caller)
        answer = site.client.post(path, data=FORM, headers=headers, follow_redirects=False)
        where = f"{caller} POST {path}"
        assert answer.status_code in (303, 400, 401, 403, 404, 422), where
        if answer.status_code == 303:
            # Sent back: to sign in, or to its own page with the reason.
            location = answer.headers["location"]
            assert location.startswith("/login") or "error=" in location, where
        assert site.digest() == before, where


def test_the_backbone_of_the_network_can_change_it(site: Site) -> None:
    """The same forms, from the network's own backbone, do change it: the refusals above are
    about who asks."""
    ids = site.seeded.ids
    for path in (
        f"/admin/groups/{ids['group_id']}",
        f"/admin/blockers/{ids['blocker_id']}/retire",
        f"/admin/values/{ids['value_id']}",
        f"/admin/strategies/{ids['strategy_id']}",
    ):
        before = site.digest()
        headers = site.as_caller("backbone")
        answer = site.client.post(path, data=FORM, headers=headers, follow_redirects=False)
        assert answer.status_code == 303, (path, answer.text[:300])
        assert "error=" not in answer.headers["location"], (path, answer.headers["location"])
        assert site.digest() != before, path


def _new_meeting(site: Site, caller: str, group: int) -> str:
    site.as_caller(caller)
    return site.client.post(
        "/meetings",
        data={"csrf": CSRF, "group_id": str(group), "title": "פגישה", "scheduled_on": "2099-01-01"},
        follow_redirects=False,
    ).headers["location"]


def test_a_facilitator_reaches_no_meeting_of_a_group_they_do_not_look_after(site: Site) -> None:
    ids = site.seeded.ids
    made = _new_meeting(site, "backbone", ids["group_id"])
    meeting = int(made.split("/")[2])
    own = _new_meeting(site, "facilitator of another group", ids["group_id"])
    assert own.endswith("error=scope.not_yours"), own
    headers = site.as_caller("facilitator of another group")
    for page in ("console", "edit", "projector", "agenda", "summary"):
        answer = site.client.get(f"/m/{meeting}/{page}", headers=headers)
        assert answer.status_code == 404, page
        assert SECRET_GROUP not in answer.text, page
    for api in ("snapshot", "events", "names"):
        assert site.client.get(f"/api/m/{meeting}/{api}").status_code == 403, api
    sent = site.client.post(
        f"/api/m/{meeting}/commands",
        json={"type": "start_meeting", "id": "x1"},
        headers={"x-csrf-token": CSRF},
    )
    assert sent.status_code == 403
    # The home page offers only their own group; the backbone's pages count only it.
    home = site.client.get("/").text
    assert SECRET_GROUP not in home
    assert "הקבוצה של המנחה" in home
    assert SECRET_PERSON not in site.client.get("/backbone/attendance.csv").text
    # And the same facilitator runs a meeting of their own group.
    mine = _new_meeting(site, "facilitator of another group", ids["group_id"] + 1)
    assert "error" not in mine, mine
    site.as_caller("facilitator of another group")
    assert site.client.get(mine.replace("/edit", "/console")).status_code == 200


def test_a_refusal_says_what_it_is_about_and_a_bare_link_says_nothing(site: Site) -> None:
    """A refused form goes back to its page with its whole reason (the name, the limit); the
    same address opened from a link of someone else's shows no half-filled sentence."""
    site.as_caller("backbone")
    again = site.client.post(
        "/admin/organizations?lang=en", data={"csrf": CSRF, "name": SECRET_ORG, "sector": "other"}
    )
    assert again.status_code == 200
    assert "error=" in str(again.url)
    message = re.search(r'<p class="error" role="alert">(.*?)</p>', again.text, re.S)
    assert message is not None
    assert SECRET_ORG in message.group(1)
    assert "{" not in message.group(1)
    long = site.client.post(
        "/admin/organizations?lang=en", data={"csrf": CSRF, "name": "א" * 300, "sector": "other"}
    )
    shown = re.search(r'<p class="error" role="alert">(.*?)</p>', long.text, re.S)
    assert shown is not None
    assert "200" in shown.group(1)
    assert "{" not in shown.group(1)
    # The cookie that carried the details is spent: a reload shows no details, and no braces.
    bare = site.client.get(str(again.url))
    assert "{" not in bare.text.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_odd_digits_in_ids_are_a_clear_refusal_never_a_crash(site: Site) -> None:
    """ "²" and "٣" are digits to str.isdigit and not to int(); 19 digits overflow SQLite."""
    site.as_caller("backbone")
    made = _new_meeting(site, "backbone", site.seeded.ids["group_id"])
    meeting = int(made.split("/")[2])
    code = site.client.get(f"/api/m/{meeting}/snapshot").json()["meeting"]["join_code"]
    for after in ("²", "٣", "9" * 19):
        assert site.client.get(f"/api/m/{meeting}/events?after={after}").status_code == 422
    for organization in ("²", "٣", "9" * 19):
        answer = site.client.get(f"/api/join/{code}/roster?organization={organization}")
        assert answer.status_code == 422, organization
    for odd in ("9" * 19, "²"):
        invited = site.client.post(
            "/admin/staff/invite",
            data={
                "csrf": CSRF,
                "name": "מוזמנת",
                "email": f"odd{len(odd)}@a.org",
                "role": "facilitator",
                f"group_{odd}": "on",
            },
            follow_redirects=False,
        )
        assert invited.status_code in (200, 303), invited.text[:300]
        changed = site.client.post(
            f"/admin/staff/{site.seeded.ids['user_id']}",
            data={"csrf": CSRF, "role": "facilitator", f"group_{odd}": "on"},
            follow_redirects=False,
        )
        assert changed.status_code in (200, 303), changed.text[:300]


def test_an_archived_strategy_is_offered_only_where_it_is_already_linked(site: Site) -> None:
    ids = site.seeded.ids
    site.as_caller("backbone")
    made = _new_meeting(site, "backbone", ids["group_id"])
    meeting = int(made.split("/")[2])
    linked = site.client.post(
        f"/m/{meeting}/agenda",
        data={
            "csrf": CSRF,
            "title": "סעיף",
            "minutes": "10",
            "kind": "discussion",
            "strategy_id": str(ids["strategy_id"]),
        },
        follow_redirects=False,
    )
    assert "error" not in linked.headers["location"]
    archived = site.client.post(
        f"/admin/strategies/{ids['strategy_id']}/archive",
        data={"csrf": CSRF},
        follow_redirects=False,
    )
    assert "error" not in archived.headers["location"]
    page = site.client.get(f"/m/{meeting}/edit").text
    selects = re.findall(r'<select name="strategy_id">(.*?)</select>', page, re.S)
    assert len(selects) == 2  # the item's own, and the form that adds one
    option = f'<option value="{ids["strategy_id"]}"'
    assert option in selects[0]  # re-saving the item keeps its link
    assert re.search(option + r' dir="auto" selected', selects[0])
    assert option not in selects[1]  # not offered for a new item
    # The reports still filter past work by it.
    assert option in site.client.get("/backbone").text
    snapshot = site.client.get(f"/api/m/{meeting}/snapshot").json()
    [strategy] = [s for s in snapshot["strategies"] if s["id"] == ids["strategy_id"]]
    assert strategy["archived"] is True
    # The server says the same: a new link is refused, the old one is kept on a re-save.
    item = snapshot["agenda"][0]["id"]
    fields = {"csrf": CSRF, "minutes": "10", "kind": "discussion"}
    fields["strategy_id"] = str(ids["strategy_id"])
    new = site.client.post(
        f"/m/{meeting}/agenda", data={**fields, "title": "חדש"}, follow_redirects=False
    )
    assert new.headers["location"].endswith("error=strategy.archived")
    kept = site.client.post(
        f"/m/{meeting}/agenda/{item}", data={**fields, "title": "שם אחר"}, follow_redirects=False
    )
    assert "error" not in kept.headers["location"]


def test_names_that_look_like_dates_are_shown_as_typed_and_never_crash(site: Site) -> None:
    site.as_caller("backbone")
    for name in ("2026-99-99", "2026-12-01"):
        for _ in range(2):
            answer = site.client.post(
                "/admin/organizations?lang=en",
                data={"csrf": CSRF, "name": name, "sector": "other"},
            )
            assert answer.status_code == 200, answer.text[:300]
        message = re.search(r'<p class="error" role="alert">(.*?)</p>', answer.text, re.S)
        assert message is not None
        assert name in message.group(1)
        assert "December" not in message.group(1)
    made = _new_meeting(site, "backbone", site.seeded.ids["group_id"])
    meeting = int(made.split("/")[2])
    code = site.client.get(f"/api/m/{meeting}/snapshot").json()["meeting"]["join_code"]
    site.client.cookies.clear()
    arrivals = [
        site.client.post(
            "/api/join", json={"code": code, "name": "2026-99-99", "organization": "תאריכים"}
        )
        for _ in range(2)
    ]
    assert arrivals[0].status_code == 200, arrivals[0].text
    assert arrivals[1].status_code == 409, arrivals[1].text
    assert "2026-99-99" in arrivals[1].json()["error"]["message"]


def test_an_unknown_address_is_a_page_in_the_persons_language(site: Site) -> None:
    site.as_caller("anonymous")
    for lang, words in (("he", "לא נמצא"), ("en", "Not found")):
        answer = site.client.get(f"/no/such/page?lang={lang}")
        assert answer.status_code == 404
        assert f'<html lang="{lang}"' in answer.text
        assert words in answer.text
        assert 'href="/"' in answer.text
    api = site.client.get("/api/no/such/thing")
    assert api.status_code == 404
    assert api.json()["error"]["key"] == "page.not_found"


def test_a_refusal_cookie_of_someone_elses_puts_no_words_on_the_page(site: Site) -> None:
    site.as_caller("backbone")
    forged = base64.urlsafe_b64encode(
        json.dumps(
            {
                "key": "organization.spelling_taken",
                "params": {"name": "call +1 555 0100"},
                "page": "/admin/organizations",
            }
        ).encode()
    ).decode()
    for cookie in (forged, f"{forged}.{'0' * 32}"):
        site.client.cookies.set("fac_refusal", cookie)
        page = site.client.get("/admin/organizations?lang=en&error=organization.spelling_taken")
        shown = re.search(r'<p class="error" role="alert">(.*?)</p>', page.text, re.S)
        assert shown is not None
        assert "555" not in shown.group(1)
        assert "…" in shown.group(1)  # the sentence, with its details missing, not made up
    # A real refusal's details belong to its own page only.
    site.client.cookies.delete("fac_refusal")
    site.client.post(
        "/admin/organizations?lang=en",
        data={"csrf": CSRF, "name": SECRET_ORG, "sector": "other"},
        follow_redirects=False,
    )
    other = site.client.get(
        f"/admin/organizations/{site.seeded.ids['org_id']}?lang=en&error=organization.spelling_taken"
    )
    shown = re.search(r'<p class="error" role="alert">(.*?)</p>', other.text, re.S)
    assert shown is not None
    assert SECRET_ORG not in shown.group(1)


def test_a_refused_form_comes_back_with_what_was_typed(site: Site) -> None:
    site.as_caller("backbone")
    added = site.client.post(
        "/admin/organizations",
        data={"csrf": CSRF, "name": SECRET_ORG, "sector": "business", "aliases": "כתיב שלי"},
    )
    add_form = added.text.split('action="/admin/organizations" class="card stack admin-add"')[1]
    assert f'value="{SECRET_ORG}"' in add_form
    assert "כתיב שלי</textarea>" in add_form
    assert '<option value="business" selected>' in add_form
    long_title = "כותרת ארוכה " * 20  # over 200 characters: refused
    home = site.client.post(
        "/meetings",
        data={
            "csrf": CSRF,
            "group_id": str(site.seeded.ids["group_id"]),
            "title": long_title,
            "scheduled_on": "2099-01-01",
            "place": "אולם העירייה",
        },
    )
    assert 'value="אולם העירייה"' in home.text
    assert 'value="2099-01-01"' in home.text
    made = _new_meeting(site, "backbone", site.seeded.ids["group_id"])
    meeting = int(made.split("/")[2])
    page = site.client.post(
        f"/m/{meeting}/agenda",
        data={"csrf": CSRF, "form": "add-item", "title": "סעיף", "minutes": "9999",
              "kind": "discussion", "presenter": "רחל"},
    )  # fmt: skip
    adding = page.text.split(f'action="/m/{meeting}/agenda" class="row-form"')[1]
    assert 'value="סעיף"' in adding
    assert 'value="9999"' in adding
    assert 'value="רחל"' in adding
    # The meeting's own form keeps what it had: the typed text was another form's.
    own = page.text.split(f'action="/m/{meeting}/edit"')[1].split("</form>")[0]
    assert 'value="סעיף"' not in own


def test_a_person_the_sheet_left_out_is_added_by_hand(site: Site) -> None:
    site.as_caller("backbone")
    form = {
        "csrf": CSRF,
        "name": "מיכל חדשה",
        "organization_id": str(site.seeded.ids["org_id"]),
        "email": "michal@example.org",
        "groups": str(site.seeded.ids["group_id"]),
    }
    made = site.client.post("/admin/people", data=form, follow_redirects=False)
    assert made.status_code == 303
    assert "notice=admin.people.added" in made.headers["location"]
    page = site.client.get(made.headers["location"]).text
    assert 'value="מיכל חדשה"' in page
    assert f'value="{site.seeded.ids["group_id"]}" checked' in page
    again = site.client.post("/admin/people?lang=en", data={**form, "name": "מיכל  חדשה"})
    message = re.search(r'<p class="error" role="alert">(.*?)</p>', again.text, re.S)
    assert message is not None
    assert "כבר יש אדם בשם" in message.group(1)
    assert 'value="מיכל  חדשה"' in again.text  # what was typed comes back


def test_adding_to_a_roster_comes_back_to_the_same_search(site: Site) -> None:
    site.as_caller("backbone")
    group = site.seeded.ids["group_id"]
    added = site.client.post(
        f"/admin/groups/{group}/members",
        data={"csrf": CSRF, "person_id": str(site.seeded.ids["person_id"]), "q": "אדם"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert added.headers["location"].startswith(f"/admin/groups/{group}?q=")
    page = site.client.get(added.headers["location"]).text
    assert 'name="q" value="אדם"' in page


def test_a_refusal_made_by_one_process_is_read_whole_by_another(site: Site) -> None:
    """Behind a load balancer the redirect after a refused form may reach another process:
    the key that signs the refusal is the installation's (kept in its database), not the
    process's own."""
    site.as_caller("backbone")
    refused = site.client.post(
        "/admin/organizations?lang=en",
        data={"csrf": CSRF, "name": SECRET_ORG, "sector": "other"},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    with TestClient(
        create_app(
            Settings(
                allowed_hosts=("testserver",), database_url=f"sqlite+aiosqlite:///{site.db_file}"
            )
        ),
        base_url="http://testserver",
        cookies=dict(site.client.cookies),
    ) as other_process:
        page = other_process.get(refused.headers["location"])
    shown = re.search(r'<p class="error" role="alert">(.*?)</p>', page.text, re.S)
    assert shown is not None
    assert SECRET_ORG in shown.group(1)
