"""Between meetings, in real Chromium against the demo: owners open their own page by its link
on a phone and report (one stuck, with a note; one done), and at the group's next meeting the
console lists the stuck one first with its note and confirms the done one in one tap."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import Person
from facilitator.services import personal
from tests.browser.conftest import DemoServer, Watcher, shot
from tests.browser.helpers import PHONE, console_button, run_meeting, sign_in, tr

pytestmark = pytest.mark.slow

NOA, YOSEF = "נועה כהן", "יוסף אבו-סבית"
NOAS = "למפות את תכניות החונכות הקיימות בעיר"
YOSEFS = "לשלוח לבתי הספר מסמך עקרונות לחונכות"


def _links(server: DemoServer) -> dict[str, str]:
    async def issue() -> dict[str, str]:
        db = Database(f"sqlite+aiosqlite:///{server.folder / 'demo.db'}")
        try:
            async with db.read() as session:
                rows = await session.execute(
                    select(Person.id, Person.name).where(Person.name.in_([NOA, YOSEF]))
                )
                ids = {str(row[1]): int(row[0]) for row in rows}
            return {name: await personal.issue_link(db, pid) for name, pid in ids.items()}
        finally:
            await db.dispose()

    # Playwright's loop runs in this thread: the database is read in one of its own.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, issue()).result()


def test_owners_report_between_meetings_and_the_review_starts_from_it(
    browser: Browser, demo_server: DemoServer
) -> None:
    watcher, links = Watcher(), _links(demo_server)

    noa = browser.new_context(**PHONE).new_page()
    watcher.watch(noa, "noa")
    noa.goto(f"{demo_server.base}/me/{links[NOA]}?lang=he")
    expect(noa.locator("h1")).to_have_text(tr("he", "me.hello", name=NOA))
    mine = noa.locator("li", has_text=NOAS)
    expect(mine).to_be_visible()
    shot(noa, "he-me-01-my-commitments")
    mine.get_by_label(tr("he", "me.outcome.stuck")).check()
    mine.get_by_label(tr("he", "me.note")).fill("מחכה לנתונים מהעירייה")
    mine.get_by_role("button", name=tr("he", "me.send")).click()
    reported = noa.locator("li", has_text=NOAS).locator("p.report")
    expect(reported).to_contain_text("מחכה לנתונים מהעירייה")
    shot(noa, "he-me-02-reported-stuck")

    yosef = browser.new_context(**PHONE).new_page()
    watcher.watch(yosef, "yosef")
    yosef.goto(f"{demo_server.base}/me/{links[YOSEF]}?lang=en")
    his = yosef.locator("li", has_text=YOSEFS)
    his.get_by_label(tr("en", "me.outcome.done")).check()
    his.get_by_role("button", name=tr("en", "me.send")).click()
    expect(yosef.locator("li", has_text=YOSEFS).locator("p.report.done")).to_be_visible()
    shot(yosef, "en-me-01-reported-done")

    # The group's next meeting: stuck first, with the note; "done" confirmed in one tap.
    _staff, console = sign_in(browser, demo_server, "he")
    watcher.watch(console, "console")
    meeting_id = run_meeting(console, "he", "מפגש קבוצת העבודה: המעבר לתיכון")
    console_button(console, "he", "console.start")
    reopened = console.locator(".console-main ul.list > li")
    expect(reopened.first).to_contain_text(NOAS)
    expect(reopened.first.locator(".owner-report.stuck")).to_contain_text("מחכה לנתונים מהעירייה")
    shot(console, "he-me-03-console-review-starts-from-reports")
    # A stuck one is offered as an item of this meeting's agenda, once.
    to_agenda = reopened.first.get_by_role("button", name=tr("he", "console.stuck_to_agenda"))
    to_agenda.click()
    expect(to_agenda).to_have_count(0)
    # The button goes when the console redraws, which may come before the command's answer:
    # read the stored agenda until the item is there (or five seconds have passed).
    titles: list[str] = []
    for _ in range(50):
        snapshot = console.request.get(f"{demo_server.base}/api/m/{meeting_id}/snapshot").json()
        titles = [item["title"] for item in snapshot["agenda"]]
        if NOAS in titles:
            break
        console.wait_for_timeout(100)
    assert titles.count(NOAS) == 1
    console.goto(f"{demo_server.base}/m/{meeting_id}/console?lang=en")
    his_row = console.locator(".console-main ul.list > li", has_text=YOSEFS)
    confirm = his_row.get_by_role("button", name=tr("en", "console.confirm_report_done"))
    expect(his_row.locator(".owner-report.done")).to_be_visible()
    shot(console, "en-me-02-console-review-starts-from-reports")
    confirm.click()
    expect(his_row.locator(".outcome.done")).to_have_text(tr("en", "outcome.done"))
    expect(confirm).to_have_count(0)
    assert watcher.problems == []
