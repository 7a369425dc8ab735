"""The door in real Chromium against the demo: a network (here, this machine's one address)
that guessed many codes is locked out, the phone is told to ask the facilitator, the console
shows the network waiting at its meeting's door in both languages and lets it in with one tap;
and a hall joining faster than the pace sees "many people are joining" and gets in by itself."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DemoServer, Watcher, shot
from tests.browser.helpers import PHONE, console_code, new_meeting, sign_in, tr

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_settings() -> dict[str, str]:
    # Two joins by name at once from an address, then one every two seconds.
    return {"FACILITATOR_NAME_JOINS_PER_ADDRESS": "2/30"}


def test_a_locked_network_is_let_in_and_a_busy_door_lets_phones_in_by_themselves(
    browser: Browser, demo_server: DemoServer
) -> None:
    watcher = Watcher()
    _staff, console = sign_in(browser, demo_server, "he")
    watcher.watch(console, "console")
    meeting_id = new_meeting(console, demo_server, "he", "קבוצת עבודה: מעורבות הורים", "דלת")
    code = console_code(console)

    # Thirty different wrong codes from this machine's address lock it.
    guesses = [f"AAAA{a}{b}" for a in "CDEFH" for b in "JKMNPQ"]
    for guess in guesses:
        httpx.post(
            f"{demo_server.base}/api/join", json={"code": guess, "name": "x", "organization": "y"}
        )

    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{demo_server.base}/j/{code}?lang=he")
    expect(phone.get_by_role("alert")).to_contain_text(tr("he", "join.locked"))
    shot(phone, "he-door-01-phone-locked")
    held = console.locator("#held")
    expect(held.locator("h2")).to_have_text(tr("he", "console.held_title", count=1))
    shot(console, "he-door-02-console-network-waiting")

    # The same in English, on a console opened anew: the network still waits.
    console.goto(f"{demo_server.base}/m/{meeting_id}/console?lang=en")
    expect(held.locator("h2")).to_have_text(tr("en", "console.held_title", count=1))
    phone.goto(f"{demo_server.base}/j/{code}?lang=en")
    expect(phone.get_by_role("alert")).to_contain_text(tr("en", "join.locked"))
    shot(phone, "en-door-01-phone-locked")
    shot(console, "en-door-02-console-network-waiting")
    held.get_by_role("button", name=tr("en", "console.held_let_in"), exact=True).click()
    expect(console.get_by_text(tr("en", "console.held_done"))).to_be_visible()
    expect(held).to_have_count(0)
    shot(console, "en-door-03-console-let-in")

    # Let in: phones join, two at once, the third told to wait a moment and then in by itself.
    phones = []
    for n, lang in enumerate(("he", "en", "he")):
        page = browser.new_context(**PHONE).new_page()
        watcher.watch(page, f"phone {n}")
        page.goto(f"{demo_server.base}/j/{code}?lang={lang}")
        page.fill("input[name=organization]", "ארגון חדש")
        page.fill("input[name=name]", f"אורחת {n}")
        phones.append((page, lang, n))
    for page, lang, _n in phones:  # three at once
        page.get_by_role("button", name=tr(lang, "phone.join"), exact=True).click()
    last, lang, n = phones[-1]
    expect(last.locator("#join-busy")).to_have_text(tr(lang, "join.busy"))
    shot(last, "he-door-04-phone-many-joining")
    for page, lang, n in phones:
        expect(page.get_by_text(tr(lang, "phone.hello", name=f"אורחת {n}"))).to_be_visible(
            timeout=15_000
        )
    expect(last.locator("#join-busy")).to_have_count(0)
    # The waiting phone's first try was answered 429, which the browser logs; nothing else.
    assert [p for p in watcher.problems if "status of 429" not in p] == []
