"""A real network from nothing to its second meeting, in real headless Chromium, as issue #11 asks:
`facilitator serve` on an empty database prints the set-up link; a new backbone creates a Hebrew
network, imports 30 people (a Windows-1255 CSV refused for one bad row and then accepted fixed,
and an .xlsx), builds a working group with a roster and a facilitator and invites them by link.
The facilitator sees only their group, runs its first meeting to the close with three phones
picking their names from the roster and one person marked present without a phone, and starts the
second meeting, which reopens those commitments. Last, the backbone merges a duplicate the import
brought (the same man under two spellings of his organization) and the accountability and
attendance figures move exactly as worked out by hand below."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import Workbook
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import EmptyServer, Watcher, shot
from tests.browser.helpers import LAPTOP, LATER, PHONE, console_button, console_code, pick, tr

pytestmark = pytest.mark.slow
HE = "he"
NETWORK = "שותפות הנגב לחינוך"
BACKBONE = ("רונית אברהם", "ronit@example.org", "a long backbone password")
FACILITATOR = ("יואב מזרחי", "yoav@example.org", "the facilitator's password")
GROUP = "קבוצת עבודה: הצלחה בתיכון"
OTHER_GROUP = "ועדת ההיגוי"

# The same man twice: the CSV knows the community centre by its full name, the .xlsx by its
# short one, so the import makes two organizations and two people (nothing to match them on).
CENTRE, CENTRE_SHORT = "המתנ״ס הקהילתי הדר", "מתנ״ס הדר"
AVRAHAM = "אברהם כהן"

HEADER = 'שם,ארגון,מגזר,דוא"ל,טלפון\r\n'
CSV_PEOPLE = [  # 18 people in 9 organizations; the last row's address is bad at first
    ("שירה אזולאי", CENTRE, "קהילה", "shira@example.org", "050-7000001"),
    (AVRAHAM, CENTRE, "", "avraham@example.org", ""),
    ("מיכל לוי", "עיריית באר שבע – אגף החינוך", "עירייה", "", "08-6463111"),
    ("יוסף אבו-סבית", "עיריית באר שבע – אגף החינוך", "", "", ""),
    ("רחל אוחיון", "קרן שורשים", "קרן", "rachel@example.org", ""),
    ("דוד ביטון", "קרן שורשים", "", "", ""),
    ("נועה פרידמן", "עמותת צעדים לנוער", "עמותה", "", ""),
    ("עומר חדד", "עמותת צעדים לנוער", "", "", ""),
    ("סמאח אלעוברה", "ועד ההורים העירוני", "קהילה", "", "052-7000009"),
    ("אורית מזרחי", "ועד ההורים העירוני", "", "", ""),
    ("יעל שטרן", "בנק הנגב", "עסקי", "", ""),
    ("רון גבאי", "בנק הנגב", "", "", ""),
    ("חנה אלמוג", "מכללת הנגב", "", "", ""),
    ("איתי נחום", "מכללת הנגב", "", "", ""),
    ("לינה אבו-קף", "מרכז קהילתי רהט", "קהילה", "", ""),
    ("מוחמד אלקרינאוי", "מרכז קהילתי רהט", "", "", ""),
    ("טל ברק", "משרד הרווחה – מחוז דרום", "ממשלה", "", ""),
    ("עמית רז", "משרד הרווחה – מחוז דרום", "", "amit@example", ""),
]
XLSX_PEOPLE = [  # 12 more: one new person in a known organization, 11 in 5 new ones
    (AVRAHAM, CENTRE_SHORT, "", "", ""),
    ("דנה שמעוני", "עמותת צעדים לנוער", "", "dana@example.org", ""),
    ("גלית פרץ", "קרן שורשים", "", "", ""),
    ("אלון דהן", "חברת החשמל – מחוז דרום", "עסקי", "", ""),
    ("מרים אוחנה", "חברת החשמל – מחוז דרום", "", "", ""),
    ("יובל כץ", "תיכון מקיף ו׳", "ממשלה", "", ""),
    ("שרית בן חמו", "תיכון מקיף ו׳", "", "", ""),
    ("ג׳ני לוין", "ג׳וינט ישראל", "פילנתרופיה", "", ""),
    ("אחמד אבו-רביעה", "ג׳וינט ישראל", "", "", ""),
    ("ליאת עזרא", "עמותת גשר לנוער", "עמותה", "", ""),
    ("בני אדרי", "עמותת גשר לנוער", "", "", ""),
    ("רותם שגיא", "ועד ההורים העירוני", "", "", ""),
]


def csv_bytes(rows: list[tuple[str, ...]]) -> bytes:
    # What Excel writes for Hebrew when asked for "CSV": Windows-1255, CRLF, no BOM.
    return (HEADER + "".join(",".join(r) + "\r\n" for r in rows)).encode("cp1255")


def xlsx_bytes(rows: list[tuple[str, ...]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["שם מלא", "שם הארגון", "מגזר", "אימייל", "נייד"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(page: Page, content: bytes, name: str, mime: str = "text/csv") -> None:
    page.set_input_files(
        "form.import-upload input[name=file]",
        files=[{"name": name, "mimeType": mime, "buffer": content}],
    )
    page.click("form.import-upload button[type=submit]")


def submit(page: Page, form: str, label: str) -> None:
    page.locator(form).get_by_role("button", name=label, exact=True).click()
    page.wait_for_load_state()


def phone_at_the_door(browser: Browser, base: str, code: str, watcher: Watcher, who: str) -> Page:
    phone = browser.new_context(**PHONE).new_page()  # type: ignore[arg-type]
    watcher.watch(phone, f"phone {who}")
    phone.goto(f"{base}/j/{code}?lang={HE}")
    expect(phone.locator("#roster-orgs button").first).to_be_visible()
    return phone


def figures(page: Page, base: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The backbone's accountability by organization (name -> row) and the group's attendance."""
    answer = page.request.get(f"{base}/api/backbone/accountability?by=organization")
    assert answer.ok, answer.text()
    rows = {r["name"]: r for r in answer.json()["rows"]}
    answer = page.request.get(f"{base}/api/backbone/attendance")
    assert answer.ok, answer.text()
    group = next(g for g in answer.json()["groups"] if g["name"] == GROUP)
    return rows, group


def test_a_network_from_nothing_to_its_second_meeting(
    empty_server: EmptyServer, browser: Browser
) -> None:
    server, watcher = empty_server, Watcher()
    base = server.base
    backbone_context = browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    page = watcher.watch(backbone_context.new_page(), "backbone")

    # 1. The printed link: a Hebrew network and its backbone, signed in at once.
    page.goto(server.setup_link)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("h1")).to_have_text(tr(HE, "setup.title"))
    page.fill("input[name=network_name]", NETWORK)
    page.select_option("select[name=language]", HE)
    page.select_option("select[name=timezone]", "Asia/Jerusalem")
    page.fill("input[name=name]", BACKBONE[0])
    page.fill("input[name=email]", BACKBONE[1])
    page.fill("input[name=password]", BACKBONE[2])
    page.fill("input[name=password_again]", BACKBONE[2])
    shot(page, "first-01-setup-he")
    page.click(f"button:has-text('{tr(HE, 'setup.submit')}')")
    expect(page).to_have_url(re.compile(r"/\?welcome=1$"))
    expect(page.locator("h1")).to_have_text(NETWORK)
    expect(page.locator(".topbar .who")).to_have_text(BACKBONE[0])
    expect(page.get_by_text(tr(HE, "home.no_groups_yet"))).to_be_visible()
    shot(page, "first-02-home-he")

    # 2. The CSV: one bad address refuses the whole file, and nothing is written.
    page.goto(f"{base}/admin/import")
    upload(page, csv_bytes(CSV_PEOPLE), "שותפים.csv")
    refused = page.locator("tr.result-refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("עמית רז")
    expect(refused).to_contain_text(tr(HE, "person.bad_email"))
    expect(page.locator("tr.result-new")).to_have_count(17)
    expect(page.locator("p.error")).to_have_text(tr(HE, "admin.import.fix_first", count=1))
    expect(page.locator("form.import-confirm")).to_have_count(0)
    shot(page, "first-03-import-refused-he")
    page.goto(f"{base}/admin/people")
    expect(page.locator("p[role=status]")).to_have_text(tr(HE, "admin.people.count", count=0))

    # The fixed file: previewed, confirmed, 18 people in 9 organizations.
    fixed = [(*r[:3], "amit@example.org", r[4]) if r[0] == "עמית רז" else r for r in CSV_PEOPLE]
    page.goto(f"{base}/admin/import")
    upload(page, csv_bytes(fixed), "שותפים-מתוקן.csv")
    expect(page.locator("tr.result-new")).to_have_count(18)
    expect(page.locator("tr.result-refused")).to_have_count(0)
    page.click("form.import-confirm button[type=submit]")
    done = page.locator(".import-done")
    expect(done).to_contain_text(tr(HE, "admin.import.done_new", count=18))
    expect(done).to_contain_text(tr(HE, "admin.import.done_orgs", count=9))

    # The .xlsx: 12 more; one organization already known, five new (the short spelling of the
    # community centre among them).
    upload(
        page,
        xlsx_bytes(XLSX_PEOPLE),
        "עוד שותפים.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    expect(page.locator("tr.result-new")).to_have_count(12)
    expect(page.locator(".import-counts")).to_contain_text(
        tr(HE, "admin.import.count_orgs", count=5)
    )
    shot(page, "first-04-import-xlsx-preview-he")
    page.click("form.import-confirm button[type=submit]")
    expect(done).to_contain_text(tr(HE, "admin.import.done_new", count=12))
    expect(done).to_contain_text(tr(HE, "admin.import.done_orgs", count=5))

    page.goto(f"{base}/admin/people")
    expect(page.locator("p[role=status]")).to_have_text(tr(HE, "admin.people.count", count=30))
    expect(page.locator("table.admin-table tbody tr")).to_have_count(30)
    page.goto(f"{base}/admin/people?q={AVRAHAM}")
    expect(page.locator("table.admin-table tbody tr")).to_have_count(2)
    shot(page, "first-05-people-two-avrahams-he")
    organizations = page.request.get(f"{base}/api/admin/organizations")
    assert organizations.ok
    assert len(organizations.json()["organizations"]) == 14

    # 3. The working group and its roster of six, both Avrahams on it (the wrong one is how the
    # backbone first met him).
    page.goto(f"{base}/admin/groups")
    form = "form#new-group"
    page.locator(f"{form} input[name=name]").fill(GROUP)
    page.locator(f"{form} select[name=kind]").select_option("working_group")
    page.locator(f"{form} textarea[name=purpose]").fill("שכל תלמיד יסיים תיכון עם בגרות מלאה")
    submit(page, form, tr(HE, "groups.create"))
    expect(page).to_have_url(re.compile(r"/admin/groups/\d+\?saved=1$"))
    group_url = page.url.split("?")[0]
    roster = [
        ("שירה", "שירה אזולאי", CENTRE),
        ("סמאח", "סמאח אלעוברה", "ועד ההורים העירוני"),
        ("אברהם", AVRAHAM, CENTRE_SHORT),
        ("רחל", "רחל אוחיון", "קרן שורשים"),
        ("אברהם", AVRAHAM, CENTRE),
        ("מיכל", "מיכל לוי", "עיריית באר שבע – אגף החינוך"),
    ]
    search = page.locator("input[data-suggest]")
    for typed, name, organization in roster:
        search.fill(typed)
        found = page.locator("#roster-found li", has_text=name).filter(
            has=page.locator("bdi", has_text=re.compile(f"^{organization}$"))
        )
        expect(found).to_have_count(1)
        found.get_by_role("button", name=tr(HE, "groups.add_member")).click()
        page.wait_for_load_state()
        expect(page.locator("#roster tbody tr", has_text=organization)).not_to_have_count(0)
    expect(page.locator("#roster tbody tr")).to_have_count(6)

    # The facilitator: invited by a one-time link from the staff page, then assigned.
    page.goto(f"{base}/admin/staff")
    page.fill(".invite-form input[name=name]", FACILITATOR[0])
    page.fill(".invite-form input[name=email]", FACILITATOR[1])
    page.select_option(".invite-form select[name=role]", "facilitator")
    page.click(f"button:has-text('{tr(HE, 'staff.invite_submit')}')")
    link_box = page.locator("#one-time-link")
    expect(link_box).to_have_value(re.compile(r"/invite/[\w-]+$"))
    invite_token = link_box.input_value().rsplit("/", 1)[1]
    shot(page, "first-06-staff-invite-he")
    page.goto(group_url)
    page.locator("#group-facilitators select[name=staff_id]").select_option(
        label=f"{FACILITATOR[0]} ({tr(HE, 'groups.role.facilitator')})"
    )
    submit(page, "#group-facilitators", tr(HE, "groups.assign"))
    expect(page.locator("#group-facilitators .list")).to_contain_text(FACILITATOR[0])
    shot(page, "first-07-group-he")

    # A second group the facilitator does not look after.
    page.goto(f"{base}/admin/groups")
    page.locator(f"{form} input[name=name]").fill(OTHER_GROUP)
    page.locator(f"{form} select[name=kind]").select_option("steering_committee")
    submit(page, form, tr(HE, "groups.create"))
    expect(page.locator("h2").first).to_contain_text(OTHER_GROUP)

    # 4. The facilitator opens the link in a browser of their own, sets a password; then signs
    # in with it on a fresh browser and sees only their group.
    invited = watcher.watch(browser.new_context(**LAPTOP).new_page(), "invitee")  # type: ignore[arg-type]
    invited.goto(f"{base}/invite/{invite_token}")
    expect(invited.locator("h1")).to_have_text(tr(HE, "link.invite_title"))
    invited.fill("input[name=password]", FACILITATOR[2])
    invited.fill("input[name=password_again]", FACILITATOR[2])
    invited.click(f"button:has-text('{tr(HE, 'link.invite_submit')}')")
    expect(invited.locator(".topbar .who")).to_have_text(FACILITATOR[0])
    invited.context.close()
    facilitator_context: BrowserContext = browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    console = watcher.watch(facilitator_context.new_page(), "facilitator")
    console.goto(f"{base}/login?lang={HE}")
    console.fill("input[name=email]", FACILITATOR[1])
    console.fill("input[name=password]", FACILITATOR[2])
    console.click("button[type=submit]")
    expect(console).to_have_url(re.compile(r"/$"))
    expect(console.locator("section.group h2")).to_have_count(1)
    expect(console.locator("section.group h2")).to_contain_text(GROUP)
    expect(console.locator("select[name=group_id] option")).to_have_text([GROUP])
    expect(console.locator("main")).not_to_contain_text(OTHER_GROUP)
    shot(console, "first-08-facilitator-home-he")

    # 5. The first meeting.
    console.fill("form[action='/meetings'] input[name=title]", "המפגש הראשון")
    console.click("form[action='/meetings'] button[type=submit]")
    expect(console).to_have_url(re.compile(r"/m/\d+/edit$"))
    first_id = int(re.findall(r"/m/(\d+)/edit", console.url)[0])
    console.goto(f"{base}/m/{first_id}/console")
    expect(console.locator(".stepper")).to_be_visible()
    code = console_code(console)

    # Three phones: organization, then name, from the group's roster.
    shira = phone_at_the_door(browser, base, code, watcher, "shira")
    expect(shira.locator("#roster-orgs button")).to_have_count(5)
    shot(shira, "first-09-phone-organizations-he")
    pick(shira, HE, CENTRE, "שירה אזולאי", console=console)
    samah = phone_at_the_door(browser, base, code, watcher, "samah")
    pick(samah, HE, "ועד ההורים העירוני", "סמאח אלעוברה", console=console)
    avi = phone_at_the_door(browser, base, code, watcher, "avraham")
    pick(avi, HE, CENTRE_SHORT, AVRAHAM, "first-10-phone-he", console)
    phones = [shira, samah, avi]

    # Rachel came without a phone: marked present from the roster still to come.
    attendance = console.locator(".names > li")
    expect(attendance).to_have_count(3)
    expected = console.locator(".expected li")
    expect(expected).to_have_count(3)
    expected.filter(has_text="רחל אוחיון").get_by_role(
        "button", name=tr(HE, "console.mark_present_label", name="רחל אוחיון")
    ).click()
    expect(attendance).to_have_count(4)
    expect(attendance.filter(has_text="רחל אוחיון").locator(".badge.no-phone")).to_have_text(
        tr(HE, "console.no_phone")
    )
    expect(expected).to_have_count(2)
    expect(console.get_by_text(tr(HE, "console.attendance", count=4))).to_be_visible()
    shot(console, "first-11-console-attendance-he")

    # Nothing to review at a group's first meeting; the opener from the phones.
    console_button(console, HE, "console.start")
    console_button(console, HE, "console.next", stage="opener")
    for phone, chosen in zip(phones, ([0, 8], [8], [3]), strict=True):
        boxes = phone.locator(".checklist input")
        expect(boxes).to_have_count(9)
        for index in chosen:
            boxes.nth(index).check()
        phone.get_by_role("button", name=tr(HE, "phone.send_opener")).click()
    expect(console.get_by_text(tr(HE, "console.respondents", count=3, total=4))).to_be_visible()
    console_button(console, HE, "console.next", stage="agenda")
    console_button(console, HE, "console.next", stage="commitments")

    # Commitments: two proposed from phones and confirmed, one recorded for Rachel.
    proposed = {
        shira: "לארגן מפגש הורים בכל שכבה ט׳",
        avi: "לפתוח את המתנ״ס לשיעורי תגבור בערבים",
    }
    for phone, text in proposed.items():
        phone.fill("textarea[data-key=ptext]", text)
        phone.fill("input[data-key=pdue]", LATER)
        phone.get_by_role("button", name=tr(HE, "phone.send_proposal")).click()
    confirm = console.get_by_role("button", name=tr(HE, "console.confirm"), exact=True)
    expect(confirm).to_have_count(2)
    confirm.first.click()
    expect(confirm).to_have_count(1)
    confirm.first.click()
    expect(console.locator("#proposals")).to_have_count(0)
    rachels = "להביא לקרן הצעה למלגות לתלמידי י״ב"
    add = console.locator("#add-commitment")
    add.locator("textarea").fill(rachels)
    add.locator("select").first.select_option(label="רחל אוחיון · קרן שורשים")
    add.locator("input[type=date]").fill(LATER)
    add.get_by_role("button", name=tr(HE, "console.add_commitment")).click()
    made = console.locator(".list > li", has_text=rachels)
    expect(made).to_contain_text("רחל אוחיון")
    shot(console, "first-12-console-commitments-he")
    console_button(console, HE, "console.close")
    expect(console.locator(".stepper li.current")).to_have_text(tr(HE, "stage.closed"))
    for phone in phones:
        expect(phone.get_by_text(tr(HE, "phone.thanks"))).to_be_visible()
    expect(avi.locator("body")).to_contain_text(proposed[avi])
    shot(console, "first-13-console-closed-he")

    # 6. The second meeting: starting it reopens the three commitments, each with its owner.
    console.goto(f"{base}/?lang={HE}")
    console.fill("form[action='/meetings'] input[name=title]", "המפגש השני")
    console.click("form[action='/meetings'] button[type=submit]")
    expect(console).to_have_url(re.compile(r"/m/\d+/edit$"))
    second_id = int(re.findall(r"/m/(\d+)/edit", console.url)[0])
    console.goto(f"{base}/m/{second_id}/console")
    console_button(console, HE, "console.start")
    expect(console.locator(".stepper li.current")).to_have_text(tr(HE, "stage.review"))
    reopened = console.locator(".list > li").filter(has=console.locator(".outcome"))
    expect(reopened).to_have_count(3)
    owners = {
        proposed[shira]: ("שירה אזולאי", CENTRE),
        proposed[avi]: (AVRAHAM, CENTRE_SHORT),
        rachels: ("רחל אוחיון", "קרן שורשים"),
    }
    for text, (owner, organization) in owners.items():
        row = reopened.filter(has_text=text)
        expect(row.locator(".meta").first).to_contain_text(f"{owner} · {organization}")
        expect(row.locator(".outcome")).to_have_text(tr(HE, "outcome.none"))
    shot(console, "first-14-console-second-meeting-review-he")

    # 7. The figures before the merge, worked out by hand. Three open commitments, due in 60
    # days, owned by people of three organizations; the first meeting had four of the roster's
    # six (two phones from two organizations, the short-named centre's Avraham, Rachel from the
    # foundation); the second, started, nobody yet.
    one_open = {"made": 1, "open": 1, "done": 0, "overdue": 0, "slipped": 0, "dropped": 0}
    by_org, attended = figures(page, base)
    assert {name: {k: row[k] for k in one_open} for name, row in by_org.items()} == {
        CENTRE: one_open,
        CENTRE_SHORT: one_open,
        "קרן שורשים": one_open,
    }
    meetings = [
        {k: m[k] for k in ("title", "attended", "organizations", "expected", "came", "guests")}
        | {"rate": m["rate"]}
        for m in attended["meetings"]
    ]
    assert meetings == [
        {"title": "המפגש הראשון", "attended": 4, "organizations": 4, "expected": 6, "came": 4,
         "guests": 0, "rate": 0.667},
        {"title": "המפגש השני", "attended": 0, "organizations": 0, "expected": 6, "came": 0,
         "guests": 0, "rate": 0.0},
    ]  # fmt: skip
    assert (attended["expected"], attended["came"], attended["rate"]) == (6, 4, 0.333)

    # The merge: the short-named centre's Avraham is the full-named centre's.
    page.goto(f"{base}/admin/people?q={AVRAHAM}")
    page.locator("table.admin-table tbody tr").filter(
        has=page.locator("bdi", has_text=re.compile(f"^{CENTRE_SHORT}$"))
    ).locator("a").first.click()
    keep = page.locator("select[name=keep] option", has_text=CENTRE)
    expect(keep).to_have_count(1)
    page.select_option("select[name=keep]", value=keep.get_attribute("value"))
    shot(page, "first-15-person-merge-he")
    page.click("form[action$='/merge'] button[type=submit]")
    expect(page.locator("p.notice")).to_have_text(tr(HE, "admin.people.merged"))
    page.goto(f"{base}/admin/people?q={AVRAHAM}")
    avraham = page.locator("table.admin-table tbody tr")
    expect(avraham).to_have_count(1)
    expect(avraham).to_contain_text(CENTRE)
    expect(avraham.locator("td.num")).to_have_text("1")  # the commitment came with him
    page.goto(f"{base}/admin/people")
    expect(page.locator("p[role=status]")).to_have_text(tr(HE, "admin.people.count", count=29))

    # After: his commitment counts for the full-named centre (now 2) and the short-named one has
    # none left; the roster is five (he was on it twice); the first meeting had the same four
    # people, all expected, but from three organizations (he and Shira share the centre).
    by_org, attended = figures(page, base)
    assert {name: {k: row[k] for k in one_open} for name, row in by_org.items()} == {
        CENTRE: one_open | {"made": 2, "open": 2},
        "קרן שורשים": one_open,
    }
    meetings = [
        {k: m[k] for k in ("attended", "organizations", "expected", "came", "guests", "rate")}
        for m in attended["meetings"]
    ]
    assert meetings == [
        {"attended": 4, "organizations": 3, "expected": 5, "came": 4, "guests": 0, "rate": 0.8},
        {"attended": 0, "organizations": 0, "expected": 5, "came": 0, "guests": 0, "rate": 0.0},
    ]
    assert (attended["expected"], attended["came"], attended["rate"]) == (5, 4, 0.4)

    # The console's review follows: the commitment is now the kept Avraham's.
    console.reload()
    row = console.locator(".list > li", has_text=proposed[avi])
    expect(row.locator(".meta").first).to_contain_text(f"{AVRAHAM} · {CENTRE}")
    shot(console, "first-16-console-review-after-merge-he")

    # The backbone's pages in both languages.
    page.goto(f"{base}/backbone/accountability?by=organization")
    expect(page.locator("main")).to_contain_text(CENTRE)
    shot(page, "first-17-accountability-he")
    page.goto(f"{base}/backbone/attendance?lang=en")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("main")).to_contain_text(GROUP)
    shot(page, "first-18-attendance-en")
    page.goto(f"{base}/admin/people?lang=en")
    expect(page.locator("p[role=status]")).to_have_text(tr("en", "admin.people.count", count=29))
    shot(page, "first-19-people-en")
    console.goto(f"{base}/m/{second_id}/console?lang=en")
    expect(console.locator(".stepper li.current")).to_have_text(tr("en", "stage.review"))
    shot(console, "first-20-console-review-en")
    for context in browser.contexts:
        context.close()
    assert watcher.problems == []
