"""The backbone administers how the network works together, in real headless Chromium: a working
group with a roster (found as one types) and a facilitator, a strategy with its target, the
blocker list retired and restored, and the audit log that records it all. Screenshots in Hebrew
and English land in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DemoServer, Watcher, shot
from tests.browser.helpers import sign_in, tr

pytestmark = pytest.mark.slow


def submit(page: Page, form: str, label: str) -> None:
    page.locator(form).get_by_role("button", name=label, exact=True).click()
    page.wait_for_load_state()


def test_a_group_a_strategy_the_blockers_and_the_audit_log_in_hebrew(
    browser: Browser, demo_server: DemoServer
) -> None:
    watcher = Watcher()
    context, page = sign_in(browser, demo_server, "he", who="backbone")
    watcher.watch(page, "admin")
    lang = "he"

    # A new working group with a roster and a facilitator.
    page.goto(f"{demo_server.base}/admin/groups")
    form = "form#new-group"
    page.locator(f"{form} input[name=name]").fill("צוות משימה: חונכות")
    page.locator(f"{form} select[name=kind]").select_option("task_force")
    page.locator(f"{form} textarea[name=purpose]").fill("לגייס 300 חונכים לתלמידי כיתה ט׳")
    submit(page, form, tr(lang, "groups.create"))
    expect(page).to_have_url(re.compile(r"/admin/groups/\d+\?saved=1$"))
    expect(page.locator("h2").first).to_contain_text("צוות משימה: חונכות")
    expect(page.locator(".notice")).to_have_text(tr(lang, "admin.saved"))

    # The roster: typing finds people on the server, each with its own "add" button.
    search = page.locator("input[data-suggest]")
    for typed, name in (("מיכ", "מיכל לוי"), ("צעדים", "נועה כהן"), ("Dan", "Daniel Green")):
        search.fill(typed)
        row = page.locator("#roster-found li", has_text=name)
        expect(row).to_be_visible()
        row.get_by_role("button", name=tr(lang, "groups.add_member")).click()
        page.wait_for_load_state()
        expect(page.locator("#roster table")).to_contain_text(name)
    expect(page.locator("#roster tbody tr")).to_have_count(3)
    page.locator("#roster tbody tr", has_text="Daniel Green").get_by_role(
        "button", name=tr(lang, "groups.remove_member")
    ).click()
    expect(page.locator("#roster tbody tr")).to_have_count(2)

    page.locator("#group-facilitators select[name=staff_id]").select_option(
        label=f"נועה כהן ({tr(lang, 'groups.role.facilitator')})"
    )
    submit(page, "#group-facilitators", tr(lang, "groups.assign"))
    expect(page.locator("#group-facilitators .list")).to_contain_text("נועה כהן")
    shot(page, "admin-group-he")
    group_url = page.url.split("?")[0]
    group_id = int(group_url.rsplit("/", 1)[1])

    page.goto(f"{demo_server.base}/admin/groups")
    row = page.locator("table.admin-table tr", has_text="צוות משימה: חונכות")
    expect(row).to_contain_text(tr(lang, "group.task_force"))
    expect(row).to_contain_text("נועה כהן")
    shot(page, "admin-groups-he")

    # A strategy with a target: what, how much, by when; carried by the new group.
    page.goto(f"{demo_server.base}/admin/strategies")
    form = "form#new-strategy"
    page.locator(f"{form} input[name=title]").fill("חונך לכל תלמיד בסיכון")
    page.locator(f"{form} input[name=target]").fill("תלמידי ט׳ בסיכון שיש להם חונך קבוע")
    page.locator(f"{form} input[name=target_amount]").fill("300")
    page.locator(f"{form} input[name=target_by]").fill("2027-06-30")
    page.locator(f"{form} input[name=group_{group_id}]").check()
    submit(page, form, tr(lang, "strategies.add"))
    made = page.locator("details.strategy", has_text="חונך לכל תלמיד בסיכון")
    expect(made).to_contain_text("300")
    expect(made).to_contain_text("30 ביוני 2027")
    expect(made).to_contain_text("צוות משימה: חונכות")
    shot(page, "admin-strategies-he")

    # The blocker list: retire two, see them kept apart, then restore the seed's nine.
    page.goto(f"{demo_server.base}/admin/blockers")
    for _ in range(2):
        page.locator("li.blocker").first.get_by_role(
            "button", name=tr(lang, "blockers.retire")
        ).click()
        page.wait_for_load_state()
    expect(page.locator("li.blocker")).to_have_count(7)
    expect(page.locator("#retired li")).to_have_count(2)
    expect(page.locator("#retired")).to_contain_text("יעדים לא ברורים")
    page.locator("li.blocker").nth(1).get_by_role("button", name=tr(lang, "blockers.up")).click()
    page.wait_for_load_state()
    shot(page, "admin-blockers-retired-he")
    submit(page, "form#restore-seed", tr(lang, "blockers.restore_seed"))
    expect(page.locator("li.blocker")).to_have_count(9)
    expect(page.locator("#retired")).to_have_count(0)
    expect(page.locator("li.blocker").first.locator("input[name=label_he]")).to_have_value(
        "יעדים לא ברורים"
    )
    shot(page, "admin-blockers-he")

    # The audit log tells all of it, and filters by what changed.
    page.goto(f"{demo_server.base}/admin/audit")
    log = page.locator("table.audit-log")
    for key in ("group.create", "group.member_add", "group.member_remove", "group.assign",
                "strategy.create", "blocker.retire", "blocker.move", "blocker.restore_seed"):  # fmt: skip
        expect(log).to_contain_text(tr(lang, f"audit.action.{key}"))
    expect(log.locator("tr", has_text=tr(lang, "audit.action.group.create")).first).to_contain_text(
        "דנה שמעוני"
    )
    expect(page.locator("main form[method=post]")).to_have_count(0)
    shot(page, "admin-audit-he")
    page.locator("select[name=entity]").select_option("strategy")
    page.get_by_role("button", name=tr(lang, "audit.filter")).click()
    expect(log.locator("tbody tr")).to_have_count(1)
    assert watcher.problems == []
    context.close()


def test_the_same_pages_in_english(browser: Browser, demo_server: DemoServer) -> None:
    watcher = Watcher()
    context, page = sign_in(browser, demo_server, "en", who="backbone")
    watcher.watch(page, "admin-en")
    page.goto(f"{demo_server.base}/admin/groups")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("table.admin-table").first).to_contain_text("working group")
    shot(page, "admin-groups-en")
    page.locator("table.admin-table a", has_text="המעבר לתיכון").click()
    expect(page.locator("#roster tbody tr")).to_have_count(9)
    expect(page.locator("#roster")).to_contain_text(" of ")
    shot(page, "admin-group-en")
    for name in ("strategies", "blockers", "values", "audit"):
        page.goto(f"{demo_server.base}/admin/{name}")
        expect(page.locator(".tabs a[aria-current=page]")).to_have_text(
            tr("en", f"admin.tab.{name}")
        )
        shot(page, f"admin-{name}-en")
    page.goto(f"{demo_server.base}/backbone/attendance")
    expect(page.locator("main")).to_contain_text(tr("en", "backbone.came_of_expected"))
    shot(page, "backbone-attendance-en")
    # Each group in a line; a group's link opens it meeting by meeting.
    page.locator("main table.data a").first.click()
    expect(page.locator("main")).to_contain_text(tr("en", "backbone.present"))
    shot(page, "backbone-attendance-group-en")
    for lang in ("en", "he"):
        page.goto(f"{demo_server.base}/backbone/opener?lang={lang}")
        expect(page.locator("main table.data a").first).to_be_visible()
        shot(page, f"backbone-opener-{lang}")
        page.locator("main table.data a").first.click()
        expect(page.locator("main")).to_contain_text(tr(lang, "backbone.over_time"))
        shot(page, f"backbone-opener-group-{lang}")
    page.goto(f"{demo_server.base}/backbone/attendance?lang=he")
    expect(page.locator("main")).to_contain_text(tr("he", "backbone.came_of_expected"))
    shot(page, "backbone-attendance-he")
    # A facilitator reaches only the groups they look after, and no backbone page.
    facilitator_context, facilitator = sign_in(browser, demo_server, "en")
    facilitator.goto(f"{demo_server.base}/admin/groups")
    expect(facilitator.locator("table.admin-table")).to_contain_text("המעבר לתיכון")
    expect(facilitator.locator("main")).not_to_contain_text("ועדת ההיגוי")
    expect(facilitator.locator("form#new-group")).to_have_count(0)
    assert facilitator.goto(f"{demo_server.base}/admin/strategies").status == 403  # type: ignore[union-attr]
    assert watcher.problems == []
    facilitator_context.close()
    context.close()
