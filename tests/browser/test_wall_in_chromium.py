"""The wall read from the back of a hall: four projectors (Hebrew and English, 1920×1080 and
1280×720) follow one meeting whose lists cannot fit a screen, through every stage. Nothing may
need scrolling, the join strip covers nothing, text is large, long lists page until every item
was on screen, and the tally bars are shares of the respondents. Screenshots in test-artifacts/."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import Meeting, Network, Person, StaffUser
from facilitator.flow import Stage
from facilitator.i18n import translate
from facilitator.services import commitments, lifecycle, network
from facilitator.services.actors import Actor
from facilitator.services.agenda import AgendaItemInput
from tests.browser.conftest import DemoServer, Watcher, shot

pytestmark = pytest.mark.slow
TZ = ZoneInfo("Asia/Jerusalem")
SIZES = {"1920": (1920, 1080), "1280": (1280, 720)}
GROUP = "קבוצת עבודה: הסעות לבתי הספר"
TITLE = "מפגש מעקב: הסעות וליווי"
CARRIED = [
    f"{what} – {where}"
    for what in (
        "למפות את קווי ההסעה",
        "לתאם מלווים בהסעות",
        "לשלוח להורים עדכון על לוח הזמנים",
        "לבדוק את זמני ההגעה בבוקר",
    )
    for where in ("שכונה א׳", "שכונה ד׳", "הכפרים הבלתי מוכרים", "אזור התעשייה")
]
MADE = [
    "Agree the pick-up points with the council's transport office",
    "לפרסם את מפת הקווים החדשה באתר העירייה ובקבוצות ההורים",
    "לגייס שישה מלווים מתנדבים לקו הבוקר",
    "Share the attendance figures for the first month",
    "לבקש מהמשטרה בדיקת בטיחות בצומת ליד בית הספר",
    "להכין דף שאלות ותשובות להורים בערבית ובעברית",
    "To bring a proposal for a second bus to the steering committee",
    "לקיים שיחה עם מועצת התלמידים על ההסעות",
    "לבדוק מימון להסעה בשעות הצהריים",
    "לתאם עם מנהלי בתי הספר זמני יציאה קבועים",
    "Send the route survey to every parents' committee",
    "לרכז את התלונות על איחורים בטבלה אחת",
    "להציג בפגישה הבאה את נתוני הנוכחות לפי קו",
    "לפנות לחברת ההסעות בעניין רכב נגיש",
]
PRESENTER = "Samah Al-Obra"
AGENDA = [
    ("קווי ההסעה לשנה הבאה", 15, "נועה כהן"),
    ("מלווים בהסעות: מי, מתי ואיך", 20, None),
    ("נתוני האיחורים בחודש האחרון", 10, PRESENTER),
    ("הסעה בשעות הצהריים", 15, None),
    ("רכב נגיש לתלמידים עם מוגבלות", 10, None),
    ("עדכון מהמשטרה על הצומת", 5, None),
    ("תקציב ההסעות", 20, None),
    ("שיתוף ההורים בתכנון", 15, None),
    ("מועצת התלמידים", 10, None),
    ("סיכום והחלטות", 10, None),
    ("Transport survey results", 10, None),
    ("מה מביאים לוועדת ההיגוי", 10, None),
]
PHONES = [
    ("רות לוי", "עמותת דרך"),
    ("Omar Haddad", "Parents' council"),
    ("דנה פרץ", "בית ספר אופק"),
]
# What each phone flags in the opener (indexes into the network's blockers): every respondent
# flags the first, two of three the fifth, one the ninth.
PICKS = [[0, 4], [0, 4, 8], [0]]


@dataclass
class Crowded:
    id: int
    code: str
    carried: dict[int, str]
    people: list[int]


def local_today() -> date:
    return datetime.now(TZ).date()


async def _crowd(url: str) -> Crowded:
    """A group whose last meeting, a week ago, left more commitments than a wall can show, and
    its meeting today with a long agenda."""
    db = Database(url)
    try:
        async with db.read() as session:
            nid = await session.scalar(select(Network.id))
            staff_id = await session.scalar(
                select(StaffUser.id).where(StaffUser.role == "facilitator")
            )
            people = list(await session.scalars(select(Person.id).order_by(Person.id)))
        assert nid is not None
        assert staff_id is not None
        staff = Actor.staff(staff_id, "facilitator")
        group = await network.add_group(db, nid, GROUP, "working_group")
        await network.assign_staff(db, group, staff_id)
        before = local_today() - timedelta(days=7)
        real_clock = db.clock
        db.clock = lambda: datetime.combine(before, datetime.min.time(), TZ) + timedelta(hours=9)
        past = await lifecycle.create_meeting(
            db, staff, group, "מפגש פתיחה: הסעות", before, [AgendaItemInput("פתיחה", 10)]
        )
        past_id = past.event.meeting_id
        await lifecycle.start(db, past_id, staff)
        for stage in (Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS):
            await lifecycle.move(db, past_id, staff, stage)
        carried = {}
        for n, text in enumerate(CARRIED):
            owner = people[n % len(people)]
            due = before + timedelta(days=7 + n)
            made = await commitments.add(db, past_id, staff, text, owner, due)
            carried[int(made.event.payload["commitment"]["id"])] = text
        await lifecycle.close(db, past_id, staff)
        db.clock = real_clock
        agenda = [AgendaItemInput(t, m, presenter=p) for t, m, p in AGENDA]
        today = await lifecycle.create_meeting(db, staff, group, TITLE, local_today(), agenda)
        async with db.read() as session:
            code = (await session.get_one(Meeting, today.event.meeting_id)).join_code
        assert code is not None
        return Crowded(today.event.meeting_id, code, carried, people)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def crowded(demo_server: DemoServer) -> Crowded:
    return asyncio.run(_crowd(f"sqlite+aiosqlite:///{demo_server.folder / 'demo.db'}"))


class Room:
    """The facilitator and the phones, speaking the same JSON API the faces use."""

    def __init__(self, server: DemoServer, staff: Page, meeting: Crowded) -> None:
        self.server, self.staff, self.meeting = server, staff, meeting
        self.csrf = next(c["value"] for c in staff.context.cookies() if c["name"] == "fac_csrf")
        self.tokens: list[str] = []

    def command(self, kind: str, **data: Any) -> dict[str, Any]:
        answer = self.staff.request.post(
            f"{self.server.base}/api/m/{self.meeting.id}/commands",
            data={"type": kind, "id": uuid.uuid4().hex, **data},
            headers={"x-csrf-token": self.csrf},
        )
        assert answer.ok, answer.text()
        return answer.json()  # type: ignore[no-any-return]

    def join(self, name: str, organization: str) -> None:
        answer = httpx.post(
            f"{self.server.base}/api/join",
            json={"code": self.meeting.code, "name": name, "organization": organization},
        )
        assert answer.status_code == 200, answer.text
        self.tokens.append(answer.json()["token"])

    def phone_command(self, token: str, kind: str, **data: Any) -> None:
        answer = httpx.post(
            f"{self.server.base}/api/m/{self.meeting.id}/commands",
            json={"type": kind, "id": uuid.uuid4().hex, **data},
            headers={"authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text

    def snapshot(self) -> dict[str, Any]:
        answer = self.staff.request.get(f"{self.server.base}/api/m/{self.meeting.id}/snapshot")
        assert answer.ok
        return answer.json()  # type: ignore[no-any-return]


@dataclass
class Wall:
    page: Page
    lang: str
    size: str

    @property
    def name(self) -> str:
        return f"{self.lang}-wall-{self.size}"


# Everything the wall promises about its layout, measured in the page. Returns what is wrong.
LAYOUT = """(minFont) => {
  const vw = innerWidth, vh = innerHeight, wrong = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const name = (el) => `${el.tagName.toLowerCase()}.${el.className}[${(el.textContent || "").trim().slice(0, 30)}]`;
  if (document.documentElement.scrollHeight > vh) wrong.push(`page is ${document.documentElement.scrollHeight}px tall`);
  const all = [...document.querySelectorAll("body *")].filter((el) => el.tagName !== "SCRIPT" && shown(el));
  for (const el of all) {
    const r = el.getBoundingClientRect();
    if (r.top < -0.5 || r.left < -0.5 || r.bottom > vh + 0.5 || r.right > vw + 0.5) wrong.push(`outside: ${name(el)}`);
  }
  for (const box of document.querySelectorAll("[data-pages]")) {
    const b = box.getBoundingClientRect();
    for (const el of box.querySelectorAll("*")) {
      if (!shown(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5) wrong.push(`cut off by its page: ${name(el)}`);
    }
  }
  const join = document.getElementById("join-box");
  if (join && shown(join)) {
    const j = join.getBoundingClientRect();
    for (const el of all) {
      if (join.contains(el) || el.contains(join)) continue;
      const r = el.getBoundingClientRect();
      if (r.left < j.right && j.left < r.right && r.top < j.bottom && j.top < r.bottom) wrong.push(`under the join box: ${name(el)}`);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || el.closest("script") || !shown(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < minFont) wrong.push(`${size}px text: ${name(el)}`);
  }
  return wrong;
}"""

# The font size of every visible piece of text on the wall, largest first.
FONTS = """() => {
  const sizes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || el.closest("script") || !el.getClientRects().length) continue;
    sizes.push([parseFloat(getComputedStyle(el).fontSize), el.closest("[id]")?.id || "", el.className]);
  }
  return sizes.sort((a, b) => b[0] - a[0]);
}"""


def tr(lang: str, key: str, **params: object) -> str:
    return translate(key, lang, **params)


def seconds(clock: str) -> int:
    minutes, secs = clock.lstrip("-").split(":")
    return (-1 if clock.startswith("-") else 1) * (int(minutes) * 60 + int(secs))


def clock_text(left: int) -> str:
    return f"{left // 60}:{left % 60:02d}"


def until(check: Callable[[], list[str]], seconds: float = 10) -> None:
    """Retry a layout check while the wall settles (a redraw, a bar growing)."""
    deadline = time.monotonic() + seconds
    wrong = check()
    while wrong and time.monotonic() < deadline:
        time.sleep(0.2)
        wrong = check()
    assert wrong == [], wrong


def laid_out(wall: Wall) -> None:
    # 24 px at 1920×1080, and the same share of the screen at 1280×720.
    least = 24 * SIZES[wall.size][1] / 1080
    until(lambda: [f"{wall.name}: {w}" for w in wall.page.evaluate(LAYOUT, least)])


def bars_wrong(page: Page, flagged: dict[int, int]) -> list[str]:
    """Each blocker's bar against its share of the respondents (every phone answered)."""
    wrong = []
    for i, n in flagged.items():
        row = page.locator(".bar-row").nth(i)
        whole = row.locator(".bar").bounding_box()
        filled = row.locator(".bar > span").bounding_box()
        if whole is None or filled is None:
            wrong.append(f"blocker {i}: no bar on screen")
        elif abs(filled["width"] / whole["width"] - n / len(PICKS)) > 0.01:
            wrong.append(
                f"blocker {i}: {filled['width'] / whole['width']:.3f}, not {n}/{len(PICKS)}"
            )
    return wrong


def every_stage_check(walls: list[Wall], stage: str, step: str) -> None:
    for wall in walls:
        expect(wall.page.locator(".stage")).to_have_class(re.compile(rf"\b{stage}\b"))
        # A latecomer can join from the wall until the close.
        if stage != "closed":
            expect(wall.page.locator("#join-box .join-code")).to_be_visible()
            expect(wall.page.locator("#join-box .qr svg")).to_be_visible()
        laid_out(wall)
        shot(wall.page, f"{wall.name}-{step}-{stage}")


def pages_show_all(walls: list[Wall], key: str, selector: str, expected: set[str] | int) -> None:
    """Watch the walls turn their pages until every expected text (or that many different texts)
    was on screen; each page seen is laid out within the screen too. What is watched must really
    need more than one page, and a stage's list says which page is up."""
    if key != "values":
        for wall in walls:
            expect(wall.page.locator(f"[data-page-of={key}]")).to_have_text(
                re.compile(r"\d.*\d"), timeout=5000
            )
    seen: dict[str, set[str]] = {wall.name: set() for wall in walls}
    pages: dict[str, set[str]] = {wall.name: set() for wall in walls}

    def done(wall: Wall) -> bool:
        got = seen[wall.name]
        every = len(got) >= expected if isinstance(expected, int) else expected <= got
        # Two pages seen too: watching may begin as the second page comes in while the first
        # one's items still fade out, which shows every item under one page number.
        return every and len(pages[wall.name]) > 1

    deadline = time.monotonic() + 30
    while not all(done(w) for w in walls) and time.monotonic() < deadline:
        for wall in walls:
            box = wall.page.locator(f"[data-pages={key}]")
            page = box.get_attribute("data-page") or ""
            if page not in pages[wall.name]:
                pages[wall.name].add(page)
                laid_out(wall)
            texts = box.locator(f"{selector}:visible").all_inner_texts()
            seen[wall.name] |= {text.strip() for text in texts}
        time.sleep(0.25)
    for wall in walls:
        assert done(wall), f"{wall.name}: {key} showed only {seen[wall.name]}"
        assert len(pages[wall.name]) > 1, f"{wall.name}: {key} fitted on one page"


@pytest.fixture
def walls(
    browser: Browser, demo_server: DemoServer, crowded: Crowded
) -> Iterator[tuple[BrowserContext, list[Wall], Watcher]]:
    watcher = Watcher()
    staff = browser.new_context(viewport={"width": 1280, "height": 800})
    page = staff.new_page()
    page.goto(f"{demo_server.base}/login?lang=he")
    page.fill("input[name=email]", demo_server.facilitator[0])
    page.fill("input[name=password]", demo_server.facilitator[1])
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/$"))
    shown: list[Wall] = []
    for lang in ("he", "en"):
        for size, (width, height) in SIZES.items():
            context = browser.new_context(
                viewport={"width": width, "height": height}, storage_state=staff.storage_state()
            )
            wall = Wall(watcher.watch(context.new_page(), f"{lang}-{size}"), lang, size)
            wall.page.goto(
                f"{demo_server.base}/m/{crowded.id}/projector?lang={lang}&page_seconds=1"
            )
            expect(wall.page.locator(".values-strip")).to_be_visible()
            shown.append(wall)
    yield staff, shown, watcher
    for wall in shown:
        wall.page.context.close()
    staff.close()


def test_the_wall_fits_every_stage_and_pages_what_does_not(
    demo_server: DemoServer,
    crowded: Crowded,
    walls: tuple[BrowserContext, list[Wall], Watcher],
) -> None:
    staff, shown, watcher = walls
    room = Room(demo_server, staff.pages[0], crowded)

    # Lobby: the big QR and code beside the meeting, phones joining.
    for name, organization in PHONES:
        room.join(name, organization)
    for wall in shown:
        expect(wall.page.locator(".joined")).to_have_text(
            tr(wall.lang, "projector.joined", count=len(PHONES))
        )
        qr = wall.page.locator(".join-box .qr svg").bounding_box()
        assert qr is not None
        assert qr["height"] > SIZES[wall.size][1] * 0.4
    every_stage_check(shown, "lobby", "1")

    # Review: sixteen carried commitments page; a reported one comes on screen where it is.
    room.command("start")
    every_stage_check(shown, "review", "2")
    for wall in shown:
        qr = wall.page.locator(".join-box .qr svg").bounding_box()
        assert qr is not None
        assert qr["height"] < SIZES[wall.size][1] * 0.15
        expect(wall.page.locator(".join-box .join-code")).to_have_text(crowded.code)
    pages_show_all(shown, "review", ".row .text", set(crowded.carried.values()))
    # The values take turns in a strip of two lines: each comes on screen.
    pages_show_all(shown, "values", "strong", len(room.snapshot()["values"]))
    last = max(crowded.carried)
    room.command("review", commitment_id=last, outcome="done")
    for wall in shown:
        expect(
            wall.page.locator(f"[data-pages=review] [data-id='{last}'] .outcome.done")
        ).to_be_visible()
    for cid in crowded.carried:
        if cid != last:
            room.command("review", commitment_id=cid, outcome="on_track")

    # Opener: bars are shares of those who answered, with counts and percentages.
    room.command("move", stage="opener")
    blockers = [b["id"] for b in room.snapshot()["blockers"]]
    for token, picks in zip(room.tokens, PICKS, strict=True):
        room.phone_command(token, "respond_opener", blockers=[blockers[i] for i in picks])
    flagged = {i: sum(i in p for p in PICKS) for i in range(len(blockers))}
    for wall in shown:
        rows = wall.page.locator(".bar-row")
        expect(rows.nth(4).locator(".count")).to_have_text(str(flagged[4]))
        expect(rows.nth(4).locator(".share")).to_have_text(re.compile(r"^67\s?%$"))
        expect(rows.nth(0).locator(".share")).to_have_text(re.compile(r"^100\s?%$"))
        expect(rows.nth(8).locator(".share")).to_have_text(re.compile(r"^33\s?%$"))
        until(partial(bars_wrong, wall.page, flagged))
    every_stage_check(shown, "opener", "3")
    # The console draws the same bars, at its own size.
    console = room.staff
    console.goto(f"{demo_server.base}/m/{crowded.id}/console")
    expect(console.locator(".bar-row")).to_have_count(len(blockers))
    until(partial(bars_wrong, console, flagged))
    shot(console, "he-wall-console-opener")

    # Agenda: the running item's timer is the largest thing on the wall; the agenda pages.
    room.command("move", stage="agenda")
    items = room.snapshot()["agenda"]
    room.command("focus_item", item_id=items[2]["id"])
    for wall in shown:
        now = wall.page.locator(".now")
        expect(now.locator("h2")).to_have_text(AGENDA[2][0])
        expect(now).to_contain_text(PRESENTER)
        expect(now.locator(".timer")).to_have_text(re.compile(r"^(9:5\d|10:00)$"))
        fonts = wall.page.evaluate(FONTS)
        assert fonts[0][1] == "clock", (wall.name, fonts[:3])
        assert fonts[0][0] > 2 * fonts[1][0], (wall.name, fonts[:3])
    every_stage_check(shown, "agenda", "4")
    pages_show_all(shown, "agenda", ".row .text", {t for t, _, _ in AGENDA})

    # Paused, the clock stops where it was and says so; resumed, it counts on from there.
    for wall in shown:
        expect(wall.page.locator("#clock .timer")).to_have_text(re.compile(r"^9:5[0-7]$"))
    room.command("pause_item", item_id=items[2]["id"])
    for wall in shown:
        expect(wall.page.locator("#clock .paused")).to_have_text(tr(wall.lang, "projector.paused"))
    stopped = {seconds(w.page.locator("#clock .timer").inner_text()) for w in shown}
    shot(shown[0].page, f"{shown[0].name}-4-agenda-paused")
    time.sleep(1.5)
    assert {seconds(w.page.locator("#clock .timer").inner_text()) for w in shown} == stopped
    assert len(stopped) == 1
    left = stopped.pop()
    room.command("resume_item", item_id=items[2]["id"])
    counting_on = re.compile("^(" + "|".join(clock_text(left - n) for n in range(1, 5)) + ")$")
    for wall in shown:
        expect(wall.page.locator("#clock .paused")).to_have_count(0)
        expect(wall.page.locator("#clock .timer")).to_have_text(counting_on)
    for item, text in zip(
        items[:3],
        ("ממשיכים עם שני הקווים הקיימים", "Two escorts on every bus", "נחזור לזה בפגישה הבאה"),
        strict=True,
    ):
        room.command("record_decision", item_id=item["id"], text=text)

    # Commitments: fourteen made today, more than a screen holds.
    room.command("move", stage="commitments")
    due = (local_today() + timedelta(days=30)).isoformat()
    for n, text in enumerate(MADE):
        room.command("add_commitment", text=text, owner_id=crowded.people[n % 5], due=due)
    for wall in shown:
        expect(wall.page.locator("[data-pages=commitments] .row")).to_have_count(len(MADE))
    every_stage_check(shown, "commitments", "5")
    pages_show_all(shown, "commitments", ".row .text", set(MADE))

    # Closed: the summary pages its decisions and commitments; the join strip is gone.
    room.command("close")
    for wall in shown:
        expect(wall.page.locator("#join-box")).to_be_hidden()
    every_stage_check(shown, "closed", "6")
    decisions = {AGENDA[0][0], AGENDA[1][0], AGENDA[2][0]}
    pages_show_all(shown, "closed", ".row .text", set(MADE) | decisions)

    # The server goes away: the wall tells the room it is reconnecting (it sends nothing, so it
    # has nothing to keep), large enough to read, and clears once it is back.
    demo_server.stop()
    for wall in shown:
        expect(wall.page.locator("#status")).to_have_text(tr(wall.lang, "projector.reconnecting"))
        laid_out(wall)
    shot(shown[0].page, f"{shown[0].name}-7-reconnecting")
    demo_server.start()
    for wall in shown:
        expect(wall.page.locator("#status")).to_be_hidden(timeout=20000)
    # Only the outage's failed connections may be logged.
    assert [p for p in watcher.problems if "WebSocket" not in p] == []
