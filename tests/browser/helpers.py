"""What the browser tests do again and again: sign in, join from a phone, run the console."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

from playwright.sync_api import Browser, BrowserContext, Page, expect

from facilitator.i18n import translate
from tests.browser.conftest import ROOT, DemoServer, Watcher, shot

PHONE = {
    "viewport": {"width": 375, "height": 667},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


WALL = {"viewport": {"width": 1920, "height": 1080}}


LAPTOP = {"viewport": {"width": 1280, "height": 900}}


LATER = (date.today() + timedelta(days=60)).isoformat()


def tr(lang: str, key: str, **params: object) -> str:
    return translate(key, lang, **params)


def sign_in(
    browser: Browser, server: DemoServer, lang: str, who: str = "facilitator"
) -> tuple[BrowserContext, Page]:
    email, password = server.facilitator if who == "facilitator" else server.backbone
    context = browser.new_context(**LAPTOP)
    page = context.new_page()
    page.goto(f"{server.base}/login?lang={lang}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/$"))
    return context, page


def open_wall(
    browser: Browser, staff: BrowserContext, server: DemoServer, meeting_id: int, watcher: Watcher
) -> Page:
    wall = browser.new_context(**WALL, storage_state=staff.storage_state()).new_page()
    watcher.watch(wall, "projector")
    wall.goto(f"{server.base}/m/{meeting_id}/projector")
    expect(wall.locator(".values-strip")).to_be_visible()
    return wall


def join(
    browser: Browser,
    server: DemoServer,
    code: str,
    name: str,
    org: str,
    lang: str,
    watcher: Watcher,
    *,
    by_link: bool = False,
    console: Page | None = None,
) -> Page:
    """A phone typing its way in; ``console`` accepts it when the name is someone the network
    knew before (the phone waits for that tap)."""
    phone = browser.new_context(**PHONE).new_page()
    watcher.watch(phone, f"phone {name}")
    if by_link:
        phone.goto(f"{server.base}/j/{code}?lang={lang}")
    else:
        phone.goto(f"{server.base}/join?lang={lang}")
        phone.fill("input[name=code]", f"{code[:3].lower()} {code[3:]}")
        phone.click("button[type=submit]")
    phone.fill("input[name=name]", name)
    phone.fill("input[name=organization]", org)
    phone.click("button[type=submit]")
    if console is not None:
        admit(console, phone)
    expect(phone.locator("h1")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/p/\d+$"))
    return phone


def run_meeting(page: Page, lang: str, row_text: str) -> int:
    """From the staff home, open the console of the upcoming meeting in the row with that text."""
    row = page.locator("li", has_text=row_text).first
    row.get_by_role("link", name=tr(lang, "home.run")).click()
    expect(page.locator(".stepper")).to_be_visible()
    found = re.search(r"/m/(\d+)/console", page.url)
    assert found is not None
    return int(found.group(1))


def console_button(page: Page, lang: str, key: str, **params: object) -> None:
    page.get_by_role("button", name=tr(lang, key, **params), exact=True).first.click()


def join_code(page: Page) -> str:
    return page.locator(".join-code").inner_text().strip()


def new_meeting(page: Page, server: DemoServer, lang: str, group: str, title: str) -> int:
    page.goto(f"{server.base}/?lang={lang}")
    page.select_option("select[name=group_id]", label=group)
    page.fill("input[name=title]", title)
    page.click("form[action='/meetings'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/m/\d+/edit$"))
    found = re.search(r"/m/(\d+)/edit", page.url)
    assert found is not None
    page.goto(f"{server.base}/m/{found.group(1)}/console")
    expect(page.locator(".stepper")).to_be_visible()
    return int(found.group(1))


def call_off(page: Page, server: DemoServer, meeting_id: int) -> None:
    """Free the group for the next test: call the meeting off through the JSON API."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "fac_csrf")
    answer = page.request.post(
        f"{server.base}/api/m/{meeting_id}/commands",
        data=json.dumps({"type": "cancel", "id": f"cleanup-{meeting_id}"}),
        headers={"content-type": "application/json", "x-csrf-token": csrf},
    )
    assert answer.ok, answer.text()


def api(page: Page, server: DemoServer, meeting_id: int) -> dict:  # type: ignore[type-arg]
    response = page.request.get(f"{server.base}/api/m/{meeting_id}/snapshot")
    assert response.ok
    return response.json()  # type: ignore[no-any-return]


AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"


def serious(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def at_the_door(
    browser: Browser, server: DemoServer, code: str, lang: str, watcher: Watcher, who: str
) -> Page:
    phone = browser.new_context(**PHONE).new_page()
    watcher.watch(phone, f"phone {who}")
    phone.goto(f"{server.base}/j/{code}?lang={lang}")
    expect(phone.locator("#roster-orgs button").first).to_be_visible()
    return phone


def admit(console: Page, phone: Page, screenshots: str = "") -> None:
    """The phone waits for the facilitator, showing a number; the console (in its own language)
    accepts the request with that number."""
    number = phone.locator(".waiting-card .waiting-number")
    expect(number).to_be_visible()
    request = console.locator("#claims li.claim", has_text=number.inner_text())
    expect(request).to_be_visible()
    if screenshots:
        shot(phone, f"{screenshots}-waiting")
        shot(console, f"{screenshots}-console-request")
    request.locator("button.primary").click()
    expect(request).to_have_count(0)
    # The phone asks again every two seconds: in within one or two of them.
    expect(phone.locator(".waiting-card")).to_have_count(0, timeout=10_000)


def confirm(
    phone: Page, lang: str, name: str, console: Page | None = None, screenshots: str = ""
) -> None:
    expect(phone.locator("#roster-confirm")).to_contain_text(tr(lang, "phone.is_this_you"))
    expect(phone.locator("#roster-confirm strong")).to_have_text(name)
    phone.locator("#roster-join").click()
    if console is not None:
        admit(console, phone, screenshots)
    expect(phone.get_by_text(tr(lang, "phone.hello", name=name))).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/p/\d+$"))


def pick(
    phone: Page,
    lang: str,
    organization: str,
    name: str,
    screenshots: str = "",
    console: Page | None = None,
) -> None:
    """Organization, then name, then "is this you?"; a roster name is someone the network knew,
    so ``console`` accepts the phone's request."""
    phone.locator("#roster-orgs button", has_text=organization).click()
    people = phone.locator("#roster-people button")
    expect(people.first).to_be_visible()
    if screenshots:
        shot(phone, f"{screenshots}-names")
    people.filter(has_text=name).click()
    if screenshots:
        shot(phone, f"{screenshots}-is-this-you")
    confirm(phone, lang, name, console, screenshots)


def console_code(console: Page) -> str:
    return console.locator("strong.code").first.inner_text().strip()
