"""Import the spreadsheet of people a network already keeps (CSV or .xlsx).

Reading a file is pure (``read_table``: bytes in, rows of text out; run it in a thread). Planning
says, row by row, what would happen: a new person, a match with someone already there (by
``names.match_key`` within the organization, the organization found by its name or one of its
spellings), a new organization, or a refusal with its reason. ``preview`` only plans;
``apply`` plans again inside its write transaction and writes only a plan with no refusal, so
what is written is exactly what the backbone saw. A matched person only gets what they lack
(email, phone, groups): nothing stored is overwritten.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import i18n
from facilitator.db import Database
from facilitator.db.models import SECTORS, Group, GroupMember, Organization, Person
from facilitator.errors import Conflict, DomainError, Invalid
from facilitator.names import match_key, strip_invisible
from facilitator.services import audit
from facilitator.services.people import clean_email, clean_phone
from facilitator.validate import LIMITS, clean_text

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
#: A cell longer than this is refused as too long anyway; reading stops there.
MAX_CELL = 1000
#: What an .xlsx may unpack to: a small file cannot hide a huge one.
MAX_UNPACKED = 40 * 1024 * 1024
FIELDS = ("name", "organization", "sector", "email", "phone", "groups")

# Headers people write, by key (match_key folds case, quotes and gershayim).
_HEADERS = {
    "name": ("name", "full name", "person", "שם", "שם מלא"),
    "organization": ("organization", "organisation", "org", "ארגון", "שם הארגון"),
    "sector": ("sector", "מגזר"),
    "email": ("email", "e-mail", "mail", 'דוא"ל', "דואל", "אימייל", "מייל", "דואר אלקטרוני"),
    "phone": ("phone", "mobile", "telephone", "טלפון", "נייד", "טלפון נייד"),
    "groups": ("groups", "group", "קבוצות", "קבוצה"),
}
HEADERS = {match_key(h): f for f, names in _HEADERS.items() for h in names}
# Sectors by code and by their names in both languages, plus the words people use for them.
_SECTOR_WORDS = {
    "government": ("ממשלתי", "ממשלתית", "רשות מקומית", "עירייה"),
    "nonprofit": ("עמותות", 'מלכ"ר', "ngo", "non-profit"),
    "business": ("עסקים", "מגזר עסקי", "עסקית"),
    "philanthropy": ("פילנתרופי", "קרן", "קרנות"),
    "community": ("קהילתי", "תושבים"),
    "backbone": ("שדרה",),
    "other": ("אחר", "אחרת"),
}


def _sector_names() -> dict[str, str]:
    names = {}
    for code in SECTORS:
        names[match_key(code)] = code
        for lang in i18n.LANGUAGES:
            names[match_key(i18n.translate(f"sector.{code}", lang))] = code
        for word in _SECTOR_WORDS.get(code, ()):
            names[match_key(word)] = code
    return names


@dataclass
class Table:
    """The file's rows as text, with each row's number in the spreadsheet (header is 1)."""

    columns: dict[str, int]
    rows: list[tuple[int, list[str]]]


def _decode(data: bytes) -> str:
    # Strict both ways: a wrong guess fails loudly instead of importing mojibake.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1255")
    except UnicodeDecodeError:
        raise Invalid("import.bad_encoding") from None


def _csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = []
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except csv.Error:
        raise Invalid("import.bad_file") from None


#: Columns read from a sheet (a person's row needs six; a few more are read and ignored).
MAX_COLUMNS = 40


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # only the import page needs it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED:
                raise Invalid("import.too_large")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise Invalid("import.bad_file") from None
    try:
        sheet = book.worksheets[0]
        rows = []
        # A stray cell far to the right makes every row that wide: read the first columns only.
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append(["" if v is None else _cell_text(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        book.close()


def _cell_text(value: object) -> str:
    # A phone typed as a number comes back as 972501234567.0; a whole number is shown whole.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(data: bytes, filename: str = "") -> Table:
    """The rows of a CSV (UTF-8, with or without BOM, or Windows-1255) or an .xlsx file, and
    which column holds what. Refuses a file it cannot read, with no name column, or too big."""
    if len(data) > MAX_BYTES:
        raise Invalid("import.too_large")
    is_xlsx = data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    raw = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    while raw and not any(c.strip() for c in raw[0]):
        raw.pop(0)
    if not raw:
        raise Invalid("import.empty")
    columns: dict[str, int] = {}
    for index, header in enumerate(raw[0]):
        found = HEADERS.get(match_key(header))
        if found and found not in columns:
            columns[found] = index
    if "name" not in columns or "organization" not in columns:
        raise Invalid("import.no_columns")
    rows = []
    for number, row in enumerate(raw[1:], start=2):
        cells = [_plain(c) for c in row]
        if any(cells):
            rows.append((number, cells))
    if len(rows) > MAX_ROWS:
        raise Invalid("import.too_many_rows", limit=MAX_ROWS)
    if not rows:
        raise Invalid("import.empty")
    return Table(columns, rows)


def _plain(cell: str) -> str:
    cell = strip_invisible(cell[:MAX_CELL]).strip()
    # Our own export keeps a leading = + - @ from running as a formula with a quote: undo it.
    if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@"):
        return cell[1:]
    return cell


@dataclass
class Row:
    line: int
    name: str
    organization: str
    sector: str = ""
    email: str = ""
    phone: str = ""
    groups: list[str] = field(default_factory=list)
    #: "new", "match" or "refused".
    action: str = "new"
    #: The person matched (their stored spelling), when ``action`` is "match".
    matched: str | None = None
    matched_id: int | None = None
    #: "new" or "match": whether the organization is there already.
    organization_action: str = "match"
    organization_id: int | None = None
    #: The refusal, as a catalog key and its parameters.
    reason: tuple[str, dict[str, Any]] | None = None
    #: What a match would get, and what it keeps, as catalog keys and their parameters.
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    #: Groups the sheet names that the network has not got yet: made on confirm (working groups).
    new_groups: list[str] = field(default_factory=list)


@dataclass
class Plan:
    rows: list[Row]

    @property
    def counts(self) -> dict[str, int]:
        made = Counter(r.action for r in self.rows)
        new_orgs = {match_key(r.organization) for r in self.rows if r.organization_action == "new"}
        return {
            "rows": len(self.rows),
            "new": made["new"],
            "match": made["match"],
            "refused": made["refused"],
            "new_organizations": len(new_orgs),
            "new_groups": len({match_key(g) for r in self.rows for g in r.new_groups}),
        }

    @property
    def fingerprint(self) -> str:
        """What this plan would do, row by row, hashed: the confirm step writes only the plan
        the backbone saw (people added or merged meanwhile make it another)."""
        shape = [
            (
                r.line,
                r.action,
                r.matched_id,
                r.organization_action,
                r.organization_id,
                r.group_ids,
                r.new_groups,
                r.notes,  # what a match gets or keeps, and whether it leaves the archive
            )
            for r in self.rows
        ]
        return hashlib.sha256(json.dumps(shape, default=str).encode()).hexdigest()

    @property
    def ok(self) -> bool:
        return not any(r.action == "refused" for r in self.rows)


def _cell(table: Table, cells: list[str], name: str) -> str:
    index = table.columns.get(name)
    return cells[index] if index is not None and index < len(cells) else ""


def _refuse(row: Row, key: str, **params: Any) -> Row:
    row.action, row.reason = "refused", (key, params)
    return row


async def _plan(session: AsyncSession, network_id: int, table: Table) -> Plan:
    orgs = {
        org.id: org
        for org in await session.scalars(
            select(Organization).where(Organization.network_id == network_id)
        )
    }

    def final(org: Organization) -> Organization:
        seen = {org.id}
        while org.merged_into_id is not None and org.merged_into_id not in seen:
            org = orgs.get(org.merged_into_id, org)
            seen.add(org.id)
        return org

    org_by_key: dict[str, Organization] = {}
    # Current spellings first; a merged organization's own spellings then stand for the one it
    # was merged into (its name is still taken, so it can never be made again).
    for merged in (False, True):
        for org in orgs.values():
            if (org.merged_into_id is not None) == merged:
                for spelling in [org.name, *(org.aliases or [])]:
                    org_by_key.setdefault(match_key(spelling)[:200], final(org))
    people: dict[tuple[int, str], Person] = {}
    for person in await session.scalars(
        select(Person)
        .where(Person.network_id == network_id, Person.merged_into_id.is_(None))
        .order_by(Person.archived_at.is_not(None), Person.id)
    ):
        if person.organization_id is not None:
            people.setdefault((person.organization_id, person.name_key), person)
    groups: dict[str, Group] = {}
    for g in await session.scalars(
        select(Group).where(Group.network_id == network_id).order_by(Group.archived_at.is_not(None))
    ):
        groups.setdefault(match_key(g.name), g)
    members: set[tuple[int, int]] = {
        (pid, gid)
        for pid, gid in await session.execute(
            select(GroupMember.person_id, GroupMember.group_id)
            .join(Person, Person.id == GroupMember.person_id)
            .where(Person.network_id == network_id)
        )
    }
    sectors = _sector_names()
    seen: dict[tuple[str, str], int] = {}
    new_orgs: set[str] = set()
    rows = []
    for line, cells in table.rows:
        row = Row(
            line,
            _cell(table, cells, "name"),
            _cell(table, cells, "organization"),
            _cell(table, cells, "sector"),
            _cell(table, cells, "email"),
            _cell(table, cells, "phone"),
        )
        raw_groups = _cell(table, cells, "groups").replace(",", ";")
        row.groups = [g.strip() for g in raw_groups.split(";") if g.strip()]
        rows.append(_plan_row(row, org_by_key, people, groups, members, sectors, seen, new_orgs))
    return Plan(rows)


def _plan_row(
    row: Row,
    org_by_key: dict[str, Organization],
    people: dict[tuple[int, str], Person],
    groups: dict[str, Group],
    members: set[tuple[int, int]],
    sectors: dict[str, str],
    seen: dict[tuple[str, str], int],
    new_orgs: set[str],
) -> Row:
    try:
        row.name = clean_text(row.name, "name", kind="name")
        row.organization = clean_text(row.organization, "organization", kind="title")
        email = clean_email(row.email)
        phone = clean_phone(row.phone)
    except DomainError as error:
        return _refuse(row, error.key, **error.params)
    sector = sectors.get(match_key(row.sector)) if row.sector else None
    if row.sector and sector is None:
        return _refuse(row, "import.unknown_sector", value=row.sector)
    for name in row.groups:
        group = groups.get(match_key(name))
        if group is None:
            try:
                row.new_groups.append(clean_text(name, "group", kind="title"))
            except DomainError as error:
                return _refuse(row, error.key, **error.params)
            row.notes.append(("import.new_group", {"value": name}))
        elif group.archived_at is not None:
            return _refuse(row, "import.group_archived", value=group.name)
        else:
            row.group_ids.append(group.id)
    org_key, person_key = match_key(row.organization)[:200], match_key(row.name)[:120]
    org = org_by_key.get(org_key)
    # One person twice, whichever spelling of their organization each row used.
    who = (str(org.id) if org else org_key, person_key)
    if who in seen:
        return _refuse(row, "import.twice", line=seen[who])
    seen[who] = row.line
    if org is None:
        row.organization_action = "new"
        if org_key in new_orgs:
            row.organization_action = "new_again"  # the row that first names it creates it
        new_orgs.add(org_key)
        return row
    if org.archived_at is not None:
        return _refuse(row, "import.organization_archived", organization=org.name)
    row.organization_id = org.id
    if sector and org.sector and sector != org.sector:
        row.notes.append(("import.keeps_sector", {"sector": org.sector}))
    elif sector and not org.sector:
        row.notes.append(("import.fills_sector", {"sector": sector}))
    person = people.get((org.id, person_key))
    if person is None:
        return row
    row.action, row.matched, row.matched_id = "match", person.name, person.id
    if person.archived_at is not None:
        # The sheet lists them as a partner again: they come back from the archive, said so.
        row.notes.append(("import.unarchives", {}))
    for what, given, stored in (("email", email, person.email), ("phone", phone, person.phone)):
        if given and not stored:
            row.notes.append((f"import.fills_{what}", {"value": given}))
        elif given and stored != given:
            row.notes.append((f"import.keeps_{what}", {"value": stored}))
    joining = [g for g in row.group_ids if (person.id, g) not in members]
    if joining:
        row.notes.append(("import.adds_groups", {"count": len(joining)}))
    return row


async def preview(db: Database, network_id: int, table: Table) -> Plan:
    async with db.read() as session:
        return await _plan(session, network_id, table)


async def apply(
    db: Database,
    network_id: int,
    user_id: int | None,
    table: Table,
    *,
    expected: str,
) -> Plan:
    """Plan again and write it, in one transaction with one audit entry; a plan with a refused
    row writes nothing (``Invalid('import.refused_rows')``), and nor does one that is no longer
    the plan previewed (``expected``, its fingerprint: ``Conflict('import.changed')``)."""
    async with db.write() as session:
        plan = await _plan(session, network_id, table)
        if not plan.ok:
            raise Invalid("import.refused_rows", count=plan.counts["refused"])
        if plan.fingerprint != expected:
            raise Conflict("import.changed")
        now = db.now()
        made_orgs: dict[str, Organization] = {}
        made_groups: dict[str, Group] = {}
        created: list[int] = []
        updated: list[int] = []
        for row in plan.rows:
            key = match_key(row.organization)[:200]
            org = await session.get(Organization, row.organization_id or 0) or made_orgs.get(key)
            sector_code = _sector_names().get(match_key(row.sector)) if row.sector else None
            if org is None:
                org = Organization(network_id=network_id, name=row.organization, sector=sector_code)
                session.add(org)
                await session.flush()
                made_orgs[key] = org
            elif org.sector is None and sector_code:
                org.sector = sector_code
            person = await session.get(Person, row.matched_id or 0)
            if person is None:
                person = Person(
                    network_id=network_id,
                    organization_id=org.id,
                    name=row.name,
                    created_at=now,
                    email=clean_email(row.email),
                    phone=clean_phone(row.phone),
                )
                session.add(person)
                await session.flush()
                created.append(person.id)
            else:
                before = (person.email, person.phone, person.archived_at)
                person.email = person.email or clean_email(row.email)
                person.phone = person.phone or clean_phone(row.phone)
                person.archived_at = None
                if before != (person.email, person.phone, person.archived_at):
                    updated.append(person.id)
            have = set(
                await session.scalars(
                    select(GroupMember.group_id).where(GroupMember.person_id == person.id)
                )
            )
            for group_name in row.new_groups:
                key = match_key(group_name)
                if key not in made_groups:
                    made_groups[key] = Group(
                        network_id=network_id, name=group_name, kind="working_group"
                    )
                    session.add(made_groups[key])
                    await session.flush()
                row.group_ids.append(made_groups[key].id)
            for gid in dict.fromkeys(row.group_ids):
                if gid not in have:
                    session.add(GroupMember(group_id=gid, person_id=person.id, added_at=now))
                    if row.matched_id and person.id not in updated:
                        updated.append(person.id)
        audit.record(
            session, network_id, user_id, "people.import", "person", None,
            after={
                **plan.counts,
                "created_people": created,
                "updated_people": updated,
                "created_organizations": [o.id for o in made_orgs.values()],
                "created_groups": [g.name for g in made_groups.values()],
            },
            at=now,
        )  # fmt: skip
        return plan


__all__ = ["FIELDS", "LIMITS", "MAX_BYTES", "MAX_ROWS", "Plan", "Row", "Table", "apply", "preview"]
