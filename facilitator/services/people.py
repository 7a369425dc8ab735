"""The network's people, as the backbone keeps them: one person's page, adding someone, editing
who they are and which groups they sit in, and archiving. Finding them is ``people_search``;
merging a duplicate is ``people_merge``."""

from __future__ import annotations

import re
from types import EllipsisType
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import LANGUAGES, Group, GroupMember, Organization, Person
from facilitator.db.models.network import PERSON_KEY_INDEX
from facilitator.errors import Conflict, Invalid, NotFound
from facilitator.names import match_key
from facilitator.services import audit
from facilitator.services.people_search import groups_of
from facilitator.validate import LIMITS, clean_name

JSON = dict[str, Any]
#: What the audit log keeps of a person before and after a change.
AUDITED = (
    "name", "organization_id", "email", "phone", "language", "archived_at", "merged_into_id",
)  # fmt: skip
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE = re.compile(r"[0-9+\- ]{1,40}")


def clean_email(value: str | None) -> str | None:
    """An address that looks like one (bounded), or ``None`` for blank."""
    if value is None or not value.strip():
        return None
    email = value.strip()
    if len(email) > LIMITS["email"] or not _EMAIL.fullmatch(email):
        raise Invalid("person.bad_email")
    return email


def clean_phone(value: str | None) -> str | None:
    """Digits with ``+``, ``-`` and spaces, up to 40 characters; ``None`` for blank."""
    if value is None or not value.strip():
        return None
    phone = " ".join(value.split())
    if not _PHONE.fullmatch(phone) or sum(ch.isdigit() for ch in phone) < 3:
        raise Invalid("person.bad_phone")
    return phone


def clean_language(value: str | None) -> str | None:
    """The language of a person's mails and page: ``he`` or ``en``; ``None`` (blank) for the
    network's."""
    if value is None or value == "":
        return None
    if value not in LANGUAGES:
        raise Invalid("input.bad_language")
    return value


async def person_in(session: AsyncSession, network_id: int, person_id: int) -> Person:
    """The person, if they are of this network; refused as not found otherwise."""
    person = await session.get(Person, person_id)
    if person is None or person.network_id != network_id:
        raise NotFound("person.not_found")
    return person


async def person(db: Database, network_id: int, person_id: int) -> JSON:
    """One person for the edit form, and the people they may be a duplicate of: the same name
    in any organization, or anyone in the same organization."""
    async with db.read() as session:
        found = await person_in(session, network_id, person_id)
        groups = await groups_of(session, [found.id])
        alike = (
            await session.execute(
                select(Person, Organization.name)
                .outerjoin(Organization, Organization.id == Person.organization_id)
                .where(
                    Person.network_id == network_id,
                    Person.id != found.id,
                    Person.merged_into_id.is_(None),
                    or_(
                        Person.name_key == found.name_key,
                        Person.organization_id == found.organization_id,
                    ),
                )
                .order_by(Person.name_key != found.name_key, Person.name_key, Person.id)
                .limit(500)
            )
        ).all()
        in_groups = [g["id"] for g in groups.get(found.id, [])]
        choices = await session.execute(
            select(Group.id, Group.name)
            .where(
                Group.network_id == network_id,
                or_(Group.archived_at.is_(None), Group.id.in_(in_groups)),
            )
            .order_by(Group.name)
        )
    return {
        "id": found.id,
        "name": found.name,
        "organization_id": found.organization_id,
        "group_choices": [{"id": gid, "name": name} for gid, name in choices],
        "email": found.email,
        "phone": found.phone,
        "language": found.language,
        "groups": in_groups,
        "archived": found.archived_at is not None,
        "merged_into_id": found.merged_into_id,
        "candidates": [{"id": p.id, "name": p.name, "organization": o} for p, o in alike],
    }


async def _set_groups(
    session: AsyncSession, network_id: int, person_id: int, group_ids: set[int], now: Any
) -> None:
    valid = set(
        await session.scalars(
            select(Group.id).where(Group.network_id == network_id, Group.id.in_(group_ids))
        )
    )
    if valid != group_ids:
        raise NotFound("group.not_found")
    current = set(
        await session.scalars(
            select(GroupMember.group_id).where(GroupMember.person_id == person_id)
        )
    )
    if current - group_ids:
        await session.execute(
            delete(GroupMember).where(
                GroupMember.person_id == person_id,
                GroupMember.group_id.in_(current - group_ids),
            )
        )
    for gid in sorted(group_ids - current):
        session.add(GroupMember(group_id=gid, person_id=person_id, added_at=now))


async def _check_twin(
    session: AsyncSession, network_id: int, org: Organization, name: str, person_id: int | None
) -> None:
    """No one else of the organization, archived or not, has a name of this one's key: they
    would be one person (a phone typing it finds the one, an import matches the one)."""
    twin = await session.scalar(
        select(Person.id).where(
            Person.network_id == network_id,
            Person.organization_id == org.id,
            Person.name_key == match_key(name)[:120],
            Person.merged_into_id.is_(None),
            Person.id != (person_id or 0),
        )
    )
    if twin is not None:
        raise Conflict("person.exists", name=name, organization=org.name)


async def _flush_one_of_name(session: AsyncSession, org: Organization, name: str) -> None:
    """Write it now: one of this name made in the organization at this very moment (a phone
    joining as them, in another process), past ``_check_twin``, gets the check's answer from
    the database's own rule (one person per name key in an organization), not a 500."""
    organization = org.name  # read now: a failed flush expires what the session holds
    try:
        await session.flush()
    except IntegrityError as error:
        # PostgreSQL names the index; SQLite names the columns it covers.
        if PERSON_KEY_INDEX not in str(error) and "people.name_key" not in str(error):
            raise
        raise Conflict("person.exists", name=name, organization=organization) from None


async def add_person(
    db: Database,
    network_id: int,
    user_id: int | None,
    *,
    name: str,
    organization_id: int,
    email: str | None,
    phone: str | None,
    group_ids: list[int],
) -> int:
    """One person added by hand (the one the sheet left out), in their groups; audited."""
    name = clean_name(name, "name")
    email, phone = clean_email(email), clean_phone(phone)
    async with db.write() as session:
        org = await session.get(Organization, organization_id)
        if org is None or org.network_id != network_id or org.merged_into_id is not None:
            raise NotFound("organization.not_found")
        await _check_twin(session, network_id, org, name, None)
        now = db.now()
        person = Person(
            network_id=network_id, organization_id=org.id, name=name, email=email, phone=phone,
            created_at=now,
        )  # fmt: skip
        session.add(person)
        await _flush_one_of_name(session, org, name)
        await _set_groups(session, network_id, person.id, set(group_ids), now)
        after = audit.columns(person, AUDITED)
        after["groups"] = sorted(set(group_ids))
        audit.record(
            session, network_id, user_id, "person.create", "person", person.id,
            after=after, at=now,
        )  # fmt: skip
        return person.id


async def update_person(
    db: Database,
    network_id: int,
    user_id: int | None,
    person_id: int,
    *,
    name: str,
    organization_id: int,
    email: str | None,
    phone: str | None,
    group_ids: list[int],
    language: str | EllipsisType | None = ...,
) -> None:
    """Who they are, their groups, and (unless ``...``) the language of their mails and page;
    audited."""
    name = clean_name(name, "name")
    email, phone = clean_email(email), clean_phone(phone)
    chosen = language if language is ... else clean_language(language)
    async with db.write() as session:
        found = await person_in(session, network_id, person_id)
        if found.merged_into_id is not None:
            raise Conflict("person.merged")
        org = await session.get(Organization, organization_id)
        if org is None or org.network_id != network_id or org.merged_into_id is not None:
            raise NotFound("organization.not_found")
        before = audit.columns(found, AUDITED)
        before["groups"] = sorted(
            await session.scalars(
                select(GroupMember.group_id).where(GroupMember.person_id == found.id)
            )
        )
        await _check_twin(session, network_id, org, name, found.id)
        found.name, found.organization_id, found.email, found.phone = name, org.id, email, phone
        if chosen is not ...:
            found.language = chosen
        await _flush_one_of_name(session, org, name)
        await _set_groups(session, network_id, found.id, set(group_ids), db.now())
        after = audit.columns(found, AUDITED)
        after["groups"] = sorted(set(group_ids))
        audit.record(
            session, network_id, user_id, "person.update", "person", found.id,
            before=before, after=after, at=db.now(),
        )  # fmt: skip


async def set_archived(
    db: Database, network_id: int, user_id: int | None, person_id: int, *, archived: bool
) -> None:
    async with db.write() as session:
        found = await person_in(session, network_id, person_id)
        if found.merged_into_id is not None:
            raise Conflict("person.merged")
        before = audit.columns(found, AUDITED)
        found.archived_at = db.now() if archived else None
        audit.record(
            session, network_id, user_id,
            "person.archive" if archived else "person.unarchive", "person", found.id,
            before=before, after=audit.columns(found, AUDITED), at=db.now(),
        )  # fmt: skip
