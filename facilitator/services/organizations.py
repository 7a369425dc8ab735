"""The network's organizations, as the backbone keeps them: name, sector, the other spellings
people use, archive, and merging two that are one (every person, and with them every
commitment, attendance and figure, moves to the one kept). Each change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import SECTORS, Commitment, Organization, Person
from facilitator.errors import Conflict, Invalid, NotFound
from facilitator.flow import CommitmentStatus
from facilitator.names import match_key
from facilitator.services import audit, people_merge
from facilitator.validate import LIMITS, clean_name

JSON = dict[str, Any]
#: At most this many other spellings per organization.
MAX_ALIASES = 50
_COLUMNS = ("name", "sector", "aliases", "archived_at", "merged_into_id")


def org_key(text: str) -> str:
    return match_key(text)[:200]


def clean_sector(value: str | None) -> str | None:
    """A sector code, or ``None`` for blank (a sector not known yet)."""
    if value is None or not value.strip():
        return None
    if value.strip() not in SECTORS:
        raise Invalid("organization.bad_sector")
    return value.strip()


def clean_aliases(lines: list[str] | str) -> list[str]:
    """Other spellings: one per line, cleaned, no two alike (by key)."""
    items = lines.splitlines() if isinstance(lines, str) else lines
    seen: set[str] = set()
    out = []
    for raw in items:
        if not raw.strip():
            continue
        alias = clean_name(raw, "aliases", kind="title")
        if org_key(alias) not in seen:
            seen.add(org_key(alias))
            out.append(alias)
    if len(out) > MAX_ALIASES:
        raise Invalid("organization.too_many_aliases", limit=MAX_ALIASES)
    return out


async def _mine(session: AsyncSession, network_id: int, org_id: int) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None or org.network_id != network_id:
        raise NotFound("organization.not_found")
    return org


async def _check_spellings(
    session: AsyncSession, network_id: int, org_id: int | None, name: str, aliases: list[str]
) -> None:
    """No spelling of this organization may find another one (merged ones live on as the
    spellings of the one they went into, so they are not counted)."""
    mine = {org_key(name)} | {org_key(a) for a in aliases}
    others = await session.scalars(
        select(Organization).where(
            Organization.network_id == network_id,
            Organization.merged_into_id.is_(None),
            Organization.id != (org_id or 0),
        )
    )
    for other in others:
        theirs = {other.name_key} | {org_key(a) for a in other.aliases or []}
        clash = mine & theirs
        if clash:
            raise Conflict("organization.spelling_taken", name=other.name)
    # The stored name itself is unique, merged organizations included.
    taken = await session.scalar(
        select(Organization.name).where(
            Organization.network_id == network_id,
            Organization.name == name,
            Organization.id != (org_id or 0),
        )
    )
    if taken is not None:
        raise Conflict("organization.spelling_taken", name=taken)


async def list_organizations(db: Database, network_id: int) -> list[JSON]:
    """Every organization not merged away, with its people and open commitments counted."""
    async with db.read() as session:
        orgs = list(
            await session.scalars(
                select(Organization)
                .where(Organization.network_id == network_id, Organization.merged_into_id.is_(None))
                .order_by(Organization.archived_at.is_not(None), Organization.name_key)
            )
        )
        people = dict(
            (
                await session.execute(
                    select(Person.organization_id, func.count())
                    .where(
                        Person.network_id == network_id,
                        Person.merged_into_id.is_(None),
                        Person.archived_at.is_(None),
                    )
                    .group_by(Person.organization_id)
                )
            ).all()
        )
        open_ = dict(
            (
                await session.execute(
                    select(Person.organization_id, func.count())
                    .join(Commitment, Commitment.owner_person_id == Person.id)
                    .where(
                        Person.network_id == network_id,
                        Commitment.status == CommitmentStatus.OPEN.value,
                    )
                    .group_by(Person.organization_id)
                )
            ).all()
        )
    return [
        {
            "id": o.id,
            "name": o.name,
            "sector": o.sector,
            "aliases": list(o.aliases or []),
            "people": people.get(o.id, 0),
            "open_commitments": open_.get(o.id, 0),
            "archived": o.archived_at is not None,
        }
        for o in orgs
    ]


async def add_organization(
    db: Database,
    network_id: int,
    user_id: int | None,
    name: str,
    sector: str | None,
    aliases: list[str] | str = "",
) -> int:
    name = clean_name(name, "organization", kind="title")
    sector = clean_sector(sector)
    spellings = clean_aliases(aliases)
    async with db.write() as session:
        await _check_spellings(session, network_id, None, name, spellings)
        org = Organization(
            network_id=network_id, name=name, sector=sector, aliases=spellings or None
        )
        session.add(org)
        try:
            await session.flush()
        except IntegrityError:
            # Added by someone else at this very moment, past the check above: the same answer.
            raise Conflict("organization.spelling_taken", name=name) from None
        audit.record(
            session, network_id, user_id, "organization.create", "organization", org.id,
            after=audit.columns(org, _COLUMNS), at=db.now(),
        )  # fmt: skip
        return org.id


async def update_organization(
    db: Database,
    network_id: int,
    user_id: int | None,
    org_id: int,
    name: str,
    sector: str | None,
    aliases: list[str] | str,
) -> None:
    name = clean_name(name, "organization", kind="title")
    sector = clean_sector(sector)
    spellings = [a for a in clean_aliases(aliases) if org_key(a) != org_key(name)]
    async with db.write() as session:
        org = await _mine(session, network_id, org_id)
        if org.merged_into_id is not None:
            raise Conflict("organization.merged")
        before = audit.columns(org, _COLUMNS)
        await _check_spellings(session, network_id, org.id, name, spellings)
        org.name, org.sector, org.aliases = name, sector, spellings or None
        try:
            await session.flush()
        except IntegrityError:
            # Its new name's key taken at this very moment (a phone naming it, in another
            # process), past the check above: the same answer.
            raise Conflict("organization.spelling_taken", name=name) from None
        audit.record(
            session, network_id, user_id, "organization.update", "organization", org.id,
            before=before, after=audit.columns(org, _COLUMNS), at=db.now(),
        )  # fmt: skip


async def set_archived(
    db: Database, network_id: int, user_id: int | None, org_id: int, *, archived: bool
) -> None:
    """Archive (no longer offered to pick; its history stays) or bring back."""
    async with db.write() as session:
        org = await _mine(session, network_id, org_id)
        if org.merged_into_id is not None:
            raise Conflict("organization.merged")
        before = audit.columns(org, _COLUMNS)
        org.archived_at = db.now() if archived else None
        action = "organization.archive" if archived else "organization.unarchive"
        audit.record(
            session, network_id, user_id, action, "organization", org.id,
            before=before, after=audit.columns(org, _COLUMNS), at=db.now(),
        )  # fmt: skip


async def merge(
    db: Database, network_id: int, user_id: int | None, source_id: int, target_id: int
) -> list[int]:
    """``source`` is ``target`` under another name: its people move to ``target`` (their
    commitments, attendance and figures follow them, as reports go by a person's current
    organization; one named as one of ``target``'s is that person, and the two are merged),
    its name and spellings become ``target``'s spellings, and it stays, archived, pointing at
    ``target``. Returns the ids of the people moved."""
    if source_id == target_id:
        raise Invalid("organization.merge_same")
    async with db.write() as session:
        source = await _mine(session, network_id, source_id)
        target = await _mine(session, network_id, target_id)
        if source.merged_into_id is not None or target.merged_into_id is not None:
            raise Conflict("organization.merged")
        before = {
            "merged": audit.columns(source, _COLUMNS),
            "kept": audit.columns(target, _COLUMNS),
        }
        now = db.now()
        await _merge_same_people(session, network_id, user_id, source, target, now)
        moved = list(
            await session.scalars(
                select(Person.id).where(Person.organization_id == source.id).order_by(Person.id)
            )
        )
        await session.execute(
            update(Person)
            .where(Person.organization_id == source.id)
            .values(organization_id=target.id)
        )
        spellings = list(target.aliases or [])
        known = {target.name_key} | {org_key(a) for a in spellings}
        # Up to the cap (past it, every later save would be refused): a spelling left out is
        # still found, through the merged organization that keeps it.
        for alias in [source.name, *(source.aliases or [])]:
            if len(spellings) >= MAX_ALIASES:
                break
            if org_key(alias) not in known and len(alias) <= LIMITS["title"]:
                known.add(org_key(alias))
                spellings.append(alias)
        target.aliases = spellings or None
        if target.sector is None:
            target.sector = source.sector
        source.merged_into_id, source.archived_at = target.id, source.archived_at or now
        # Those merged into the source earlier now point at where it went.
        await session.execute(
            update(Organization)
            .where(Organization.merged_into_id == source.id)
            .values(merged_into_id=target.id)
        )
        audit.record(
            session, network_id, user_id, "organization.merge", "organization", target.id,
            before=before,
            after={
                "merged": audit.columns(source, _COLUMNS),
                "kept": audit.columns(target, _COLUMNS),
                "moved_people": moved,
            },
            at=now,
        )  # fmt: skip
        return moved


async def _merge_same_people(
    session: AsyncSession,
    network_id: int,
    user_id: int | None,
    source: Organization,
    target: Organization,
    now: datetime,
) -> None:
    """Two people of one name key, one in each organization, are one person once the two are
    one organization (the database holds one per name key in an organization): each pair is
    merged, the current one kept (the target's when both are, or neither)."""
    theirs = {
        p.name_key: p
        for p in await session.scalars(
            select(Person).where(
                Person.organization_id == source.id, Person.merged_into_id.is_(None)
            )
        )
    }
    if not theirs:
        return
    for mine in list(
        await session.scalars(
            select(Person)
            .where(
                Person.organization_id == target.id,
                Person.merged_into_id.is_(None),
                Person.name_key.in_(list(theirs)),
            )
            .order_by(Person.id)
        )
    ):
        other = theirs[mine.name_key]
        keep, dup = (other, mine) if mine.archived_at and not other.archived_at else (mine, other)
        await people_merge.merge_on(session, network_id, user_id, keep, dup, now)
