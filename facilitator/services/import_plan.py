"""Planning an import, row by row: a new person, a match with someone already there (by
``names.match_key`` within the organization, the organization found by its name or one of its
spellings), a new organization or group, or a refusal with its reason. ``preview`` only plans;
the plan's fingerprint lets the confirm step write exactly the plan the backbone saw."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import i18n
from facilitator.db import Database
from facilitator.db.models import SECTORS, Group, GroupMember, Organization, Person
from facilitator.errors import DomainError
from facilitator.names import match_key
from facilitator.services.people import clean_email, clean_phone
from facilitator.services.spreadsheet import Table
from facilitator.validate import clean_name, clean_text

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


def sector_names() -> dict[str, str]:
    """Every way of writing a sector (its code, its names, people's words), by match key."""
    names = {}
    for code in SECTORS:
        names[match_key(code)] = code
        for lang in i18n.LANGUAGES:
            names[match_key(i18n.translate(f"sector.{code}", lang))] = code
        for word in _SECTOR_WORDS.get(code, ()):
            names[match_key(word)] = code
    return names


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


async def make_plan(session: AsyncSession, network_id: int, table: Table) -> Plan:
    """What importing ``table`` would do now, row by row (read in ``session``)."""
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
    sectors = sector_names()
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
        row.name = clean_name(row.name, "name")
        row.organization = clean_name(row.organization, "organization", kind="title")
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
    """The plan, read only: what confirming would write."""
    async with db.read() as session:
        return await make_plan(session, network_id, table)
