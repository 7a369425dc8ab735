"""The personal page over HTTP, in-process: a link shows its person's commitments and no one
else's; a revoked or rotated link is 404 like an unknown one; reports go with the form's CSRF
field only; a phone gets a link by posting its token, never in an address."""

from __future__ import annotations

import asyncio
import re

import pytest
from icalendar import Calendar

from facilitator.db import Database
from facilitator.services import personal
from tests.support.pages_site import Site
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")

CARRIED = "להפיץ נתונים"  # the seeded open commitment of people[0]


def _link(site: Site, person_id: int) -> str:
    async def issue() -> str:
        db = Database(site.db_url)
        try:
            return await personal.issue_link(db, person_id)
        finally:
            await db.dispose()

    return asyncio.run(issue())


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_a_link_shows_its_persons_commitments_and_takes_their_reports(site: Site) -> None:
    owner_id, owner_name, _org = site.seeded.people[0]
    token = _link(site, owner_id)
    page = site.client.get(f"/me/{token}", headers={"accept-language": "he"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert owner_name in page.text
    assert CARRIED in page.text
    # Someone else's link does not show this person's commitment.
    other = site.client.get(f"/me/{_link(site, site.seeded.people[1][0])}")
    assert CARRIED not in other.text

    fields = {
        "csrf": _csrf(page.text),
        "commitment_id": str(site.seeded.carried),
        "outcome": "stuck",
        "note": "<b>מחכה</b> לנתונים",
    }
    sent = site.client.post(f"/me/{token}/report", data=fields, follow_redirects=False)
    assert sent.status_code == 303, re.findall(r"role=.alert.>([^<]*)", sent.text)
    assert (
        sent.headers["location"] == f"/me/{token}?said={site.seeded.carried}#c{site.seeded.carried}"
    )
    shown = site.client.get(sent.headers["location"]).text
    assert "&lt;b&gt;מחכה&lt;/b&gt; לנתונים" in shown  # escaped, never markup
    # Without the form's CSRF field nothing is recorded.
    forged = site.client.post(
        f"/me/{token}/report", data={**fields, "csrf": "x" * 30, "outcome": "done"}
    )
    assert forged.status_code == 400
    # Another person's commitment: refused, readably.
    theirs = site.client.post(
        f"/me/{_link(site, site.seeded.people[1][0])}/report",
        data={**fields, "csrf": _csrf(page.text)},
    )
    assert theirs.status_code == 403


def test_the_page_gives_a_calendar_of_the_persons_own_commitments(site: Site) -> None:
    owner_id, _name, _org = site.seeded.people[0]
    token = _link(site, owner_id)
    page = site.client.get(f"/me/{token}?lang=en").text
    assert f"/me/{token}/calendar.ics" in page  # the address to subscribe to, shown whole
    calendar = site.client.get(f"/me/{token}/calendar.ics")
    assert calendar.status_code == 200
    assert calendar.headers["content-type"].startswith("text/calendar")
    assert calendar.headers["cache-control"] == "no-store"
    [event] = Calendar.from_ical(calendar.content).walk("VEVENT")
    assert str(event["SUMMARY"]) == CARRIED
    other = site.client.get(f"/me/{_link(site, site.seeded.people[1][0])}/calendar.ics")
    assert CARRIED not in other.content.decode()


def test_revoked_rotated_and_unknown_links_answer_alike(site: Site) -> None:
    owner_id, _name, _org = site.seeded.people[0]
    token = _link(site, owner_id)
    page = site.client.get(f"/me/{token}")
    moved = site.client.post(
        f"/me/{token}/rotate", data={"csrf": _csrf(page.text)}, follow_redirects=False
    )
    assert moved.status_code == 303
    fresh = moved.headers["location"].split("/")[2].split("?")[0]
    assert site.client.get(f"/me/{fresh}").status_code == 200
    for gone in (token, "x" * 43, "short"):
        answer = site.client.get(f"/me/{gone}")
        assert answer.status_code == 404
        # The calendar address shares the page's secret: it ends with it.
        assert site.client.get(f"/me/{gone}/calendar.ics").status_code == 404
    assert site.client.post(f"/me/{token}/report", data={}).status_code == 404


def test_a_phone_gets_its_persons_link_by_posting_its_token(site: Site) -> None:
    site.login()
    meeting_id = site.new_meeting()
    joined = site.client.post(
        "/api/join",
        json={"code": site.code_of(meeting_id), "name": "דנה לוי", "organization": "עמותת גשר"},
    ).json()
    site.client.post("/logout", data={"csrf": site.csrf()})
    answer = site.client.post("/p/me", data={"token": joined["token"]}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/me/")
    assert joined["token"] not in answer.headers["location"]
    page = site.client.get(answer.headers["location"])
    assert "דנה לוי" in page.text
    assert site.client.post("/p/me", data={"token": "nope"}).status_code == 404
