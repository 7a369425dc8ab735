"""Mail as people see it, in real Chromium against the demo: the reminder a Hebrew owner gets
reads right to left with the commitment isolated in it, its button opens the owner's own page,
where they report; an English speaker's mail reads left to right. Screenshots of both go to
``test-artifacts/``."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import Person
from facilitator.mail.compose import Outgoing, compose
from facilitator.mail.remind import unsent_row
from facilitator.services import mail_due
from facilitator.services.mail_outbox import Mail
from tests.browser.conftest import DemoServer, Watcher, shot
from tests.browser.helpers import PHONE, tr

pytestmark = pytest.mark.slow

DUE_SOON = "להפיץ לשותפים את טיוטת דוח הנשירה השנתי"  # the demo's commitment due in two days


def _mails(server: DemoServer, folder: Path) -> dict[str, Path]:
    """The demo's reminder (Hebrew) and a link mail to its English speaker, as HTML files."""

    async def write() -> dict[str, Path]:
        zone = ZoneInfo("Asia/Jerusalem")
        now = datetime.combine(datetime.now(zone).date(), time(10), zone)
        db = Database(f"sqlite+aiosqlite:///{server.folder / 'demo.db'}", clock=lambda: now)
        out = Outgoing(server.base, "facilitator@demo.example")
        try:
            [reminder] = [m for m in await mail_due.unwritten(db, now) if m.kind == "reminder"]
            async with db.read() as session:
                daniel = await session.scalar(
                    select(Person.id).where(Person.name == "Daniel Green")
                )
            assert daniel is not None
            english = Mail(
                reminder.network_id, "link", f"person:{daniel}", now.date(), person_id=daniel
            )
            found = {}
            for name, mail in (("reminder", reminder), ("link", english)):
                message = await compose(db, unsent_row(mail, now), out)
                html = message.get_body(preferencelist=("html",))
                assert html is not None
                path = folder / f"{name}.html"
                path.write_text(str(html.get_content()), encoding="utf-8")
                found[name] = path
                found[f"{name}-subject"] = Path(str(message["Subject"]))
            return found
        finally:
            await db.dispose()

    # Playwright's loop runs in this thread: the database is used in one of its own.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, write()).result()


def test_a_reminder_reads_right_and_leads_to_the_owners_page(
    browser: Browser, demo_server: DemoServer, tmp_path: Path
) -> None:
    mails, watcher = _mails(demo_server, tmp_path), Watcher()
    assert DUE_SOON in str(mails["reminder-subject"])
    phone = browser.new_context(**PHONE).new_page()
    watcher.watch(phone, "mail")
    phone.goto(mails["reminder"].as_uri())
    letter = phone.locator("body > div[dir]")
    expect(letter).to_have_attribute("dir", "rtl")
    assert letter.evaluate("e => getComputedStyle(e).direction") == "rtl"
    expect(phone.locator("blockquote")).to_have_text(DUE_SOON)
    shot(phone, "he-mail-01-reminder")
    phone.get_by_role("link", name=tr("he", "mail.open_page")).click()
    mine = phone.locator("li", has_text=DUE_SOON)
    expect(mine).to_be_visible()
    mine.get_by_label(tr("he", "me.outcome.on_track")).check()
    mine.get_by_role("button", name=tr("he", "me.send")).click()
    expect(phone.locator("li", has_text=DUE_SOON).locator("p.report")).to_be_visible()
    shot(phone, "he-mail-02-reported-from-the-mail")

    phone.goto(mails["link"].as_uri())
    letter = phone.locator("body > div[dir]")
    expect(letter).to_have_attribute("dir", "ltr")
    expect(phone.get_by_text(tr("en", "mail.link.body"))).to_be_visible()
    shot(phone, "en-mail-01-personal-link")
    assert watcher.problems == []
