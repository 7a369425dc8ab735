"""The backbone imports its spreadsheet in Chromium: a Windows-1255 CSV with one bad row is
refused with its reason and nothing is written; the fixed file is previewed and confirmed; a
duplicate it brought is merged into the person it duplicates. Screenshots in both languages."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DemoServer, Watcher, shot

LAPTOP = {"viewport": {"width": 1280, "height": 900}}

BAD = (
    'שם,ארגון,מגזר,דוא"ל,טלפון,קבוצות\r\n'
    "שירה אזולאי,עמותת צעדים לנוער,,shira@example.org,050-7000001,ועדת ההיגוי\r\n"
    "נועה  כהן,שותפים חדשים,קהילה,,,\r\n"  # the demo's נועה כהן, under another organization
    "עמית רז,שותפים חדשים,,amit@example,,\r\n"  # a bad address
)
FIXED = BAD.replace("amit@example,", "amit@example.org,")


def sign_in(browser: Browser, server: DemoServer, lang: str, watcher: Watcher) -> Page:
    context = browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    page = watcher.watch(context.new_page(), f"backbone-{lang}")
    page.goto(f"{server.base}/login?lang={lang}")
    page.fill("input[name=email]", server.backbone[0])
    page.fill("input[name=password]", server.backbone[1])
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/$"))
    return page


def upload(page: Page, content: bytes, name: str = "people.csv") -> None:
    page.set_input_files(
        "form.import-upload input[name=file]",
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}],
    )
    page.click("form.import-upload button[type=submit]")


def test_import_refused_then_fixed_then_merge(demo_server: DemoServer, browser: Browser) -> None:
    watcher = Watcher()
    page = sign_in(browser, demo_server, "he", watcher)
    page.goto(f"{demo_server.base}/admin/import")
    expect(page.locator("h2")).to_have_text("ייבוא אנשים מגיליון")

    upload(page, BAD.encode("cp1255"))
    refused = page.locator("tr.result-refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("כתובת הדוא״ל אינה תקינה")
    expect(page.locator("p.error")).to_contain_text("שורה אחת נדחתה")
    expect(page.locator("form.import-confirm")).to_have_count(0)
    shot(page, "import-refused-he")

    upload(page, FIXED.encode("cp1255"))
    expect(page.locator("tr.result-new")).to_have_count(3)
    expect(page.locator("tr.result-refused")).to_have_count(0)
    expect(page.locator(".import-rows")).to_contain_text("ארגון חדש")
    shot(page, "import-preview-he")
    page.click("form.import-confirm button[type=submit]")
    expect(page.locator(".import-done")).to_contain_text("נוספו 3 אנשים")

    # The same file again: every row is already there.
    upload(page, FIXED.encode("cp1255"))
    expect(page.locator("tr.result-match")).to_have_count(3)
    expect(page.locator("tr.result-new")).to_have_count(0)

    # The imported נועה כהן is the demo's: merge her into the one who has the history.
    page.goto(f"{demo_server.base}/admin/people?q=נועה")
    expect(page.locator("table.admin-table tbody tr")).to_have_count(2)
    shot(page, "people-search-he")
    page.locator("tr", has_text="שותפים חדשים").locator("a").first.click()
    keep = page.locator("select[name=keep] option", has_text="עמותת צעדים לנוער")
    page.select_option("select[name=keep]", value=keep.get_attribute("value"))
    shot(page, "person-merge-he")
    page.click("form[action$='/merge'] button[type=submit]")
    expect(page.locator("p.notice")).to_contain_text("הרשומות אוחדו")
    page.goto(f"{demo_server.base}/admin/people?q=נועה")
    expect(page.locator("table.admin-table tbody tr")).to_have_count(1)

    page.goto(f"{demo_server.base}/admin/organizations?lang=en")
    expect(page.locator("table.admin-table")).to_contain_text("שותפים חדשים")
    shot(page, "organizations-en")
    page.goto(f"{demo_server.base}/admin/import?lang=en")
    upload(page, BAD.encode("cp1255"))
    expect(page.locator("tr.result-refused")).to_contain_text(
        "That email address does not look right"
    )
    shot(page, "import-refused-en")
    page.goto(f"{demo_server.base}/admin/people?lang=en&sort=commitments")
    shot(page, "people-en")
    assert watcher.problems == []
