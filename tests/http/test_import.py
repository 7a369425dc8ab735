"""Importing the people spreadsheet: Windows-1255 and UTF-8 CSV, .xlsx; a refused row blocks
the write; twice creates nothing; the export comes back as all matches."""

from __future__ import annotations

import base64
import io
import re
import time

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import AuditEntry, Group, GroupMember, Organization, Person
from facilitator.errors import Conflict, Invalid
from facilitator.flow import Role
from facilitator.services import (
    group_changes,
    import_plan,
    importer,
    network,
    organizations,
    people,
    spreadsheet,
)
from facilitator.services.scope import Scope
from tests.support.admin_site import Site
from tests.support.world import World

HEBREW_CSV = (
    'שם,ארגון,מגזר,דוא"ל,טלפון,קבוצות\r\n'
    "מרים לוי,עמותת גשר,עמותה,miriam@example.org,050-1111111,קבוצת עבודה\r\n"
    "יוסי כהן,עמותת גשר,,yossi@example,,\r\n"  # a bad address
    "אדם 0,עירייה,ממשלה,,,קבוצת עבודה; ועדת היגוי\r\n"  # already there
)
FIXED_CSV = HEBREW_CSV.replace("yossi@example,", "yossi@example.org,")


@pytest.fixture
def site(admin_site: Site) -> Site:
    """The administration tests' site (the tier's ``site`` is the live-server seed)."""
    return admin_site


async def _people(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Person)) or 0)


async def _write(
    db: Database, network_id: int, user_id: int | None, table: spreadsheet.Table
) -> import_plan.Plan:
    """Preview, then confirm what was previewed (as the page does)."""
    seen = await import_plan.preview(db, network_id, table)
    return await importer.apply(db, network_id, user_id, table, expected=seen.fingerprint)


async def _plan(
    db: Database, world: World, data: bytes, name: str = "people.csv"
) -> import_plan.Plan:
    return await import_plan.preview(db, world.network, spreadsheet.read_table(data, name))


async def test_windows_1255_refused_row_blocks_then_fixed_file_imports_once(
    db: Database, world: World
) -> None:
    data = HEBREW_CSV.encode("cp1255")
    plan = await _plan(db, world, data)
    assert [(r.line, r.action) for r in plan.rows] == [(2, "new"), (3, "refused"), (4, "match")]
    assert plan.rows[1].reason == ("person.bad_email", {})
    assert plan.rows[0].organization_action == "new"
    assert plan.rows[2].matched == "אדם 0"
    assert plan.counts == {
        "rows": 3,
        "new": 1,
        "match": 1,
        "refused": 1,
        "new_organizations": 1,
        "new_groups": 0,
    }
    before = await _people(db)
    with pytest.raises(Invalid) as refused:
        await _write(db, world.network, None, spreadsheet.read_table(data, "people.csv"))
    assert refused.value.key == "import.refused_rows"
    assert await _people(db) == before

    fixed = FIXED_CSV.encode("cp1255")
    plan = await _write(db, world.network, world.backbone.user_id, spreadsheet.read_table(fixed))
    assert plan.counts == {
        "rows": 3,
        "new": 2,
        "match": 1,
        "refused": 0,
        "new_organizations": 1,
        "new_groups": 0,
    }
    assert await _people(db) == before + 2
    async with db.read() as session:
        miriam = (await session.scalars(select(Person).where(Person.name == "מרים לוי"))).one()
        assert (miriam.email, miriam.phone) == ("miriam@example.org", "050-1111111")
        org = await session.get_one(Organization, miriam.organization_id)
        assert (org.name, org.sector) == ("עמותת גשר", "nonprofit")
        groups = set(
            await session.scalars(
                select(GroupMember.group_id).where(GroupMember.person_id == world.people[0])
            )
        )
        assert groups == {world.group, world.other_group}
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "people.import"))
        ).one()
        assert entry.after is not None
        assert entry.after["new"] == 2
        assert len(entry.after["created_people"]) == 2

    again = await _plan(db, world, fixed)
    assert [r.action for r in again.rows] == ["match", "match", "match"]
    assert all(r.organization_action == "match" for r in again.rows)
    assert again.rows[0].notes == []  # nothing to fill in: everything is there already
    await _write(db, world.network, None, spreadsheet.read_table(fixed))
    assert await _people(db) == before + 2


async def test_utf8_bom_english_headers_spellings_and_what_a_match_keeps(
    db: Database, world: World
) -> None:
    await organizations.update_organization(
        db, world.network, None, world.orgs[1], "עמותה", "nonprofit", "The NGO"
    )
    await people.update_person(
        db, world.network, None, world.people[1], name="אדם 1", organization_id=world.orgs[1],
        email=None, phone="03-5555555", group_ids=[],
    )  # fmt: skip
    text = (
        "\ufeffName,Organisation,Sector,E-mail,Phone,Groups\n"
        "אָדָם 1,the ngo,nonprofit,adam1@example.org,052-2222222,קבוצת עבודה\n"  # niqqud, a spelling
        "Ruth Katz,New Partners,philanthropy,,,\n"
        "Ruth  Katz,new partners,,,,\n"  # the same person twice
        "Noa,New Partners,pirates,,,\n"  # no such sector
        "Eli,New Partners,,,,no such group\n"
        ",New Partners,,,,\n"  # no name
    )
    plan = await _plan(db, world, text.encode("utf-8"))
    rows = plan.rows
    assert rows[0].action == "match"
    assert rows[0].matched == "אדם 1"
    assert ("import.fills_email", {"value": "adam1@example.org"}) in rows[0].notes
    assert ("import.keeps_phone", {"value": "03-5555555"}) in rows[0].notes
    assert ("import.adds_groups", {"count": 1}) in rows[0].notes
    assert rows[1].action == "new"
    assert rows[1].organization_action == "new"
    assert rows[2].reason == ("import.twice", {"line": 3})
    assert rows[3].reason == ("import.unknown_sector", {"value": "pirates"})
    # A group the network has not got yet is made on confirm, as the preview says.
    assert rows[4].action == "new"
    assert rows[4].new_groups == ["no such group"]
    assert ("import.new_group", {"value": "no such group"}) in rows[4].notes
    assert plan.counts["new_groups"] == 1
    assert rows[5].reason == ("input.empty", {"field": "name"})

    good = "\ufeff" + "\n".join(text.split("\n")[:3]) + "\n"
    await _write(db, world.network, None, spreadsheet.read_table(good.encode("utf-8")))
    async with db.read() as session:
        adam = await session.get_one(Person, world.people[1])
        assert (adam.email, adam.phone) == (
            "adam1@example.org",
            "03-5555555",
        )  # filled, not overwritten


async def test_xlsx_with_numbers_and_hebrew_sectors(db: Database, world: World) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["שם", "ארגון", "מגזר", "טלפון", "אימייל"])
    sheet.append(["דנה", "קרן אור", "פילנתרופיה", 972501234567, "dana@example.org"])
    sheet.append(["גיל", "קרן אור", None, None, None])
    sheet.append([None, None, None, None, None])
    out = io.BytesIO()
    book.save(out)
    plan = await _write(
        db, world.network, None, spreadsheet.read_table(out.getvalue(), "list.xlsx")
    )
    assert plan.counts == {
        "rows": 2,
        "new": 2,
        "match": 0,
        "refused": 0,
        "new_organizations": 1,
        "new_groups": 0,
    }
    async with db.read() as session:
        dana = (await session.scalars(select(Person).where(Person.name == "דנה"))).one()
        assert dana.phone == "972501234567"
        org = await session.get_one(Organization, dana.organization_id)
        assert org.sector == "philanthropy"


def test_unreadable_files_are_refused_whole() -> None:
    for data, key in (
        (b"\x81\x8d\x8e\x8f\x90", "import.bad_encoding"),  # neither UTF-8 nor Windows-1255
        (b"email,phone\nx@y.z,1\n", "import.no_columns"),
        (b"name,organization\n", "import.empty"),
        (b"PK\x03\x04not a zip", "import.bad_file"),
        (
            ("name,organization\n" + "a,b\n" * (spreadsheet.MAX_ROWS + 1)).encode(),
            "import.too_many_rows",
        ),
    ):
        with pytest.raises(Invalid) as refused:
            spreadsheet.read_table(data, "x.csv")
        assert refused.value.key == key


# ---- over HTTP ------------------------------------------------------------------------------


def _preview(site: Site, data: bytes, name: str = "people.csv") -> str:
    answer = site.client.post(
        "/admin/import", data={"csrf": site.csrf()}, files={"file": (name, data, "text/csv")}
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def test_upload_preview_confirm_and_export_round_trip(site: Site) -> None:
    site.login("bb@example.org")
    csv_text = (
        'שם,ארגון,מגזר,דוא"ל,טלפון,קבוצות\r\n'
        "מרים לוי,עמותת גשר,עמותה,miriam@example.org,+972-50-1111111,קבוצת עבודה\r\n"
        "יוסי כהן,ארגון חדש,קהילה,,,\r\n"
    )
    page = _preview(site, csv_text.encode("cp1255"))
    assert "מרים לוי" in page
    assert "ארגון חדש" in page
    data = re.search(r'name="data" value="([^"]+)"', page)
    assert data is not None
    assert base64.b64decode(data.group(1)) == csv_text.encode("cp1255")
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', page)
    assert fingerprint is not None
    form = {"csrf": site.csrf(), "data": data.group(1), "filename": "people.csv"}
    # A confirm that does not say which preview it confirms gets the preview to check again.
    blind = site.client.post(
        "/admin/import/confirm", data=form, files={"_": ("", b"", "application/octet-stream")}
    )
    assert blind.status_code == 409
    assert 'name="fingerprint"' in blind.text
    done = site.client.post(
        "/admin/import/confirm",
        data={**form, "fingerprint": fingerprint.group(1)},
        files={"_": ("", b"", "application/octet-stream")},
    )
    assert done.status_code == 200
    assert "נוספו שני אנשים" in done.text

    # The export, as is, comes back as nothing new (the "+972" kept safe for Excel included).
    exported = site.client.get("/admin/people.csv").content
    assert b"'+972-50-1111111" in exported
    again = _preview(site, exported)
    assert 'class="result-new"' not in again
    assert 'class="result-refused"' not in again
    assert again.count('class="result-match"') == 5

    refused = _preview(site, (csv_text + "בלי ארגון,,,,,\r\n").encode("utf-8"))
    assert 'class="result-refused"' in refused
    assert 'name="data"' not in refused
    no_csrf = site.client.post(
        "/admin/import", files={"file": ("a.csv", b"x", "text/csv")}, follow_redirects=False
    )
    assert no_csrf.headers["location"].endswith("error=auth.csrf")
    unreadable = site.client.post(
        "/admin/import",
        data={"csrf": site.csrf()},
        files={"file": ("a.csv", b"\x81\x8d\x8e", "text/csv")},
    )
    assert unreadable.status_code == 422
    assert "Windows-1255" in unreadable.text
    huge = site.client.post(
        "/admin/import",
        data={"csrf": site.csrf()},
        files={"file": ("a.csv", b"x" * (4 * 1024 * 1024), "text/csv")},
    )
    assert huge.status_code == 413

    site.login("fac@example.org")
    assert (
        site.client.post(
            "/admin/import", data={"csrf": site.csrf()}, files={"file": ("a.csv", b"x")}
        ).status_code
        == 403
    )


async def test_import_matches_an_organization_by_its_other_spelling(
    db: Database, world: World
) -> None:
    await organizations.update_organization(
        db, world.network, None, world.orgs[0], "עירייה", "government", "עיריית תל אביב-יפו"
    )
    plan = await _plan(db, world, "name,organization\nאדם 3,עיריית תל אביב–יפו\n".encode())
    assert plan.rows[0].action == "match"
    assert plan.rows[0].organization_id == world.orgs[0]
    await organizations.set_archived(db, world.network, None, world.orgs[2], archived=True)
    plan = await _plan(db, world, "name,organization\nחדש,ועד שכונה\n".encode())
    assert plan.rows[0].reason == ("import.organization_archived", {"organization": "ועד שכונה"})
    assert await network.add_person(db, world.network, "x", world.orgs[0])


async def test_a_merged_away_name_imports_into_the_organization_it_became(
    db: Database, world: World
) -> None:
    """Its spelling cleared from the kept organization, a merged organization's old name still
    leads there: it can never be made again (the name is taken), so it must not be planned new."""
    await organizations.merge(db, world.network, None, world.orgs[1], world.orgs[0])
    await organizations.update_organization(
        db, world.network, None, world.orgs[0], "עירייה", "government", ""
    )
    data = "name,organization\nאדם חדש,עמותה\n".encode()
    plan = await _plan(db, world, data)
    assert (plan.rows[0].action, plan.rows[0].organization_id) == ("new", world.orgs[0])
    await _write(db, world.network, None, spreadsheet.read_table(data, "people.csv"))
    async with db.read() as session:
        made = await session.scalar(select(Person).where(Person.name == "אדם חדש"))
    assert made is not None
    assert made.organization_id == world.orgs[0]


def test_a_stray_cell_far_to_the_right_does_not_widen_every_row() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "organization"])
    for n in range(3000):
        sheet.append([f"אדם {n}", "עמותה"])
    sheet.cell(row=1, column=16384, value="x")  # column XFD, the last one
    buffer = io.BytesIO()
    book.save(buffer)
    started = time.monotonic()
    table = spreadsheet.read_table(buffer.getvalue(), "people.xlsx")
    assert time.monotonic() - started < 5
    assert len(table.rows) == 3000
    assert all(len(cells) <= spreadsheet.MAX_COLUMNS for _line, cells in table.rows)


async def test_confirm_writes_only_the_plan_that_was_previewed(db: Database, world: World) -> None:
    data = "name,organization\nנועה חדשה,עמותה\n".encode()
    seen = await _plan(db, world, data)
    assert seen.rows[0].action == "new"
    # Meanwhile someone adds her by hand: the file would now match, not create.
    await network.add_person(db, world.network, "נועה חדשה", world.orgs[1])
    before = await _people(db)
    with pytest.raises(Conflict) as changed:
        await importer.apply(
            db, world.network, None, spreadsheet.read_table(data), expected=seen.fingerprint
        )
    assert changed.value.key == "import.changed"
    assert await _people(db) == before
    now = await _plan(db, world, data)
    assert now.rows[0].action == "match"
    # Archived meanwhile: the plan would now bring her back, which the preview never said.
    async with db.read() as session:
        added = await session.scalar(select(Person.id).where(Person.name == "נועה חדשה"))
    assert added is not None
    await people.set_archived(db, world.network, None, added, archived=True)
    with pytest.raises(Conflict):
        await importer.apply(
            db, world.network, None, spreadsheet.read_table(data), expected=now.fingerprint
        )
    await people.set_archived(db, world.network, None, added, archived=False)
    await importer.apply(
        db, world.network, None, spreadsheet.read_table(data), expected=now.fingerprint
    )
    assert await _people(db) == before


async def test_an_archived_person_on_the_sheet_comes_back_and_the_preview_says_so(
    db: Database, world: World
) -> None:
    await people.set_archived(db, world.network, None, world.people[1], archived=True)
    data = "name,organization\nאדם 1,עמותה\n".encode()
    plan = await _plan(db, world, data)
    assert plan.rows[0].action == "match"
    assert ("import.unarchives", {}) in plan.rows[0].notes
    await _write(db, world.network, None, spreadsheet.read_table(data))
    async with db.read() as session:
        back = await session.get_one(Person, world.people[1])
    assert back.archived_at is None


async def test_a_sheet_names_groups_the_network_has_not_got_yet(db: Database, world: World) -> None:
    """A first import, before any group is made: the groups column makes them (once each, in
    any spelling), and a group that was archived is refused rather than made again."""
    data = (
        "name,organization,groups\n"
        "רונית,עמותה,שולחן התעסוקה; קבוצת עבודה\n"
        "יואב,עמותה,שולחן  התעסוקה\n"
    ).encode()
    seen = await _plan(db, world, data)
    assert [r.new_groups for r in seen.rows] == [["שולחן התעסוקה"], ["שולחן התעסוקה"]]
    assert seen.counts["new_groups"] == 1
    await _write(db, world.network, None, spreadsheet.read_table(data))
    async with db.read() as session:
        made = list(await session.scalars(select(Group).where(Group.name == "שולחן התעסוקה")))
        assert len(made) == 1
        assert made[0].kind == "working_group"
        members = set(
            await session.scalars(
                select(GroupMember.person_id).where(GroupMember.group_id == made[0].id)
            )
        )
    assert len(members) == 2
    again = await _plan(db, world, data)
    assert [r.new_groups for r in again.rows] == [[], []]
    await group_changes.set_archived(
        db, Scope(world.network, Role.BACKBONE, None), world.backbone.user_id or 0, made[0].id,
        archived=True,
    )  # fmt: skip
    refused = await _plan(db, world, data)
    assert refused.rows[0].reason == ("import.group_archived", {"value": "שולחן התעסוקה"})
