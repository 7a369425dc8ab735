"""Words in the browser agree with the server's: plural forms (Intl.PluralRules and Babel, both
CLDR), lists of names, values in the page's language, days where the network meets, and user
text that carries its own direction. Real Chromium against the demo; screenshots of the pages
that show these land in test-artifacts/."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from string import Formatter
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from facilitator.i18n import catalog, join_names, translate
from facilitator.localtime import local_day
from tests.browser.conftest import DemoServer, Watcher, shot

pytestmark = pytest.mark.slow
COUNTS = {"he": [0, 1, 2, 3, 11, 20, 21], "en": [0, 1, 2, 3]}
LIVE = "import('/static/js/live.js')"


def sign_in(
    browser: Browser, server: DemoServer, lang: str, **options: Any
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    page.goto(f"{server.base}/login?lang={lang}")
    page.fill("input[name=email]", server.backbone[0])
    page.fill("input[name=password]", server.backbone[1])
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/$"))
    return context, page


@pytest.mark.parametrize("lang", ["he", "en"])
def test_the_browser_says_every_count_as_the_server_does(
    browser: Browser, demo_server: DemoServer, lang: str
) -> None:
    page = browser.new_page()
    page.goto(f"{demo_server.base}/login?lang={lang}")
    counted = sorted(k for k, v in catalog(lang).items() if isinstance(v, dict))
    # Every placeholder of an entry but the count gets a number of its own.
    others = {
        key: {
            name: 40 + i
            for i, name in enumerate(
                sorted(
                    {
                        n
                        for form in catalog(lang)[key].values()
                        for _, n, _, _ in Formatter().parse(form)
                        if n
                    }
                    - {"count"}
                )
            )
        }
        for key in counted
    }
    said = page.evaluate(
        f"""async ([strings, lang, keys, counts, others]) => {{
          const {{ translator }} = await {LIVE};
          const t = translator(strings, lang);
          return keys.map((key) => counts.map((count) => t(key, {{ ...others[key], count }})));
        }}""",
        [catalog(lang), lang, counted, COUNTS[lang], others],
    )
    expected = [
        [translate(key, lang, count=n, **others[key]) for n in COUNTS[lang]] for key in counted
    ]
    assert said == expected
    # The page's own language is the translator's default.
    assert page.evaluate(
        f"""async (strings) => (await {LIVE}).translator(strings)("commitment.slipped_times", {{ count: 2 }})""",
        catalog(lang),
    ) == translate("commitment.slipped_times", lang, count=2)


def test_names_are_joined_as_babel_joins_them(browser: Browser, demo_server: DemoServer) -> None:
    page = browser.new_page()
    page.goto(f"{demo_server.base}/login")
    lists = [["Ruth Cohen", "Ruth Cohen2"], ["רות", "דן", "נועה"], ["נועה כהן"]]
    for lang in ("he", "en"):
        joined = page.evaluate(
            f"""async ([lists, lang]) => {{
              const {{ nameList, h }} = await {LIVE};
              return lists.map((names) => {{
                const box = h("p", {{}}, nameList(names, lang));
                return [box.textContent, box.querySelectorAll("bdi").length];
              }});
            }}""",
            [lists, lang],
        )
        assert joined == [[join_names(names, lang), len(names)] for names in lists]


def test_values_speak_the_walls_language(browser: Browser, demo_server: DemoServer) -> None:
    page = browser.new_page()
    page.goto(f"{demo_server.base}/login?lang=en")
    values = [
        {"id": 1, "he": {"title": "שקיפות", "behaviours": ["מחליטים בחדר"]}, "en": {"title": "Transparency", "behaviours": ["We decide in the room"]}},
        {"id": 2, "he": {"title": "אמון", "behaviours": ["מקשיבים"]}, "en": None},
    ]  # fmt: skip
    strip = page.evaluate(
        f"""async (values) => {{
          const {{ valuesStrip, translator }} = await {LIVE};
          const strip = valuesStrip(translator({{}}), values);
          return [...strip.children].map((s) => [s.lang, s.dir, s.querySelector("strong").textContent]);
        }}""",
        values,
    )
    assert strip == [["en", "auto", "Transparency"], ["he", "auto", "אמון"]]
    listed = page.evaluate(
        f"""async (values) => {{
          const {{ valueItem }} = await {LIVE};
          return values.map((v) => {{
            const li = valueItem(v);
            return [li.lang, li.dir, li.firstChild.dir, li.textContent];
          }});
        }}""",
        values,
    )
    # The item keeps the page's direction (its bullet in the card); its words their own.
    assert listed == [
        ["en", "", "auto", "Transparency: We decide in the room"],
        ["he", "", "auto", "אמון: מקשיבים"],
    ]


def test_a_moment_is_shown_on_the_networks_day(browser: Browser, demo_server: DemoServer) -> None:
    # The laptop's clock says UTC; the network meets in Jerusalem, where 22:30 UTC is tomorrow.
    staff, home = sign_in(browser, demo_server, "en", timezone_id="UTC")
    home.get_by_role("link", name=translate("home.run", "en")).first.click()
    expect(home.locator(".stepper")).to_be_visible()
    before = local_day(datetime.now(UTC), "Asia/Jerusalem").isoformat()
    shown = home.evaluate(
        f"""async () => {{
          const {{ formatDate, todayIso }} = await {LIVE};
          return [formatDate("2026-11-30T22:30:00+00:00", "en"), formatDate("2026-11-30", "en"), todayIso()];
        }}"""
    )
    after = local_day(datetime.now(UTC), "Asia/Jerusalem").isoformat()
    assert shown[:2] == ["1 Dec 2026", "30 Nov 2026"]
    assert shown[2] in (before, after)
    staff.close()


@pytest.mark.parametrize("lang", ["he", "en"])
def test_user_text_takes_its_own_direction_on_the_backbone_pages(
    browser: Browser, demo_server: DemoServer, lang: str
) -> None:
    watcher = Watcher()
    staff, page = sign_in(browser, demo_server, lang)
    watcher.watch(page, "backbone")
    page.goto(f"{demo_server.base}/backbone?lang={lang}&status=slipped")
    first = page.locator("table.data tbody tr td").first
    expect(first).to_have_attribute("dir", "auto")
    # A Hebrew commitment reads right to left on an English page too.
    assert first.evaluate("td => getComputedStyle(td).direction") == "rtl"
    # Between meetings: the demo's owner who reported being stuck, with the note.
    between = page.locator("section.between")
    expect(between.locator("h3").first).to_have_text(translate("backbone.stuck", lang, count=1))
    expect(between).to_contain_text("נתוני עלות לכל תלמיד")
    # The record that came back: marked as returned, the report's words left to right.
    returned = between.locator("table.mail-failed tbody tr")
    expect(returned).to_have_count(1)
    expect(returned.locator(".badge.bounced")).to_have_text(
        translate("backbone.mail_bounced", lang)
    )
    expect(returned).to_contain_text("User unknown")
    said = returned.locator("small[dir=auto]")
    assert said.evaluate("e => getComputedStyle(e).direction") == "ltr"
    shot(page, f"{lang}-words-backbone-slipped")
    page.locator("table.data tbody tr td a").first.click()
    expect(page.locator("h1")).to_have_attribute("dir", "auto")
    timeline = page.locator("ol.timeline").inner_text()
    arrow = translate("arrow.forward", lang)
    assert f" {arrow} " in timeline
    assert ("←" if lang == "he" else "→") == arrow
    assert translate("history.made_at", lang, title="") in timeline
    assert " ב " not in timeline  # "נקבעה ב" + title, with no stray space
    shot(page, f"{lang}-words-journey")
    page.goto(f"{demo_server.base}/backbone/attendance?lang={lang}")
    shot(page, f"{lang}-words-attendance")
    page.goto(f"{demo_server.base}/values?lang={lang}")
    expect(page.locator("input[name=title_en][dir=ltr]").first).to_have_value("Transparency")
    shot(page, f"{lang}-words-values")
    assert watcher.problems == []
    staff.close()
