"""Matching what people type to who they are.

A phone names its organization and its person in its own spelling: a hyphen for the network's en
dash, ASCII quotes for gershayim, a direction mark pasted from a chat. Lookups compare the stored
``name_key`` (``facilitator.names.match_key``), never the spelling, and a joining phone is offered
the network's own spellings as it types.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import (
    SECTORS,
    Attendance,
    Commitment,
    Group,
    GroupMember,
    Meeting,
    Organization,
    ParticipantToken,
    Person,
)
from facilitator.errors import Invalid
from facilitator.names import look_key, match_key
from facilitator.services import roster, upserts

#: At most this many organizations are offered for what was typed so far.
MAX_ORGANIZATIONS = 8
#: At most this many people of a chosen organization are offered (narrowed by the typed name).
MAX_PEOPLE = 30


# The keys are kept to their columns' widths (see ``_keep_key`` in the models): compare alike.
def organization_key(name: str) -> str:
    return match_key(name)[:200]


def person_key(name: str) -> str:
    return match_key(name)[:120]


async def organizations_named(
    session: AsyncSession, network_id: int, name: str
) -> list[Organization]:
    """The network's organizations that ``name`` spells (see ``organizations_named_on``)."""
    return await session.run_sync(organizations_named_on, network_id, name)


def organizations_named_on(session: Session, network_id: int, name: str) -> list[Organization]:
    """The network's organizations that ``name`` spells (or one of their other spellings), the
    exact spelling first, then the oldest (a network may hold two spellings of one from before
    names were matched). A merged organization stands for the one it was merged into; an
    archived one is still found, so that typing it never makes a second one."""
    key = organization_key(name)
    rows = list(session.scalars(_ORGANIZATIONS, {"n": network_id, "k": key, "name": name}))
    if not rows and key:
        # Other spellings live in a JSON list, so they are compared here; a network has
        # hundreds of organizations at most, and only those with other spellings are read.
        spelled = session.scalars(_SPELLED, {"n": network_id})
        rows = [
            org
            for org in spelled
            if any(organization_key(str(alias)) == key for alias in org.aliases or [])
        ]
    # What a merged spelling stands for comes first (a new person is made there); the merged
    # spellings follow, so that someone not moved with them is still found.
    found: list[Organization] = []
    for org in rows:
        final = roster.final_organization_on(session, org)
        if final not in found:
            found.append(final)
    return found + [org for org in rows if org not in found]


def person_named_on(
    session: Session, network_id: int, organizations: list[Organization], name: str
) -> Person | None:
    """The person ``name`` spells in one of these organizations (which are one, by key), the
    first organization's first, someone current before an archived or merged spelling of them;
    a merged person stands for the one they were merged into. ``None`` when there is none."""
    if not organizations:
        return None
    order = {org.id: rank for rank, org in enumerate(organizations)}
    facts = {"n": network_id, "orgs": list(order), "k": person_key(name), "name": name}
    if session.connection().execute(_ANYONE, facts).first() is None:
        return None  # a new name (most of a hall arriving): no person to load
    found = session.scalars(_PEOPLE, facts)
    people = list(found)
    people.sort(key=lambda p: order.get(p.organization_id or 0, len(order)))
    return roster.final_person_on(session, people[0]) if people else None


# Built once: a hall of phones joining runs these a thousand times a minute.
_ORGANIZATIONS = (
    select(Organization)
    .where(Organization.network_id == bindparam("n"), Organization.name_key == bindparam("k"))
    .order_by(case((Organization.name == bindparam("name"), 0), else_=1), Organization.id)
)
_SPELLED = (
    select(Organization)
    .where(Organization.network_id == bindparam("n"), Organization.aliases.is_not(None))
    .order_by(Organization.id)
)
_PEOPLE = (
    select(Person)
    .where(
        Person.network_id == bindparam("n"),
        Person.organization_id.in_(bindparam("orgs", expanding=True)),
        Person.name_key == bindparam("k"),
    )
    .order_by(
        case((Person.merged_into_id.is_(None), 0), else_=1),
        case((Person.archived_at.is_(None), 0), else_=1),
        case((Person.name == bindparam("name"), 0), else_=1),
        Person.id,
    )
)
# Someone of the network whose name is not this one but looks it: checked against the whole
# network, not the room alone, so an impostor who comes first does not pass either.
_LOOKS_ALIKE = (
    select(Person.name)
    .where(
        Person.network_id == bindparam("n"),
        Person.look_key == bindparam("l"),
        Person.name_key != bindparam("k"),
        Person.archived_at.is_(None),
        Person.merged_into_id.is_(None),
    )
    .limit(1)
)
_ANYONE = (
    select(Person.id)
    .where(
        Person.network_id == bindparam("n"),
        Person.organization_id.in_(bindparam("orgs", expanding=True)),
        Person.name_key == bindparam("k"),
    )
    .limit(1)
)
_CLAIMED = select(ParticipantToken.id).where(
    ParticipantToken.person_id == bindparam("p"), ParticipantToken.revoked_at.is_(None)
)


def find_or_create_person_on(
    session: Session,
    network_id: int,
    name: str,
    org_name: str,
    sector: str | None,
    now: datetime,
) -> tuple[int, bool]:
    """The person a joining phone names, in the network's own spelling of them, and whether the
    network knew them before; a new person (and organization) only when no spelling of them is
    there yet. Synchronous: a hall's joins run together in the group-commit writer's
    transaction."""
    if sector is not None and sector not in SECTORS:
        raise Invalid("organization.bad_sector")
    organizations = organizations_named_on(session, network_id, org_name)
    if not organizations:
        # Made as an upsert and read back: a join in another process naming it at this very
        # moment gets the same one, and the person it made there is then found below.
        upserts.organization(session.connection(), network_id, org_name, sector)
        organizations = organizations_named_on(session, network_id, org_name)
    person = person_named_on(session, network_id, organizations, name)
    if person is None:
        looks, key = look_key(name)[:120], person_key(name)
        alike = session.scalar(_LOOKS_ALIKE, {"n": network_id, "l": looks, "k": key})
        flow.check_name_distinct(alike, name)
        # An upsert (a plain statement: the ORM's unit of work was the largest part of a
        # joining phone's cost). The database holds one person per name key in an
        # organization, so a join of them in another process at this very moment, which
        # this one could not see yet, is waited for and its person is the one returned.
        pid, made = upserts.person(session.connection(), network_id, organizations[0].id, name, now)
        if made:
            return pid, False
        person = session.get_one(Person, pid)
    # Typing a name may claim a person no phone holds yet (people the backbone entered, or a
    # name the facilitator released), never one another phone speaks for: that would let
    # anyone act as them.
    claimed = session.scalar(_CLAIMED, {"p": person.id})
    flow.check_name_free(claimed is not None, person.name)
    return person.id, True


async def suggestions(
    db: Database, meeting_id: int, typed: str, organization: str | None, name: str | None = None
) -> dict[str, Any]:
    """What a phone joining this meeting is offered: the network's organizations whose key holds
    what was typed (those that start with it first), and, for a chosen organization, the names of
    its people who belong to this group's history (they came to one of its meetings, or own one
    of its commitments, or are on its roster), narrowed by the name typed so far. Archived and
    merged organizations and people are never offered. Names only: nothing says who holds a
    name or how to reach anyone, and the network's whole roster is never listed to a code."""
    async with db.read() as session:
        found = (
            await session.execute(
                select(Group.network_id, Group.id)
                .join(Meeting, Meeting.group_id == Group.id)
                .where(Meeting.id == meeting_id)
            )
        ).first()
        if found is None:
            return {"organizations": [], "people": []}
        network_id, group_id = found
        key = organization_key(typed)
        organizations: list[str] = []
        if key:
            starts = Organization.name_key.startswith(key, autoescape=True)
            organizations = list(
                await session.scalars(
                    select(Organization.name)
                    .where(
                        Organization.network_id == network_id,
                        Organization.name_key.contains(key, autoescape=True),
                        Organization.archived_at.is_(None),
                        Organization.merged_into_id.is_(None),
                    )
                    .order_by(case((starts, 0), else_=1), Organization.name)
                    .limit(MAX_ORGANIZATIONS)
                )
            )
        people: list[str] = []
        chosen = (
            await organizations_named(session, network_id, organization) if organization else []
        )
        if chosen:
            came = (
                select(Attendance.id)
                .join(Meeting, Meeting.id == Attendance.meeting_id)
                .where(Attendance.person_id == Person.id, Meeting.group_id == group_id)
                .exists()
            )
            owns = (
                select(Commitment.id)
                .where(Commitment.owner_person_id == Person.id, Commitment.group_id == group_id)
                .exists()
            )
            expected = (
                select(GroupMember.id)
                .where(GroupMember.person_id == Person.id, GroupMember.group_id == group_id)
                .exists()
            )
            query = select(Person.name).where(
                Person.network_id == network_id,
                Person.organization_id.in_(
                    [o.id for o in chosen if o.archived_at is None and o.merged_into_id is None]
                ),
                Person.archived_at.is_(None),
                Person.merged_into_id.is_(None),
                came | owns | expected,
            )
            typed_name = person_key(name or "")
            if typed_name:
                query = query.where(Person.name_key.contains(typed_name, autoescape=True))
            people = list(
                await session.scalars(query.distinct().order_by(Person.name).limit(MAX_PEOPLE))
            )
    return {"organizations": organizations, "people": people}
