"""A network from nothing (the set-up link, ``facilitator init``), its settings, and its staff:
invitations, resets, roles, deactivation and the last-backbone guard — through the services, the
pages in-process, the real command line and a real uvicorn server."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.db import Database
from facilitator.db.models import AuditEntry, Blocker, Network, SharedValue, StaffLink, StaffUser
from facilitator.errors import Conflict, NotFound
from facilitator.flow import Role
from facilitator.services import (
    access,
    lifecycle,
    network,
    network_settings,
    setup,
    staff,
    staff_links,
    users,
)
from facilitator.services.actors import Actor
from facilitator.services.staff_links import FieldError, LinkGone
from facilitator.settings import Settings
from tests.support.live_server import (
    BIN,
    Server,
    close_all_clients,
    cookie_header,
    free_port,
    local_today,
    new_meeting,
    open_client,
    staff_client,
    start_server,
)
from tests.support.setup_forms import BACKBONE, PASSWORD, form
from tests.support.world import POSTGRES, Clock

T = TypeVar("T")


def run(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """One service call on its own connection, from a synchronous test."""

    async def go() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def csrf(client: TestClient) -> str:
    token = client.cookies.get("fac_csrf")
    if not token:
        client.get("/login")
        token = client.cookies.get("fac_csrf")
    return str(token)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    answer = client.post(
        "/login",
        data={"csrf": csrf(client), "email": email, "password": password},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def post(client: TestClient, path: str, **data: str) -> httpx.Response:
    return client.post(path, data={"csrf": csrf(client), **data}, follow_redirects=False)


# --- services ---------------------------------------------------------------------------------


async def test_create_network_writes_everything_in_one_go(db: Database) -> None:
    kept = [key for key, _he, _en in network.SEED_BLOCKERS if key != "big_egos"]
    values = [setup.ValueInput(s.title_he, list(s.behaviours_he)) for s in setup.STARTER_VALUES[:2]]
    values.append(setup.ValueInput("סקרנות", ["שואלים לפני שמניחים"]))
    values.append(setup.ValueInput("", []))  # an empty slot is skipped
    nid, uid = await setup.create_network(
        db, form(blockers=kept, values=values, meeting_minutes="120")
    )
    async with db.read() as session:
        made = await session.get(Network, nid)
        blockers = list(await session.scalars(select(Blocker).order_by(Blocker.position)))
        stored = list(await session.scalars(select(SharedValue).order_by(SharedValue.position)))
        user = await session.get(StaffUser, uid)
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert made is not None
    assert user is not None
    assert (made.name, made.default_language, made.timezone, made.meeting_minutes) == (
        "רשת חדשה",
        "he",
        "Asia/Jerusalem",
        120,
    )
    assert len(blockers) == 9
    assert [b.key for b in blockers if not b.active] == ["big_egos"]
    # An unchanged starter keeps both languages; a value of one's own is in the form's language.
    assert [(v.title_he, v.title_en) for v in stored] == [
        ("שקיפות", "Transparency"),
        ("אחריותיות", "Accountability"),
        ("סקרנות", None),
    ]
    assert (user.role, user.email, user.active) == ("backbone", BACKBONE, True)
    assert await users.authenticate(db, BACKBONE, PASSWORD) == uid
    assert [e.action for e in entries] == [
        "network.create",
        "staff.create",
        "value.create",
        "value.create",
        "value.create",
    ]
    assert all(e.user_id == uid and e.network_id == nid for e in entries)
    assert entries[0].after is not None
    assert entries[0].after["retired_blockers"] == ["big_egos"]
    assert PASSWORD not in str([e.after for e in entries])

    # A second network is refused, and so is a set-up link now.
    with pytest.raises(Conflict) as again:
        await setup.create_network(db, form(admin_email="other@example.org"))
    assert again.value.key == "setup.exists"
    assert await setup.new_setup_link(db) is None


async def test_default_setup_has_all_blockers_and_the_starter_values(db: Database) -> None:
    await setup.create_network(db, form(language="en", timezone="Europe/London"))
    async with db.read() as session:
        blockers = list(await session.scalars(select(Blocker)))
        values = list(await session.scalars(select(SharedValue)))
    assert len(blockers) == 9
    assert all(b.active for b in blockers)
    assert len(values) == len(setup.STARTER_VALUES)
    assert all(v.title_he and v.title_en and v.behaviours_he for v in values)


@pytest.mark.parametrize(
    ("changes", "field", "key"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "network.bad_timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone", "network.bad_timezone"),
        ({"language": "fr"}, "language", "input.bad_language"),
        ({"meeting_minutes": "5"}, "meeting_minutes", "input.out_of_range"),
        ({"meeting_minutes": "lots"}, "meeting_minutes", "input.out_of_range"),
        ({"name": "  "}, "network_name", "input.empty"),
        ({"admin_email": "not an email"}, "email", "user.bad_email"),
        ({"password": "short"}, "password", "user.password_length"),
        ({"password_again": "something else"}, "password_again", "staff.passwords_differ"),
        (
            {"values": [setup.ValueInput("כותרת", [])]},
            "value_0",
            "value.behaviours_required",
        ),
    ],
)
async def test_a_wrong_field_is_named(
    db: Database, changes: dict[str, Any], field: str, key: str
) -> None:
    with pytest.raises(FieldError) as refused:
        await setup.create_network(db, form(**changes))
    assert (refused.value.field, refused.value.key) == (field, key)
    assert not await setup.has_network(db)


async def test_setup_link_expires_after_a_day_and_a_new_one_voids_the_old(
    db: Database, clock: Clock
) -> None:
    first = await setup.new_setup_link(db)
    second = await setup.new_setup_link(db)
    assert first
    assert second
    with pytest.raises(LinkGone) as voided:
        await setup.check_setup_link(db, first)
    assert voided.value.status == 410
    await setup.check_setup_link(db, second)
    clock.now += timedelta(hours=24, seconds=1)
    with pytest.raises(LinkGone) as expired:
        await setup.check_setup_link(db, second)
    assert expired.value.key == "link.expired"
    with pytest.raises(LinkGone):
        await setup.create_network(db, form(), setup_token=second)
    assert not await setup.has_network(db)
    with pytest.raises(NotFound):
        await setup.check_setup_link(db, "no-such-token")
    async with db.read() as session:
        hashes = list(await session.scalars(select(StaffLink.token_hash)))
    assert first not in hashes
    assert access.digest(first) in hashes


async def test_an_invited_user_has_no_password_until_the_link_is_used(db: Database) -> None:
    nid, bb = await setup.create_network(db, form())
    uid, token = await staff.invite(
        db, nid, bb, name="מנחה חדשה", email="New@Example.org", role="facilitator"
    )
    # The unusable marker is refused like a wrong password, without an exception.
    assert await users.authenticate(db, "new@example.org", "!") is None
    assert await users.authenticate(db, "new@example.org", "") is None
    with pytest.raises(FieldError) as taken:
        await staff.invite(db, nid, bb, name="x", email="new@example.org", role="facilitator")
    assert (taken.value.field, taken.value.key) == ("email", "user.email_taken")
    assert await staff_links.accept_invite(db, token, name="מנחה", password=PASSWORD) == uid
    assert await users.authenticate(db, "new@example.org", PASSWORD) == uid
    with pytest.raises(LinkGone) as used:
        await staff_links.accept_invite(db, token, name="מנחה", password=PASSWORD)
    assert used.value.key == "link.used"


async def test_the_last_active_backbone_stays(db: Database) -> None:
    nid, bb = await setup.create_network(db, form())
    for attempt in (
        staff.set_active(db, nid, bb, bb, active=False),
        staff.update_staff(db, nid, bb, bb, role="facilitator", group_ids=[]),
    ):
        with pytest.raises(Conflict) as refused:
            await attempt
        assert refused.value.key == "staff.last_backbone"
    second, _token = await staff.invite(
        db, nid, bb, name="ב", email="b@example.org", role="backbone"
    )
    # An invited backbone counts once active; the first may now step down.
    await staff.update_staff(db, nid, bb, bb, role="facilitator", group_ids=[])
    with pytest.raises(Conflict):
        await staff.set_active(db, nid, second, second, active=False)
    async with db.read() as session:
        entries = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.update"))
        )
    assert len(entries) == 1
    assert entries[0].before == {
        "name": "יו״ר השדרה", "email": BACKBONE, "role": "backbone", "active": True, "groups": [],
    }  # fmt: skip
    assert entries[0].after is not None
    assert entries[0].after["role"] == "facilitator"


async def test_staff_of_another_network_are_out_of_reach(db: Database) -> None:
    nid, bb = await setup.create_network(db, form())
    other = await network.create_network(db, "רשת אחרת")
    stranger = await users.create_user(db, other, "x@example.org", PASSWORD, name="x")
    stranger_group = await network.add_group(db, other, "קבוצה זרה", "forum")
    with pytest.raises(NotFound):
        await staff.set_active(db, nid, bb, stranger, active=False)
    with pytest.raises(NotFound):
        await staff.reset_link(db, nid, bb, stranger)
    with pytest.raises(FieldError) as foreign:
        await staff.invite(
            db, nid, bb, name="y", email="y@example.org", role="facilitator",
            group_ids=[stranger_group],
        )  # fmt: skip
    assert foreign.value.field == "groups"


# --- pages ------------------------------------------------------------------------------------

pages = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")


@pytest.fixture
def empty_site(migrated_template: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    db_file = tmp_path / "empty.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=url)),
        base_url="http://testserver",
    ) as client:
        yield client, url


@pages
def test_the_setup_page_creates_the_network_and_signs_in(
    empty_site: tuple[TestClient, str],
) -> None:
    client, url = empty_site
    token = run(url, setup.new_setup_link)
    assert token
    assert client.get("/setup/not-a-token").status_code == 404

    page = client.get(f"/setup/{token}")
    assert page.status_code == 200
    assert 'dir="rtl"' in page.text
    assert "הקמת הרשת" in page.text
    for field in ("network_name", "timezone", "meeting_minutes", "blocker_big_egos", "email"):
        assert f'name="{field}"' in page.text
    assert "Asia/Jerusalem" in page.text
    assert "שקיפות" in page.text
    english = client.get(f"/setup/{token}?lang=en")
    assert 'dir="ltr"' in english.text
    assert "Set up your network" in english.text
    assert "Transparency" in english.text
    client.get(f"/setup/{token}?lang=he")

    fields = {
        "network_name": "רשת <b>חדשה</b>",
        "language": "he",
        "timezone": "Asia/Jerusalem",
        "timezone_other": "",
        "meeting_minutes": "75",
        "values_language": "he",
        "value_title_0": "שקיפות",
        "value_behaviours_0": "מחליטים בחדר",
        "value_title_1": "",
        "value_behaviours_1": "",
        "name": "דנה",
        "email": "dana@example.org",
        "password": PASSWORD,
        "password_again": "not the same password",
        **{f"blocker_{key}": "1" for key, _he, _en in network.SEED_BLOCKERS[:-1]},
    }
    wrong = post(client, f"/setup/{token}", **fields)
    assert wrong.status_code == 422
    assert "שתי הסיסמאות אינן זהות" in wrong.text
    assert 'value="dana@example.org"' in wrong.text  # what was typed is kept ...
    assert "רשת &lt;b&gt;חדשה&lt;/b&gt;" in wrong.text  # ... escaped
    assert PASSWORD not in wrong.text  # ... but never a password
    assert 'name="blocker_little_follow_through" value="1" >' in wrong.text  # still unticked

    done = post(client, f"/setup/{token}", **{**fields, "password_again": PASSWORD})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/?welcome=1"
    assert "fac_session" in done.headers["set-cookie"]
    assert "httponly" in done.headers["set-cookie"].lower()
    home = client.get("/?welcome=1")
    assert home.status_code == 200
    assert "רשת &lt;b&gt;חדשה&lt;/b&gt;" in home.text
    assert "הרשת הוקמה" in home.text

    # The link is spent: the page and the form both say so, in the user's language.
    again = client.get(f"/setup/{token}?lang=en")
    assert again.status_code == 410
    assert "This link does not work" in again.text
    assert post(client, f"/setup/{token}", **fields).status_code == 410

    async def check(db: Database) -> tuple[Any, ...]:
        async with db.read() as session:
            made = await session.scalar(select(Network))
            retired = list(
                await session.scalars(select(Blocker.key).where(Blocker.active.is_(False)))
            )
            link = await session.scalar(select(StaffLink))
            values = list(await session.scalars(select(SharedValue)))
        assert made is not None
        assert link is not None
        return made.meeting_minutes, retired, link.used_at is not None, len(values)

    assert run(url, check) == (75, ["little_follow_through"], True, 1)


@pages
def test_a_setup_link_is_refused_once_a_network_exists(
    empty_site: tuple[TestClient, str],
) -> None:
    client, url = empty_site
    token = run(url, setup.new_setup_link)
    assert token
    run(url, lambda db: setup.create_network(db, form()))
    page = client.get(f"/setup/{token}")
    assert page.status_code == 410
    assert "הרשת כבר הוקמה" in page.text


# A network with a backbone, a facilitator of one group, and a meeting waiting in its lobby.
class Site:
    def __init__(self, client: TestClient, url: str, ids: dict[str, int]) -> None:
        self.client, self.url, self.ids = client, url, ids


async def _seed(db: Database) -> dict[str, int]:
    nid, bb = await setup.create_network(db, form())
    group = await network.add_group(db, nid, "קבוצת עבודה", "working_group")
    other = await network.add_group(db, nid, "פורום", "forum")
    fac = await users.create_user(db, nid, "fac@example.org", PASSWORD, name="מנחה")
    await network.assign_staff(db, group, fac)
    made = await lifecycle.create_meeting(
        db, Actor.staff(bb, Role.BACKBONE), group, "ראשונה", local_today()
    )
    return {
        "network": nid, "backbone": bb, "facilitator": fac, "group": group, "other": other,
        "meeting": made.event.meeting_id,
    }  # fmt: skip


@pytest.fixture
def site(empty_site: tuple[TestClient, str]) -> Site:
    client, url = empty_site
    return Site(client, url, run(url, _seed))


@pages
def test_only_backbone_staff_reach_network_and_staff(site: Site) -> None:
    client = site.client
    for path in ("/admin/network", "/admin/staff"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={path}"
    for path in ("/api/admin/network", "/api/admin/staff"):
        assert client.get(path).status_code == 401
    sign_in(client, "fac@example.org")
    for path in ("/admin/network", "/admin/staff", "/api/admin/network", "/api/admin/staff"):
        assert client.get(path).status_code == 403, path
    for path in (
        "/admin/network",
        "/admin/staff/invite",
        f"/admin/staff/{site.ids['facilitator']}",
        f"/admin/staff/{site.ids['backbone']}/deactivate",
        f"/admin/staff/{site.ids['backbone']}/reset",
    ):
        assert post(client, path, network_name="x", role="backbone").status_code == 403, path


@pages
def test_network_settings_change_with_the_audit_and_the_join_link(site: Site) -> None:
    client = site.client
    sign_in(client, BACKBONE)
    page = client.get("/admin/network?lang=en")
    assert page.status_code == 200
    assert 'value="Asia/Jerusalem"' in page.text
    settings = {
        "network_name": "רשת מחודשת",
        "language": "en",
        "timezone": "Europe/London",
        "meeting_minutes": "60",
        "public_url": "javascript:alert(1)",
        "reminder_days": "5",
    }
    bad = post(client, "/admin/network", **settings)
    assert bad.status_code == 422
    assert "must start with http:// or https://" in bad.text
    assert 'value="רשת מחודשת"' in bad.text
    saved = post(
        client, "/admin/network", **{**settings, "public_url": "https://meet.example.org/"}
    )
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("notice=network.saved")
    assert client.get(saved.headers["location"]).status_code == 200
    assert client.get("/api/admin/network").json() == {
        "id": site.ids["network"],
        "name": "רשת מחודשת",
        "default_language": "en",
        "timezone": "Europe/London",
        "meeting_minutes": 60,
        "public_url": "https://meet.example.org",
        "reminder_days": 5,
    }
    # Phones are sent to the network's public address (the server sets none here).
    wall = client.get(f"/m/{site.ids['meeting']}/projector")
    assert "https://meet.example.org/j/" in wall.text

    async def entries(db: Database) -> list[AuditEntry]:
        async with db.read() as session:
            return list(
                await session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "network.update")
                )
            )

    [entry] = run(site.url, entries)
    assert entry.user_id == site.ids["backbone"]
    assert entry.before is not None
    assert entry.before["timezone"] == "Asia/Jerusalem"
    assert entry.after is not None
    assert entry.after["public_url"] == "https://meet.example.org"
    assert set(entry.after) == set(network_settings.SETTINGS)
    # Nothing changed, nothing logged.
    post(client, "/admin/network", **{**settings, "public_url": "https://meet.example.org"})
    assert len(run(site.url, entries)) == 1


@pages
def test_the_networks_address_comes_before_this_machines_lan_address(
    migrated_template: str, tmp_path: Path
) -> None:
    """``serve`` on every interface finds its LAN address; the address the network set on
    /admin/network still wins (it used to be hidden by the LAN address)."""
    db_file = tmp_path / "lan.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    ids = run(url, _seed)
    lan = Settings(database_url=url, lan_url="http://192.168.1.20:8000")
    with TestClient(create_app(lan), base_url="http://testserver") as client:
        sign_in(client, BACKBONE)
        wall = client.get(f"/m/{ids['meeting']}/projector")
        assert "http://192.168.1.20:8000/j/" in wall.text
        page = client.get("/admin/network?lang=en")
        assert "only if that server setting is removed" not in page.text
        assert "address on the local network" in page.text
        now = client.get("/api/admin/network").json()
        saved = post(
            client, "/admin/network", network_name=now["name"], language=now["default_language"],
            timezone=now["timezone"], meeting_minutes=str(now["meeting_minutes"]),
            public_url="https://meet.example.org", reminder_days=str(now["reminder_days"]),
        )  # fmt: skip
        assert saved.status_code == 303, saved.text[:500]
        wall = client.get(f"/m/{ids['meeting']}/projector")
        assert "https://meet.example.org/j/" in wall.text
        assert "192.168.1.20" not in wall.text


@pages
def test_invite_then_set_a_password_then_signed_in_once(site: Site, tmp_path: Path) -> None:
    backbone = site.client
    sign_in(backbone, BACKBONE)
    made = post(
        backbone, "/admin/staff/invite",
        name="נועה", email="noa@example.org", role="facilitator", **{f"group_{site.ids['other']}": "1"},
    )  # fmt: skip
    assert made.status_code == 200
    link = re.search(r'value="(http://testserver/invite/[^"]+)"', made.text)
    assert link is not None, made.text
    listed = backbone.get("/api/admin/staff").json()["staff"]
    [noa] = [p for p in listed if p["email"] == "noa@example.org"]
    assert (noa["invited"], noa["invite_open"], noa["role"]) == (True, True, "facilitator")
    assert [g["id"] for g in noa["groups"]] == [site.ids["other"]]
    # The token is shown once: the list and the page afterwards never show it again.
    token = link.group(1).rsplit("/", 1)[1]
    assert token not in backbone.get("/admin/staff").text
    duplicate = post(
        backbone, "/admin/staff/invite", name="x", email="NOA@example.org", role="facilitator"
    )
    assert duplicate.status_code == 409
    assert "כבר קיים משתמש" in duplicate.text

    with TestClient(backbone.app, base_url="http://testserver") as invitee:
        page = invitee.get(f"/invite/{token}?lang=en")
        assert page.status_code == 200
        assert "noa@example.org" in page.text
        short = post(
            invitee, f"/invite/{token}", name="נועה לוי", password="short", password_again="short"
        )
        assert short.status_code == 422
        assert "10 to 256" in short.text
        assert 'value="נועה לוי"' in short.text
        joined = post(
            invitee, f"/invite/{token}", name="נועה לוי", password=PASSWORD, password_again=PASSWORD
        )
        assert joined.status_code == 303
        assert joined.headers["location"] == "/"
        assert invitee.get("/").status_code == 200
        me = invitee.get("/api/admin/staff")
        assert me.status_code == 403  # a facilitator, as invited
        again = invitee.get(f"/invite/{token}")
        assert again.status_code == 410
        assert "has been used already" in again.text
    [noa] = [p for p in backbone.get("/api/admin/staff").json()["staff"] if p["id"] == noa["id"]]
    assert (noa["name"], noa["invited"], noa["invite_open"]) == ("נועה לוי", False, False)


@pages
def test_a_reset_link_signs_out_every_other_browser(site: Site) -> None:
    backbone = site.client
    sign_in(backbone, BACKBONE)
    fac = site.ids["facilitator"]
    with (
        TestClient(backbone.app, base_url="http://testserver") as old_browser,
        TestClient(backbone.app, base_url="http://testserver") as new_browser,
    ):
        sign_in(old_browser, "fac@example.org")
        assert old_browser.get("/", follow_redirects=False).status_code == 200
        made = post(backbone, f"/admin/staff/{fac}/reset")
        assert made.status_code == 200
        found = re.search(r'value="http://testserver/reset/([^"]+)"', made.text)
        assert found is not None
        token = found.group(1)
        differ = post(
            new_browser, f"/reset/{token}", password=PASSWORD + "!", password_again="x" * 12
        )
        assert differ.status_code == 422
        done = post(
            new_browser,
            f"/reset/{token}",
            password="a brand new password",
            password_again="a brand new password",
        )
        assert done.status_code == 303
        assert new_browser.get("/", follow_redirects=False).status_code == 200
        assert old_browser.get("/", follow_redirects=False).status_code == 303  # signed out
        assert (
            post(
                new_browser, f"/reset/{token}", password="x" * 12, password_again="x" * 12
            ).status_code
            == 410
        )
    assert run(site.url, lambda db: users.authenticate(db, "fac@example.org", PASSWORD)) is None
    assert (
        run(site.url, lambda db: users.authenticate(db, "fac@example.org", "a brand new password"))
        == fac
    )


@pages
def test_roles_groups_deactivation_and_the_guard_through_the_pages(site: Site) -> None:
    client = site.client
    sign_in(client, BACKBONE)
    fac, bb = site.ids["facilitator"], site.ids["backbone"]
    page = client.get("/admin/staff")
    assert page.status_code == 200
    assert "fac@example.org" in page.text
    assert "מנחה" in page.text
    moved = post(
        client, f"/admin/staff/{fac}", role="facilitator", **{f"group_{site.ids['other']}": "1"}
    )
    assert moved.status_code == 303
    assert moved.headers["location"].endswith("notice=staff.saved")
    [row] = [p for p in client.get("/api/admin/staff").json()["staff"] if p["id"] == fac]
    assert [g["id"] for g in row["groups"]] == [site.ids["other"]]

    # The only backbone cannot step down or switch themself off.
    for path, data in (
        (f"/admin/staff/{bb}", {"role": "facilitator"}),
        (f"/admin/staff/{bb}/deactivate", {}),
    ):
        refused = post(client, path, **data)
        assert refused.headers["location"] == "/admin/staff?error=staff.last_backbone"
    assert "החשבון הפעיל האחרון" in client.get("/admin/staff?error=staff.last_backbone").text

    with TestClient(client.app, base_url="http://testserver") as facilitator:
        sign_in(facilitator, "fac@example.org")
        off = post(client, f"/admin/staff/{fac}/deactivate")
        assert off.headers["location"].endswith("notice=staff.deactivated")
        assert facilitator.get("/", follow_redirects=False).status_code == 303
        assert run(site.url, lambda db: users.authenticate(db, "fac@example.org", PASSWORD)) is None
        assert (
            post(client, f"/admin/staff/{fac}/reset")
            .headers["location"]
            .endswith("error=staff.inactive")
        )
        on = post(client, f"/admin/staff/{fac}/reactivate")
        assert on.headers["location"].endswith("notice=staff.reactivated")
        sign_in(facilitator, "fac@example.org")

    async def actions(db: Database) -> list[tuple[str, int | None]]:
        async with db.read() as session:
            rows = await session.execute(
                select(AuditEntry.action, AuditEntry.user_id).where(AuditEntry.entity == "staff")
            )
            return [(a, u) for a, u in rows.all()]

    assert run(site.url, actions)[-3:] == [
        ("staff.update", bb),
        ("staff.deactivate", bb),
        ("staff.reactivate", bb),
    ]


# --- the real command line and server ---------------------------------------------------------


def cli(folder: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "facilitator"), *args],
        env=_env(folder),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=folder,
    )


def _env(folder: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'facilitator.db'}"
    env["FACILITATOR_LOG_LEVEL"] = "warning"
    return env


@pytest.mark.slow
def test_init_makes_a_network_once(tmp_path: Path) -> None:
    args = ("init", "--network", "רשת", "--email", "a@example.org", "--name", "א")
    bad_zone = cli(tmp_path, *args, "--timezone", "Nowhere/Special", stdin=PASSWORD + "\n")
    assert bad_zone.returncode == 2
    assert "Unknown time zone" in bad_zone.stderr
    bad_language = cli(tmp_path, *args, "--language", "fr", stdin=PASSWORD + "\n")
    assert bad_language.returncode == 2
    assert "Hebrew or English" in bad_language.stderr
    made = cli(
        tmp_path, *args, "--language", "en", "--meeting-minutes", "60", stdin=PASSWORD + "\n"
    )
    assert made.returncode == 0, made.stderr
    assert "backbone user" in made.stdout
    assert run(
        _env(tmp_path)["DATABASE_URL"], lambda db: users.authenticate(db, "a@example.org", PASSWORD)
    )
    again = cli(tmp_path, *args, stdin=PASSWORD + "\n")
    assert again.returncode == 2
    assert "already has a network" in again.stderr
    # create-user on an empty database points to init and the set-up link.
    empty = tmp_path / "empty"
    empty.mkdir()
    lost = cli(
        empty, "create-user", "--email", "b@example.org", "--name", "b", stdin=PASSWORD + "\n"
    )
    assert lost.returncode == 2
    assert "facilitator init" in lost.stderr
    assert "facilitator serve" in lost.stderr


def _serve_link(folder: Path, port: int) -> tuple[str, str]:
    """Start `facilitator serve`, read the set-up link it prints, stop it; its output too."""
    server = subprocess.Popen(
        [str(BIN / "facilitator"), "serve", "--port", str(port)],
        env=_env(folder), cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        deadline, seen = time.monotonic() + 60, []
        link = None
        while link is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            seen.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/setup/\S+)", line)
            link = found.group(1) if found else None
        assert link is not None, "".join(seen)
        for _ in range(100):
            try:
                page = httpx.get(link, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page.status_code == 200
        assert "הקמת הרשת" in page.text
    finally:
        server.send_signal(signal.SIGINT)
        # Read through the same buffered pipe (communicate() would skip what it holds already).
        assert server.stdout is not None
        rest = server.stdout.read()
        server.stdout.close()
        server.wait(timeout=30)
    return link, "".join(seen) + rest


@pytest.mark.slow
def test_serve_on_an_empty_database_prints_a_fresh_setup_link(tmp_path: Path) -> None:
    port = free_port()
    first, output = _serve_link(tmp_path, port)
    assert f"http://127.0.0.1:{port}/setup/" in first
    assert "works once, within 24 hours" in output
    second, _output = _serve_link(tmp_path, port)
    assert second != first
    # Each start voids the link printed before.
    with TestClient(
        create_app(
            Settings(allowed_hosts=("testserver",), database_url=_env(tmp_path)["DATABASE_URL"])
        )
    ) as client:
        path = first.split(f":{port}", 1)[1]
        assert client.get(path).status_code == 410
        assert client.get(second.split(f":{port}", 1)[1]).status_code == 200


@pytest.fixture(scope="module")
def live(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(migrated_template, tmp_path_factory.mktemp("staff-live"))

    async def backbone(db: Database) -> int:
        # The seeded facilitator looks after the seeded group, where the test's meeting is.
        async with db.read() as session:
            fac = await session.scalar(
                select(StaffUser.id).where(StaffUser.email == running.seeded.staff_email)
            )
        assert fac is not None
        await network.assign_staff(db, running.seeded.group, fac)
        return await users.create_user(
            db, running.seeded.network, "bb@example.org", PASSWORD, name="שדרה", role="backbone"
        )

    run(running.db_url, backbone)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.slow
async def test_a_facilitator_taken_off_a_group_stops_hearing_its_meeting(live: Server) -> None:
    """Their commands would be refused; now the console of that group's meeting closes too,
    while the console of a group still theirs stays open."""
    facilitator = await staff_client(live)
    backbone = httpx.AsyncClient(base_url=live.base)
    try:
        kept, _code, _view = await new_meeting(live, facilitator, "הקבוצה שנשארת")
        lost, _code, _view = await new_meeting(live, facilitator, "הקבוצה שנלקחת")
        lost_group = (await facilitator.get(f"/api/m/{lost}/snapshot")).json()["meeting"][
            "group_id"
        ]
        stays = await open_client(live, kept, "console", {}, cookie=cookie_header(facilitator))
        goes = await open_client(live, lost, "console", {}, cookie=cookie_header(facilitator))
        for console in (stays, goes):
            await console.expect(lambda m: m["type"] == "welcome")
        login = await backbone.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert token is not None
        await backbone.post(
            "/login", data={"csrf": token.group(1), "email": "bb@example.org", "password": PASSWORD}
        )
        listed = (await backbone.get("/api/admin/staff")).json()["staff"]
        [fac] = [p for p in listed if p["email"] == live.seeded.staff_email]
        off = await backbone.post(
            f"/admin/groups/{lost_group}/facilitators/{fac['id']}/remove",
            data={"csrf": str(backbone.cookies.get("fac_csrf"))},
        )
        assert off.status_code == 303, off.text
        assert "error" not in off.headers["location"]
        assert await goes.close_code() == 1008
        await stays.send({"type": "ping", "id": "still-here"})
        await stays.expect(lambda m: m["type"] == "pong")
        assert (await facilitator.get(f"/m/{lost}/console")).status_code == 404
    finally:
        await close_all_clients()
        await facilitator.aclose()
        await backbone.aclose()


@pytest.mark.slow
async def test_deactivating_closes_the_live_console_at_once(live: Server) -> None:
    facilitator = await staff_client(live)
    backbone = httpx.AsyncClient(base_url=live.base)
    try:
        meeting_id, _code, _view = await new_meeting(
            live, facilitator, "פגישת השבתה", group=live.seeded.group
        )
        console = await open_client(
            live, meeting_id, "console", {}, cookie=cookie_header(facilitator)
        )
        await console.expect(lambda m: m["type"] == "welcome")
        login = await backbone.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert token is not None
        signed = await backbone.post(
            "/login", data={"csrf": token.group(1), "email": "bb@example.org", "password": PASSWORD}
        )
        assert signed.status_code == 303
        listed = (await backbone.get("/api/admin/staff")).json()["staff"]
        [fac] = [p for p in listed if p["email"] == live.seeded.staff_email]
        off = await backbone.post(
            f"/admin/staff/{fac['id']}/deactivate",
            data={"csrf": str(backbone.cookies.get("fac_csrf"))},
        )
        assert off.status_code == 303
        assert "notice=staff.deactivated" in off.headers["location"]
        assert await console.close_code() == 4401
        assert (await facilitator.get("/")).status_code == 303
    finally:
        await close_all_clients()
        await facilitator.aclose()
        await backbone.aclose()
