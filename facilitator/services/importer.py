"""Import the spreadsheet of people a network already keeps (CSV or .xlsx), in three steps:
reading the file (``spreadsheet.read_table``), planning each row (``import_plan``; ``preview``
only plans), and writing the plan, here. ``apply`` plans again inside its write transaction
and writes only a plan with no refusal, so what is written is exactly what the backbone saw. A
matched person only gets what they lack (email, phone, groups): nothing stored is overwritten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitator.db import Database
from facilitator.db.models import Group, GroupMember, Organization, Person
from facilitator.errors import Conflict, Invalid
from facilitator.names import match_key
from facilitator.services import audit, upserts
from facilitator.services.import_plan import Plan, make_plan, sector_names
from facilitator.services.people import clean_email, clean_phone
from facilitator.services.spreadsheet import Table


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
        plan = await make_plan(session, network_id, table)
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
            sector_code = sector_names().get(match_key(row.sector)) if row.sector else None
            if org is None:
                # An upsert: an organization of this name made meanwhile (a phone naming it in
                # another process) is the one the row goes to, not a unique-key error.
                org_id, _made = await session.run_sync(
                    _organization, network_id, row.organization, sector_code
                )
                org = await session.get_one(Organization, org_id)
                made_orgs[key] = org
            elif org.sector is None and sector_code:
                org.sector = sector_code
            person = await session.get(Person, row.matched_id or 0)
            if person is None:
                # An upsert: someone of this name who came into the organization since the
                # plan was read (a phone joining as them, in another process) is not a unique-
                # key error but a plan that is no longer the one previewed.
                person_id, made = await session.run_sync(_person, network_id, org.id, row.name, now)
                if not made:
                    raise Conflict("import.changed")
                person = await session.get_one(Person, person_id)
                person.email, person.phone = clean_email(row.email), clean_phone(row.phone)
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


def _organization(
    session: Session, network_id: int, name: str, sector: str | None
) -> tuple[int, bool]:
    return upserts.organization(session.connection(), network_id, name, sector)


def _person(
    session: Session, network_id: int, organization_id: int, name: str, now: datetime
) -> tuple[int, bool]:
    return upserts.person(session.connection(), network_id, organization_id, name, now)
