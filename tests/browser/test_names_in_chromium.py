"""One person per person, in real Chromium against the demo: a phone typing another spelling of
its organization lands on its own person and sees its carried commitment, and a name held by the
wrong phone is freed on the console and taken by the right one."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DemoServer, Watcher, shot
from tests.browser.helpers import (
    PHONE,
    admit,
    call_off,
    console_button,
    join_code,
    new_meeting,
    open_wall,
    run_meeting,
    sign_in,
    tr,
)

pytestmark = pytest.mark.slow


def phone_at(
    browser: Browser, server: DemoServer, code: str, lang: str, watcher: Watcher, who: str
) -> Page:
    phone = browser.new_context(**PHONE).new_page()
    watcher.watch(phone, f"phone {who}")
    phone.goto(f"{server.base}/j/{code}?lang={lang}")
    expect(phone.locator("input[name=organization]")).to_be_visible()
    return phone


def type_in(phone: Page, organization: str, name: str) -> None:
    phone.locator("input[name=organization]").press_sequentially(organization, delay=5)
    phone.fill("input[name=name]", name)


def join_now(phone: Page, lang: str) -> None:
    phone.get_by_role("button", name=tr(lang, "phone.join"), exact=True).click()


def test_a_phone_typing_another_spelling_lands_on_its_own_person(
    browser: Browser, demo_server: DemoServer
) -> None:
    lang, watcher = "he", Watcher()
    staff, console = sign_in(browser, demo_server, lang)
    watcher.watch(console, "console")
    meeting_id = run_meeting(console, lang, "מפגש קבוצת העבודה: המעבר לתיכון")
    code = join_code(open_wall(browser, staff, demo_server, meeting_id, watcher))

    # A hyphen where the network stores an en dash: the network's spelling is offered at once.
    yosef = phone_at(browser, demo_server, code, lang, watcher, "yosef")
    type_in(yosef, "עיריית באר שבע - אגף", "יוסף אבו-סבית")
    offered = yosef.locator("#org-choices button")
    expect(offered).to_have_text(["עיריית באר שבע – אגף החינוך"])
    shot(yosef, "he-names-01-phone-offers-the-network-spelling")
    # Finished typing their own way, not picking: the server still finds them.
    yosef.fill("input[name=organization]", "עיריית באר שבע - אגף החינוך")
    join_now(yosef, lang)
    admit(console, yosef)  # someone the network knew: the facilitator's tap
    expect(yosef.get_by_text(tr(lang, "phone.hello", name="יוסף אבו-סבית"))).to_be_visible()

    # ASCII quotes for gershayim, picking the offered spelling and then the offered person.
    daniel = phone_at(browser, demo_server, code, lang, watcher, "daniel")
    daniel.locator("input[name=organization]").press_sequentially('נגב טק בע"מ', delay=5)
    daniel.locator("#org-choices button", has_text="נגב טק בע״מ").click()
    daniel.locator("#people-choices button", has_text="Daniel Green").click()
    expect(daniel.locator("input[name=name]")).to_have_value("Daniel Green")
    expect(daniel.locator("input[name=organization]")).to_have_value("נגב טק בע״מ")
    shot(daniel, "he-names-02-phone-picked-person")
    join_now(daniel, lang)
    admit(console, daniel)  # someone the network knew: the facilitator's tap
    expect(daniel.get_by_text(tr(lang, "phone.hello", name="Daniel Green"))).to_be_visible()

    # A zero-width space and a direction mark pasted inside the organization.
    noa = phone_at(browser, demo_server, code, lang, watcher, "noa")
    noa.fill("input[name=organization]", "\u200fעמותת צעדים\u200b לנוער")
    noa.fill("input[name=name]", "נועה כהן")
    join_now(noa, lang)
    admit(console, noa)  # someone the network knew: the facilitator's tap
    expect(noa.get_by_text(tr(lang, "phone.hello", name="נועה כהן"))).to_be_visible()

    # Three known people, each once, each under the network's spelling of their organization.
    attendance = console.locator(".names > li")
    expect(attendance).to_have_count(3)
    for organization in ("עיריית באר שבע – אגף החינוך", "נגב טק בע״מ", "עמותת צעדים לנוער"):
        expect(attendance.filter(has_text=organization)).to_have_count(1)

    # Their carried commitments are on their phones at the review.
    console_button(console, lang, "console.start")
    expect(
        yosef.locator("li.card", has_text="לשלוח לבתי הספר מסמך עקרונות לחונכות")
    ).to_be_visible()
    expect(noa.locator("li.card", has_text="למפות את תכניות החונכות הקיימות בעיר")).to_be_visible()
    shot(yosef, "he-names-03-phone-carried-commitment")
    shot(console, "he-names-04-console-attendance")
    # Releasing asks first; "not now" leaves the name where it is.
    row = console.locator(".names > li", has_text="Daniel Green")
    row.get_by_role("button", name=tr(lang, "console.release"), exact=True).click()
    expect(
        row.get_by_text(tr(lang, "console.release_confirm", name="Daniel Green"))
    ).to_be_visible()
    shot(console, "he-names-05-console-release-asks")
    row.get_by_role("button", name=tr(lang, "console.release_keep"), exact=True).click()
    expect(row.locator(".phone-line")).to_contain_text(tr(lang, "console.phone_connected"))
    call_off(console, demo_server, meeting_id)
    assert watcher.problems == []


def test_the_facilitator_releases_a_held_name_and_the_right_phone_takes_it(
    browser: Browser, demo_server: DemoServer
) -> None:
    lang, watcher = "en", Watcher()
    staff, console = sign_in(browser, demo_server, lang)
    watcher.watch(console, "console")
    meeting_id = new_meeting(console, demo_server, lang, "קבוצת עבודה: מעורבות הורים", "Names")
    code = join_code(open_wall(browser, staff, demo_server, meeting_id, watcher))

    # The wrong phone claims Michal's name; Michal's own phone is refused and told to ask.
    wrong = phone_at(browser, demo_server, code, lang, watcher, "wrong")
    type_in(wrong, "משרד החינוך - מחוז דרום", "מיכל לוי")
    join_now(wrong, lang)
    admit(console, wrong)  # the facilitator took it for Michal's phone
    expect(wrong.get_by_text(tr(lang, "phone.hello", name="מיכל לוי"))).to_be_visible()
    right = phone_at(browser, demo_server, code, lang, watcher, "right")
    type_in(right, "משרד החינוך – מחוז דרום", "מיכל לוי")
    join_now(right, lang)
    expect(right.get_by_role("alert")).to_have_text(tr(lang, "join.name_taken", name="מיכל לוי"))
    shot(right, "en-names-06-phone-name-taken")

    # The console shows which phone holds the name and frees it, after asking once.
    row = console.locator(".names > li", has_text="מיכל לוי")
    expect(row.locator(".phone-line")).to_contain_text(tr(lang, "console.phone_connected"))
    row.get_by_role("button", name=tr(lang, "console.release"), exact=True).click()
    expect(row.get_by_text(tr(lang, "console.release_confirm", name="מיכל לוי"))).to_be_visible()
    shot(console, "en-names-07-console-release-asks")
    row.get_by_role("button", name=tr(lang, "console.release_yes"), exact=True).click()
    expect(row.get_by_role("status")).to_have_text(tr(lang, "console.released", name="מיכל לוי"))
    expect(row.locator(".phone-line")).to_contain_text(tr(lang, "console.phone_none"))
    shot(console, "en-names-08-console-released")

    # The wrong phone is told and shown the join form again; it joins as who it is.
    expect(wrong.get_by_role("alert")).to_have_text(tr(lang, "phone.released", name="מיכל לוי"))
    expect(wrong.locator("input[name=organization]")).to_have_value("")
    expect(wrong.locator("input[name=name]")).to_have_value("")
    shot(wrong, "en-names-09-phone-released")
    type_in(wrong, "Parents for the Negev", "Ruth Newcomer")
    join_now(wrong, lang)
    expect(wrong.get_by_text(tr(lang, "phone.hello", name="Ruth Newcomer"))).to_be_visible()

    # The right phone, its form still filled in, now takes the name.
    join_now(right, lang)
    expect(right.get_by_text(tr(lang, "phone.hello", name="מיכל לוי"))).to_be_visible()
    shot(right, "en-names-10-phone-took-the-name")
    expect(console.locator(".names > li")).to_have_count(2)
    expect(row.locator(".phone-line")).to_contain_text(tr(lang, "console.phone_connected"))

    # Someone not in the meeting at all is found by name, with whether a phone holds it.
    console.get_by_label(tr(lang, "console.find_name")).fill("ביטון")
    found = console.locator("#name-search-results > li")
    expect(found).to_have_count(1)
    expect(found).to_contain_text(tr(lang, "console.not_here"))
    expect(found).to_contain_text(tr(lang, "console.phone_none"))
    call_off(console, demo_server, meeting_id)
    # The refused join is an HTTP 409 the browser logs; nothing else may appear.
    assert [p for p in watcher.problems if "status of 409" not in p] == []
