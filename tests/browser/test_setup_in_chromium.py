"""The first run as a new backbone meets it, in real headless Chromium: `facilitator serve` on an
empty database prints the set-up link; the page creates a Hebrew network and signs its backbone
in; the network's settings and staff pages; a facilitator invited by link sets a password in a
browser of their own. Screenshots in Hebrew and English land in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from facilitator.i18n import translate
from tests.browser.conftest import EmptyServer, Watcher, shot

pytestmark = pytest.mark.slow
LAPTOP = {"viewport": {"width": 1280, "height": 900}}
PASSWORD = "a long backbone password"


def tr(lang: str, key: str, **params: object) -> str:
    return translate(key, lang, **params)


def test_a_new_backbone_sets_up_a_hebrew_network_and_invites_a_facilitator(
    empty_server: EmptyServer, browser: Browser
) -> None:
    watcher = Watcher()
    context = browser.new_context(**LAPTOP)
    page = watcher.watch(context.new_page(), "backbone")
    server = empty_server

    # The link printed by `serve` opens the set-up page, in Hebrew and right to left by default.
    page.goto(server.setup_link + "?lang=en")
    expect(page.locator("h1")).to_have_text(tr("en", "setup.title"))
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    shot(page, "setup-en")
    page.goto(server.setup_link + "?lang=he")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("h1")).to_have_text(tr("he", "setup.title"))
    expect(page.locator("input[name=blocker_big_egos]")).to_be_checked()
    expect(page.locator("input[name=value_title_0]")).to_have_value("שקיפות")

    page.fill("input[name=network_name]", "שותפות הדרום – רשת לחינוך")
    page.select_option("select[name=timezone]", "Asia/Jerusalem")
    page.fill("input[name=meeting_minutes]", "120")
    page.uncheck("input[name=blocker_top_down_leadership]")
    page.fill("input[name=name]", "רונית אברהם")
    page.fill("input[name=email]", "ronit@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_again]", "not the same one")
    page.click(f"button:has-text('{tr('he', 'setup.submit')}')")
    # A wrong field says why beside itself; what was typed stays.
    expect(page.locator("#password_again-error")).to_have_text(tr("he", "staff.passwords_differ"))
    expect(page.locator("input[name=network_name]")).to_have_value("שותפות הדרום – רשת לחינוך")
    expect(page.locator("input[name=blocker_top_down_leadership]")).not_to_be_checked()
    shot(page, "setup-he-error")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_again]", PASSWORD)
    page.click(f"button:has-text('{tr('he', 'setup.submit')}')")

    # Signed in, on the home page, with the first steps.
    expect(page).to_have_url(re.compile(r"/\?welcome=1$"))
    expect(page.locator("h1")).to_have_text("שותפות הדרום – רשת לחינוך")
    expect(page.locator(".notice.welcome")).to_have_text(tr("he", "setup.welcome"))
    expect(page.locator(".topbar .who")).to_have_text("רונית אברהם")
    shot(page, "setup-he-home")

    # The link is spent.
    spent = context.new_page()
    spent.goto(server.setup_link)
    expect(spent.locator("h1")).to_have_text(tr("he", "link.refused_title"))
    spent.close()

    # The network's settings.
    page.goto(f"{server.base}/admin/network")
    expect(page.locator("input[name=meeting_minutes]")).to_have_value("120")
    page.fill("input[name=public_url]", "meet.example.org")
    page.click(f"button:has-text('{tr('he', 'form.save')}')")
    expect(page.locator("#public_url-error")).to_have_text(tr("he", "network.bad_public_url"))
    page.fill("input[name=public_url]", "https://meet.example.org")
    page.click(f"button:has-text('{tr('he', 'form.save')}')")
    expect(page.locator("p.notice")).to_have_text(tr("he", "network.saved"))
    shot(page, "admin-network-he")
    page.goto(f"{server.base}/admin/network?lang=en")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    shot(page, "admin-network-en")

    # Invite a facilitator: the one-time link is shown once, to copy.
    page.goto(f"{server.base}/admin/staff?lang=he")
    page.fill(".invite-form input[name=name]", "יואב מזרחי")
    page.fill(".invite-form input[name=email]", "yoav@example.org")
    page.select_option(".invite-form select[name=role]", "facilitator")
    page.click(f"button:has-text('{tr('he', 'staff.invite_submit')}')")
    link_box = page.locator("#one-time-link")
    expect(link_box).to_have_value(re.compile(r"/invite/[\w-]+$"))
    invite_link = link_box.input_value()
    assert invite_link.startswith("https://meet.example.org/invite/")
    shot(page, "admin-staff-he-invite")

    # The invitee opens it in a browser of their own (here: this server), sets a password, is in.
    invitee_context = browser.new_context(**LAPTOP)
    invitee = watcher.watch(invitee_context.new_page(), "invitee")
    invitee.goto(server.base + "/invite/" + invite_link.rsplit("/", 1)[1])
    expect(invitee.locator("h1")).to_have_text(tr("he", "link.invite_title"))
    expect(invitee.locator("input[name=name]")).to_have_value("יואב מזרחי")
    invitee.fill("input[name=password]", "the facilitator's password")
    invitee.fill("input[name=password_again]", "the facilitator's password")
    shot(invitee, "invite-he")
    invitee.click(f"button:has-text('{tr('he', 'link.invite_submit')}')")
    expect(invitee).to_have_url(re.compile(r"/$"))
    expect(invitee.locator(".topbar .who")).to_have_text("יואב מזרחי")
    invitee.goto(server.base + "/invite/" + invite_link.rsplit("/", 1)[1])
    expect(invitee.locator(".error")).to_have_text(tr("he", "link.used"))
    invitee_context.close()

    # The staff list now shows them active; in English too.
    page.goto(f"{server.base}/admin/staff?lang=en")
    row = page.locator("table.staff-table tr", has_text="yoav@example.org")
    expect(row).to_contain_text(tr("en", "staff.state_active"))
    page.locator("summary", has_text="יואב מזרחי").click()
    shot(page, "admin-staff-en")
    page.goto(f"{server.base}/admin/staff?lang=he")
    shot(page, "admin-staff-he")
    context.close()
    # A refused form (422) and a spent link (410) are answers the test asked for; nothing else.
    expected = re.compile(r"Failed to load resource: .* status of (422|410)")
    assert [p for p in watcher.problems if not expected.search(p)] == []
