"""A person's admin page and their mail: the language of their mails and page, chosen from the
form and checked at the edge; their link sent by mail from a button, written once a day into
the outbox with its audit entry, refused readably (no address, no mail server, sent today) and
only for the backbone."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from facilitator import app as app_module
from facilitator.app import create_app
from facilitator.db import Database
from facilitator.db.models import AuditEntry, MailOut, Person
from facilitator.services import personal
from facilitator.settings import Settings
from tests.support.admin_site import Site, seed_admin_network
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")


@dataclass
class FakeScheduler:
    """Stands in for serve's mail rounds: counts the wakes, sends nothing."""

    woken: int = 0
    calls: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.calls.append("start")

    def wake(self) -> None:
        self.woken += 1

    async def stop(self) -> None:
        self.calls.append("stop")


@dataclass
class MailSite:
    site: Site
    url: str
    mail: FakeScheduler


@pytest.fixture
def mail_site(
    migrated_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MailSite]:
    """The admin network served with a mail server set; the mail rounds are a fake."""
    db_file = tmp_path / "admin.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    ids = asyncio.run(seed_admin_network(url))
    fake = FakeScheduler()
    monkeypatch.setattr(app_module, "mail_scheduler", lambda settings, db: fake)
    settings = Settings(
        allowed_hosts=("testserver",),
        database_url=url,
        smtp_url="smtp://mailer:secret@mail.example.org:587",
        mail_from="network@example.org",
    )
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield MailSite(Site(client, ids), url, fake)


def _query(url: str, statement: Any) -> list[Any]:
    async def run() -> list[Any]:
        db = Database(url)
        try:
            async with db.read() as session:
                return list((await session.execute(statement)).all())
        finally:
            await db.dispose()

    return asyncio.run(run())


def _fail_todays_link(url: str) -> None:
    async def run() -> None:
        db = Database(url)
        try:
            async with db.write() as session:
                await session.execute(
                    update(MailOut).values(state="failed", attempts=1, error="550 no such box")
                )
        finally:
            await db.dispose()

    asyncio.run(run())


def _outbox(url: str) -> list[tuple[str, str, Any, int | None, str]]:
    rows = _query(
        url,
        select(MailOut.kind, MailOut.about, MailOut.day, MailOut.person_id, MailOut.state),
    )
    return [tuple(r) for r in rows]


def _save(site: Site, person: int, **fields: str) -> Any:
    data = {
        "csrf": site.csrf(),
        "name": "רות כהן",
        "organization_id": str(site.ids["gov"]),
        "email": "ruth@example.org",
        **fields,
    }
    return site.client.post(f"/admin/people/{person}", data=data, follow_redirects=False)


def _send(site: Site, person: int, csrf: str | None = None) -> Any:
    return site.client.post(
        f"/admin/people/{person}/send_link",
        data={"csrf": site.csrf() if csrf is None else csrf},
        follow_redirects=False,
    )


def _alert(page: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', page)
    return found.group(1) if found else ""


def test_a_persons_link_goes_once_a_day_and_only_from_the_backbone(mail_site: MailSite) -> None:
    site, ids = mail_site.site, mail_site.site.ids
    site.login("bb@example.org")
    assert _save(site, ids["ruth"]).headers["location"].endswith("notice=admin.saved")
    page = site.client.get(f"/admin/people/{ids['ruth']}?lang=en").text
    assert f'action="/admin/people/{ids["ruth"]}/send_link"' in page
    assert "It goes to <bdi>ruth@example.org</bdi>." in page

    sent = _send(site, ids["ruth"])
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/admin/people/{ids['ruth']}?notice=admin.people.link_sent"
    shown = site.client.get(sent.headers["location"] + "&lang=en").text
    assert "The link goes to <bdi>ruth@example.org</bdi> within a few minutes." in shown
    shown_he = site.client.get(sent.headers["location"] + "&lang=he").text
    assert "הקישור יגיע אל <bdi>ruth@example.org</bdi> בתוך כמה דקות." in shown_he
    today = datetime.now(ZoneInfo("Asia/Jerusalem")).date()  # where the network meets
    assert _outbox(mail_site.url) == [
        ("link", f"person:{ids['ruth']}", today, ids["ruth"], "pending")
    ]
    assert mail_site.mail.woken == 1  # sent now, not at the next round
    audited = _query(
        mail_site.url,
        select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.after).where(
            AuditEntry.action == "person.send_link"
        ),
    )
    assert [tuple(a) for a in audited] == [
        ("person.send_link", ids["ruth"], {"email": "ruth@example.org"})
    ]
    audit_page = site.client.get("/admin/audit?lang=en").text
    assert "personal link sent by mail" in audit_page

    # The same day again: refused, readably, and nothing more is written or woken.
    again = _send(site, ids["ruth"])
    assert again.headers["location"].endswith("error=admin.people.link_sent_today")
    assert "already sent today" in _alert(
        site.client.get(again.headers["location"] + "&lang=en").text
    )
    assert len(_outbox(mail_site.url)) == 1
    assert mail_site.mail.woken == 1
    # Today's link failed (a refused address, since corrected): staff may send it again.
    _fail_todays_link(mail_site.url)
    retried = _send(site, ids["ruth"])
    assert retried.headers["location"].endswith("notice=admin.people.link_sent")
    assert [row[4] for row in _outbox(mail_site.url)] == ["pending"]
    assert mail_site.mail.woken == 2

    # No address: refused with what to do.
    no_email = _send(site, ids["dan"])
    assert no_email.headers["location"].endswith("error=admin.people.link_no_email")
    said = _alert(site.client.get(no_email.headers["location"] + "&lang=he").text)
    assert "אין לאדם הזה כתובת דוא״ל" in said
    # Without the page's CSRF token: nothing.
    forged = _send(site, ids["ruth2"], csrf="x" * 30)
    assert forged.headers["location"].endswith("error=auth.csrf")
    # Unknown person: the not-found refusal, nothing written.
    assert _send(site, 9999).status_code == 303
    assert len(_outbox(mail_site.url)) == 1

    # A facilitator may not send it (nor edit the person).
    site.login("fac@example.org")
    assert _send(site, ids["ruth"]).status_code == 403
    assert _send(site, ids["ruth2"]).status_code == 403
    assert len(_outbox(mail_site.url)) == 1
    assert mail_site.mail.woken == 2


def test_no_mail_server_is_said_plainly(admin_site: Site) -> None:
    site, ids = admin_site, admin_site.ids
    site.login("bb@example.org")
    _save(site, ids["ruth"])
    page = site.client.get(f"/admin/people/{ids['ruth']}?lang=en").text
    assert "no mail server is set up" in page  # said before anyone clicks
    refused = _send(site, ids["ruth"])
    assert refused.headers["location"].endswith("error=admin.people.link_no_server")
    said = _alert(site.client.get(refused.headers["location"] + "&lang=en").text)
    assert "no mail server is set up" in said
    assert "FACILITATOR_SMTP_URL" in said
    said_he = _alert(site.client.get(refused.headers["location"] + "&lang=he").text)
    assert "לא הוגדר שרת דואר" in said_he
    assert "FACILITATOR_SMTP_URL" in said_he


def _language_of(url: str, person: int) -> str | None:
    return _query(url, select(Person.language).where(Person.id == person))[0][0]


def test_the_language_of_their_mails_and_page(admin_site: Site) -> None:
    site, ids = admin_site, admin_site.ids
    site.login("bb@example.org")
    page = site.client.get(f"/admin/people/{ids['ruth']}?lang=en").text
    assert "Language of their mails and page" in page
    assert '<option value="" selected>' in page  # the network's, until chosen

    assert (
        _save(site, ids["ruth"], language="en").headers["location"].endswith("notice=admin.saved")
    )
    page = site.client.get(f"/admin/people/{ids['ruth']}").text
    assert re.search(r'<option value="en" lang="en" dir="ltr" selected>English</option>', page)
    # A form without the field (a script, an older page) leaves it as it is.
    _save(site, ids["ruth"])
    page = site.client.get(f"/admin/people/{ids['ruth']}").text
    assert 'value="en" lang="en" dir="ltr" selected' in page

    bad = _save(site, ids["ruth"], language="fr", phone="050-7654321")
    assert bad.status_code == 303
    assert bad.headers["location"].endswith("error=input.bad_language")
    shown = site.client.get(bad.headers["location"] + "&lang=en").text
    assert _alert(shown) == "The language must be Hebrew or English."
    assert 'value="en" lang="en" dir="ltr" selected' not in shown  # what was typed comes back
    assert 'value="050-7654321"' in shown

    assert _save(site, ids["ruth"], language="").headers["location"].endswith("notice=admin.saved")
    page = site.client.get(f"/admin/people/{ids['ruth']}").text
    assert '<option value="" selected>' in page
    audit_page = site.client.get("/admin/audit?lang=en").text
    assert "language of mails and page" in audit_page


def test_their_page_speaks_their_language(mail_site: MailSite) -> None:
    site, ids = mail_site.site, mail_site.site.ids
    site.login("bb@example.org")
    _save(site, ids["ruth"], language="en")
    assert _language_of(mail_site.url, ids["ruth"]) == "en"

    async def link() -> str:
        db = Database(mail_site.url)
        try:
            return await personal.issue_link(db, ids["ruth"])
        finally:
            await db.dispose()

    token = asyncio.run(link())
    site.client.cookies.clear()  # the person, not staff: no language cookie of anyone's
    assert 'lang="en"' in site.client.get(f"/me/{token}").text
    assert 'lang="he"' in site.client.get(f"/me/{token}?lang=he").text  # their own choice wins
    site.login("bb@example.org")
    _save(site, ids["ruth"], language="")
    site.client.cookies.clear()
    assert 'lang="he"' in site.client.get(f"/me/{token}").text  # the network's again
