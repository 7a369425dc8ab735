"""The backbone's pages, exports and calendar feeds over HTTP: permissions, CSV that Excel
reads in Hebrew, feeds a real iCalendar parser reads, links that stop when revoked."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import delete, insert
from starlette.testclient import TestClient

from facilitator.app import ROUTES, create_app
from facilitator.db import Database
from facilitator.db.models import Commitment, GroupStaff
from facilitator.flow import Stage
from facilitator.services import commitments, lifecycle, network, users
from facilitator.services.actors import Actor
from facilitator.settings import Settings
from tests.support.live_server import PASSWORD, Seeded, local_today, seed
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")


class Site:
    def __init__(self, client: TestClient, seeded: Seeded, url: str, backbone_email: str) -> None:
        self.client, self.seeded, self.url, self.backbone_email = (
            client,
            seeded,
            url,
            backbone_email,
        )

    def csrf(self) -> str:
        if not self.client.cookies.get("fac_csrf"):
            self.client.get("/login")
        return str(self.client.cookies.get("fac_csrf"))

    def login(self, email: str | None = None) -> None:
        answer = self.client.post(
            "/login",
            data={"csrf": self.csrf(), "email": email or self.backbone_email, "password": PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 303

    def logout(self) -> None:
        self.client.post("/logout", data={"csrf": self.csrf()})


async def _more(url: str, seeded: Seeded) -> str:
    """A backbone user, and a second open commitment for the seeded person (due later)."""
    db = Database(url)
    try:
        await network.add_organization(db, seeded.network, "ועד שכונה", "community")
        await users.create_user(
            db, seeded.network, "bb@example.org", PASSWORD, name="שדרה", role="backbone"
        )
        staff = Actor.staff(1)
        day = date.fromisoformat(local_today())
        mid = (
            await lifecycle.create_meeting(db, staff, seeded.group, "שנייה", day)
        ).event.meeting_id
        await lifecycle.start(db, mid, staff)
        for stage in (Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS):
            await lifecycle.move(db, mid, staff, stage)
        await commitments.review(
            db,
            mid,
            staff,
            seeded.carried,
            "slipped",
            new_due=(day + timedelta(days=20)).isoformat(),
        )
        await commitments.add(
            db, mid, staff, '=HYPERLINK("x") לוודא', seeded.people[0][0], day + timedelta(days=30)
        )
        await lifecycle.close(db, mid, staff)
        return "bb@example.org"
    finally:
        await db.dispose()


@pytest.fixture
def site(migrated_template: str, tmp_path: Path) -> Iterator[Site]:
    db_file = tmp_path / "site.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    seeded = asyncio.run(seed(url))
    email = asyncio.run(_more(url, seeded))
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=url))
    ) as client:
        yield Site(client, seeded, url, email)


BACKBONE_PAGES = [
    "/backbone", "/backbone/accountability", "/backbone/accountability?by=group", "/backbone/attendance",
    "/backbone/opener", "/backbone/feeds", "/backbone/commitments.csv", "/backbone/attendance.csv",
]  # fmt: skip
BACKBONE_API = [
    "/api/backbone/carryover", "/api/backbone/accountability", "/api/backbone/attendance", "/api/backbone/opener",
]  # fmt: skip


def a_phone_in_a_new_meeting(site: Site) -> tuple[int, dict[str, str]]:
    """A meeting made by the signed-in facilitator, and the headers of a phone that joined it
    (the staff session signed out)."""
    site.login()
    made = site.client.post(
        "/meetings",
        data={
            "csrf": site.csrf(),
            "group_id": str(site.seeded.group),
            "title": "x",
            "scheduled_on": local_today(),
        },
        follow_redirects=False,
    )
    meeting_id = int(made.headers["location"].split("/")[2])
    code = site.client.get(f"/api/m/{meeting_id}/snapshot").json()["meeting"]["join_code"]
    site.logout()
    token = site.client.post(
        "/api/join", json={"code": code, "name": "Phone", "organization": "Org"}
    ).json()["token"]
    return meeting_id, {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize("lang", ["he", "en"])
def test_every_backbone_page_in_both_languages(site: Site, lang: str) -> None:
    site.login()
    for path in [*BACKBONE_PAGES, "/backbone/commitments/1", "/m/1/agenda", "/m/1/summary"]:
        page = site.client.get(path, params={"lang": lang})
        assert page.status_code == 200, path
        if "csv" not in path:
            assert f'lang="{lang}"' in page.text, path
    for path in BACKBONE_API:
        assert site.client.get(path).status_code == 200, path


def test_no_session_and_no_phone_reach_any_of_it(site: Site) -> None:
    for path in [*BACKBONE_PAGES, "/backbone/commitments/1", "/m/1/agenda", "/m/1/summary"]:
        answer = site.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login")
    for path in [*BACKBONE_API, "/api/commitments/1/history"]:
        assert site.client.get(path).status_code == 403, path
    _meeting, phone = a_phone_in_a_new_meeting(site)
    for path in BACKBONE_API:
        assert site.client.get(path, headers=phone).status_code == 403, path
    for path in BACKBONE_PAGES:
        assert site.client.get(path, headers=phone, follow_redirects=False).status_code == 303, path


def _no_longer_looks_after_the_seeded_group(site: Site) -> None:
    async def unassign() -> None:
        db = Database(site.url)
        try:
            async with db.write() as session:
                await session.execute(delete(GroupStaff).where(GroupStaff.user_id == 1))
        finally:
            await db.dispose()

    asyncio.run(unassign())


def test_a_facilitator_sees_only_the_groups_they_look_after(site: Site) -> None:
    _no_longer_looks_after_the_seeded_group(site)
    site.login(site.seeded.staff_email)  # a facilitator with no group assigned
    assert site.client.get("/api/backbone/carryover").json()["commitments"] == []
    assert site.client.get("/backbone/commitments/1").status_code == 404
    # Not zeros without a word: the pages say why, and home offers no group to meet in.
    assert "You look after no group yet" in site.client.get("/backbone?lang=en").text
    home = site.client.get("/?lang=en").text
    assert "You look after no group yet" in home
    assert 'name="group_id"' not in home


def test_bad_filters_get_a_message_not_an_error_page(site: Site) -> None:
    site.login()
    page = site.client.get("/backbone?status=lost&lang=en")
    assert page.status_code == 400
    assert "Choose a status from the list." in page.text
    assert site.client.get("/backbone?due_from=tomorrow&lang=en").status_code == 400
    api = site.client.get("/api/backbone/carryover?due_from=2026-05-01&due_to=2026-04-01&lang=en")
    assert api.status_code == 422
    assert api.json()["error"]["key"] == "filter.bad_range"
    assert site.client.get("/api/backbone/accountability?by=mood").status_code == 422


def test_commitments_csv_round_trips_hebrew_and_keeps_formulas_inert(site: Site) -> None:
    site.login()
    answer = site.client.get("/backbone/commitments.csv?lang=he&status=open")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "מחויבות", "סטטוס"]
    texts = {row[1] for row in rows[1:]}
    assert "להפיץ נתונים" in texts
    assert '\'=HYPERLINK("x") לוודא' in texts  # a formula stays text
    owners = {row[7] for row in rows[1:]}
    assert owners == {"משתתף 0"}
    attendance = site.client.get("/backbone/attendance.csv")
    assert attendance.content.startswith(b"\xef\xbb\xbf")


def test_calendar_feeds_one_event_per_open_commitment_and_revocable(site: Site) -> None:
    site.login()
    person = site.seeded.people[0][0]
    made = site.client.post(
        "/backbone/feeds", data={"csrf": site.csrf(), "kind": "person", "person_id": str(person)}
    )
    link = re.search(r'value="(http[^"]+/feeds/[^"]+\.ics)"', made.text)
    assert link is not None
    path = "/feeds/" + link.group(1).split("/feeds/")[1]
    site.logout()
    feed = site.client.get(path)  # no session: the link is the secret
    assert feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    site.login()
    api = site.client.get(f"/api/backbone/carryover?owner={person}&status=open").json()[
        "commitments"
    ]
    expected = {f"commitment-{c['id']}": (c["due"], c["text"]) for c in api}
    got = {
        str(e["UID"]).split("@")[0]: (e.decoded("DTSTART").isoformat(), str(e["SUMMARY"]))
        for e in events
    }
    assert got == expected
    assert all("משתתף 0" in str(e["DESCRIPTION"]) for e in events)
    # The slipped commitment sits on its new date, not the first one.
    slipped = next(c for c in api if c["times_slipped"] == 1)
    assert got[f"commitment-{slipped['id']}"][0] == slipped["due"]
    first_due = (date.fromisoformat(local_today()) + timedelta(days=7)).isoformat()  # as seeded
    assert first_due not in {day for day, _text in got.values()}

    feed_id = re.findall(r'name="revoke" value="(\d+)"', site.client.get("/backbone/feeds").text)[0]
    site.client.post("/backbone/feeds", data={"csrf": site.csrf(), "revoke": feed_id})
    assert site.client.get(path).status_code == 404
    assert site.client.get("/feeds/made-up-token.ics").status_code == 404


def test_group_feed(site: Site) -> None:
    site.login()
    made = site.client.post(
        "/backbone/feeds",
        data={"csrf": site.csrf(), "kind": "group", "group_id": str(site.seeded.group)},
    )
    link = re.search(r'/feeds/([^"]+)\.ics', made.text)
    assert link is not None
    events = Calendar.from_ical(site.client.get(f"/feeds/{link.group(1)}.ics").content).walk(
        "VEVENT"
    )
    assert len(events) == 2
    refused = site.client.post(
        "/backbone/feeds", data={"csrf": site.csrf(), "kind": "group", "group_id": "999"}
    )
    assert refused.status_code == 400


def test_printable_agenda_lists_what_will_come_back(site: Site) -> None:
    site.login()
    made = site.client.post(
        "/meetings",
        data={
            "csrf": site.csrf(),
            "group_id": str(site.seeded.group),
            "title": "הבאה",
            "scheduled_on": local_today(),
        },
        follow_redirects=False,
    )
    meeting_id = int(made.headers["location"].split("/")[2])
    agenda = site.client.get(f"/m/{meeting_id}/agenda").text
    assert "להפיץ נתונים" in agenda  # carried, before the meeting starts
    assert "שקיפות" in agenda
    assert "מחליטים בחדר" in agenda
    assert "יעדים לא ברורים" in agenda  # the opener
    summary = site.client.get("/m/1/summary").text
    assert "להפיץ נתונים" in summary


def test_the_api_is_described(site: Site) -> None:
    spec = site.client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    for route in ROUTES:
        path = re.sub(r":\w+}", "}", getattr(route, "path", ""))
        if path.startswith("/api/"):
            assert path in documented, path


def test_a_facilitator_with_a_group_sees_that_group_only(site: Site) -> None:
    async def assign() -> int:
        db = Database(site.url)
        try:
            other = await network.add_group(db, site.seeded.network, "קבוצה אחרת", "forum")
            await network.assign_staff(db, other, 1)  # the seeded facilitator looks after it only
            return other
        finally:
            await db.dispose()

    _no_longer_looks_after_the_seeded_group(site)
    other = asyncio.run(assign())
    site.login()  # backbone makes a group feed for the seeded group
    made = site.client.post(
        "/backbone/feeds",
        data={"csrf": site.csrf(), "kind": "group", "group_id": str(site.seeded.group)},
    )
    backbone_feed = re.search(r'/feeds/([^"]+)\.ics', made.text)
    assert backbone_feed is not None
    site.logout()

    site.login(site.seeded.staff_email)
    assert site.client.get("/api/backbone/carryover").json()["commitments"] == []  # not their group
    assert (
        site.client.get(f"/api/backbone/carryover?group={site.seeded.group}").json()["commitments"]
        == []
    )
    assert site.client.get("/backbone/commitments/1").status_code == 404
    assert site.client.get("/api/commitments/1/history").status_code == 404
    csv_rows = site.client.get("/backbone/commitments.csv").content.decode("utf-8-sig").splitlines()
    assert len(csv_rows) == 1  # the header only
    feeds_page = site.client.get("/backbone/feeds").text
    assert 'name="revoke"' not in feeds_page  # the backbone's link is not theirs to see or revoke
    person = site.client.post(
        "/backbone/feeds",
        data={"csrf": site.csrf(), "kind": "person", "person_id": str(site.seeded.people[0][0])},
    )
    assert person.status_code == 400
    assert "/feeds/" not in person.text
    foreign = site.client.post(
        "/backbone/feeds",
        data={"csrf": site.csrf(), "kind": "group", "group_id": str(site.seeded.group)},
    )
    assert foreign.status_code == 400
    own = site.client.post(
        "/backbone/feeds", data={"csrf": site.csrf(), "kind": "group", "group_id": str(other)}
    )
    assert own.status_code == 200
    assert "/feeds/" in own.text
    odd = site.client.post("/backbone/feeds", data={"csrf": site.csrf(), "revoke": "²"})
    assert odd.status_code == 400
    assert site.client.get("/backbone?group=²").status_code == 400
    site.logout()
    assert site.client.get(f"/feeds/{backbone_feed.group(1)}.ics").status_code == 200


def test_a_phone_token_opens_no_backbone_page_paper_or_feed(site: Site) -> None:
    meeting_id, phone = a_phone_in_a_new_meeting(site)
    for path in (
        f"/m/{meeting_id}/agenda",
        f"/m/{meeting_id}/summary",
        "/backbone/feeds",
        "/backbone/commitments/1",
    ):
        assert site.client.get(path, headers=phone, follow_redirects=False).status_code == 303, path
    assert site.client.get("/api/commitments/1/history", headers=phone).status_code == 403
    assert (
        site.client.post(
            "/backbone/feeds",
            headers=phone,
            data={"kind": "group", "group_id": "1"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert (
        site.client.get(f"/feeds/{phone['authorization'].removeprefix('Bearer ')}.ics").status_code
        == 404
    )  # a phone token is no feed link


async def _many(url: str, seeded: Seeded, count: int) -> None:
    """``count`` more open commitments like the carried one (same group, origin and owner)."""
    db = Database(url)
    try:
        async with db.write() as session:
            carried = await session.get_one(Commitment, seeded.carried)
            await session.execute(
                insert(Commitment),
                [
                    {
                        "group_id": carried.group_id, "origin_meeting_id": carried.origin_meeting_id,
                        "text": f"עוד {n}", "owner_person_id": carried.owner_person_id,
                        "due_on": date(2030, 1, 1) + timedelta(days=n), "status": "open",
                        "created_at": carried.created_at, "confirmed_at": carried.created_at,
                    }
                    for n in range(count)
                ],
            )  # fmt: skip
    finally:
        await db.dispose()


def test_long_lists_come_in_pages_that_keep_the_filters_and_exports_stream(site: Site) -> None:
    asyncio.run(_many(site.url, site.seeded, 120))
    site.login()
    first = site.client.get("/backbone?status=open&lang=en")
    assert first.status_code == 200
    assert first.text.count('href="/backbone/commitments/') == 50
    following = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert following is not None
    link = following[1].replace("&amp;", "&")
    assert "status=open" in link
    # The day it was counted on goes with it: the order depends on it (paging across midnight).
    assert re.search(r"as_of=\d{4}-\d\d-\d\d", link)
    second = site.client.get(link)
    assert second.text.count('href="/backbone/commitments/') == 50
    assert 'rel="prev"' in second.text
    api = site.client.get("/api/backbone/carryover?status=open").json()
    assert len(api["commitments"]) == 50
    assert api["figures"]["open"] == 122
    rest = site.client.get(
        "/api/backbone/carryover", params={"status": "open", "after": api["next"]}
    )
    assert rest.json()["commitments"][0]["id"] not in {c["id"] for c in api["commitments"]}
    assert site.client.get("/api/backbone/carryover?after=nonsense").status_code == 422
    answer = site.client.get("/backbone/commitments.csv?status=open")
    assert "content-length" not in answer.headers  # streamed, a batch at a time
    assert len(list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))) == 1 + 122


@pytest.mark.parametrize("tab", ["attendance", "opener"])
def test_meeting_reports_sum_each_group_up_and_open_one_meeting_by_meeting(
    site: Site, tab: str
) -> None:
    site.login()
    group = site.seeded.group
    report = site.client.get(f"/api/backbone/{tab}").json()["groups"]
    mine = next(g for g in report if g["id"] == group)
    summary = site.client.get(f"/backbone/{tab}", params={"lang": "en"}).text
    # Every group in a line, linking to its meetings; no meeting's own row or chart.
    for g in report:
        assert f'href="/backbone/{tab}?group={g["id"]}"' in summary
    assert "<svg" not in summary
    one = site.client.get(f"/backbone/{tab}", params={"group": group, "lang": "en"})
    assert one.status_code == 200
    assert 'href="/backbone/' + tab + '"' in one.text
    assert one.text.count("<svg") >= 1
    if tab == "attendance":
        assert mine["meetings"]
        assert all(m["title"] in one.text for m in mine["meetings"])
        assert f'<td class="num">{mine["held"]}</td>' in summary
    else:
        totals = "".join(f'<td class="num">{b["total"]}</td>' for b in mine["blockers"])
        assert totals in summary.replace("\n", "")
    for unknown in ("999999", "x"):
        answer = site.client.get(f"/backbone/{tab}", params={"group": unknown})
        assert answer.status_code == 404
