"""The network's people, as the backbone keeps them: find, sort and page through them, edit
who they are and which groups they sit in, archive, and merge a duplicate into the person it
duplicates so that every commitment, review, attendance and opener answer is theirs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    CalendarFeed,
    Commitment,
    CommitmentReview,
    Group,
    GroupMember,
    Network,
    OpenerResponse,
    Organization,
    ParticipantToken,
    Person,
)
from facilitator.errors import Conflict, Invalid, NotFound
from facilitator.flow import CommitmentStatus
from facilitator.localtime import local_day
from facilitator.names import match_key
from facilitator.services import audit
from facilitator.validate import LIMITS, clean_text

JSON = dict[str, Any]
PAGE_SIZE = 50
SORTS = ("name", "organization", "commitments", "attended")
#: Enough to find someone, not enough to make a query heavy.
MAX_QUERY = 120
_COLUMNS = ("name", "organization_id", "email", "phone", "archived_at", "merged_into_id")
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


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class Query:
    """What the people page asks for; bad values fall back to the defaults."""

    q: str = ""
    sort: str = "name"
    page: int = 1
    archived: bool = False

    @classmethod
    def parse(cls, params: Any) -> Query:
        q = str(params.get("q") or "")[:MAX_QUERY].strip()
        sort = params.get("sort") if params.get("sort") in SORTS else "name"
        raw = str(params.get("page") or "1")
        page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1
        return cls(q, sort, max(page, 1), params.get("archived") == "1")


async def search(db: Database, network_id: int, query: Query) -> JSON:
    """One page of people (merged ones never), found by any spelling of their name or their
    organization's, or by email; with open commitments and the day they last came."""
    open_count = (
        select(Commitment.owner_person_id.label("pid"), func.count().label("n"))
        .where(Commitment.status == CommitmentStatus.OPEN.value)
        .group_by(Commitment.owner_person_id)
        .subquery()
    )
    last_seen = (
        select(Attendance.person_id.label("pid"), func.max(Attendance.joined_at).label("at"))
        .group_by(Attendance.person_id)
        .subquery()
    )
    base = (
        select(Person, Organization, func.coalesce(open_count.c.n, 0), last_seen.c.at)
        .outerjoin(Organization, Organization.id == Person.organization_id)
        .outerjoin(open_count, open_count.c.pid == Person.id)
        .outerjoin(last_seen, last_seen.c.pid == Person.id)
        .where(Person.network_id == network_id, Person.merged_into_id.is_(None))
        .where(Person.archived_at.is_not(None) if query.archived else Person.archived_at.is_(None))
    )
    if query.q:
        key = _like(match_key(query.q))
        base = base.where(
            or_(
                Person.name_key.like(key, escape="\\"),
                Organization.name_key.like(key, escape="\\"),
                func.lower(Person.email).like(_like(query.q.lower()), escape="\\"),
            )
        )
    orders: dict[str, list[Any]] = {
        "name": [Person.name_key, Person.id],
        "organization": [Organization.name_key, Person.name_key, Person.id],
        "commitments": [func.coalesce(open_count.c.n, 0).desc(), Person.name_key, Person.id],
        "attended": [last_seen.c.at.is_(None), last_seen.c.at.desc(), Person.name_key, Person.id],
    }
    order = orders[query.sort]
    async with db.read() as session:
        zone = await session.scalar(select(Network.timezone).where(Network.id == network_id))
        total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(query.page, pages)
        rows = (
            await session.execute(
                base.order_by(*order).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
            )
        ).all()
        groups = await _groups_of(session, [p.id for p, *_ in rows])
    return {
        "total": total,
        "page": page,
        "pages": pages,
        "page_size": PAGE_SIZE,
        "people": [
            {
                "id": p.id,
                "name": p.name,
                "organization": {"id": o.id, "name": o.name} if o else None,
                "email": p.email,
                "phone": p.phone,
                "groups": groups.get(p.id, []),
                "open_commitments": int(n),
                # The day they last came, where the network meets.
                "last_attended": local_day(at, zone or "UTC").isoformat() if at else None,
                "archived": p.archived_at is not None,
            }
            for p, o, n, at in rows
        ],
    }


async def _groups_of(session: AsyncSession, person_ids: list[int]) -> dict[int, list[JSON]]:
    found: dict[int, list[JSON]] = {}
    rows = await session.execute(
        select(GroupMember.person_id, Group.id, Group.name)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.person_id.in_(person_ids))
        .order_by(Group.name)
    )
    for pid, gid, name in rows:
        found.setdefault(pid, []).append({"id": gid, "name": name})
    return found


async def _mine(session: AsyncSession, network_id: int, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None or person.network_id != network_id:
        raise NotFound("person.not_found")
    return person


async def person(db: Database, network_id: int, person_id: int) -> JSON:
    """One person for the edit form, and the people they may be a duplicate of: the same name
    in any organization, or anyone in the same organization."""
    async with db.read() as session:
        found = await _mine(session, network_id, person_id)
        groups = await _groups_of(session, [found.id])
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
    name = clean_text(name, "name", kind="name")
    email, phone = clean_email(email), clean_phone(phone)
    async with db.write() as session:
        org = await session.get(Organization, organization_id)
        if org is None or org.network_id != network_id or org.merged_into_id is not None:
            raise NotFound("organization.not_found")
        twin = await session.scalar(
            select(Person.id).where(
                Person.network_id == network_id,
                Person.organization_id == org.id,
                Person.name_key == match_key(name)[:120],
                Person.merged_into_id.is_(None),
            )
        )
        if twin is not None:
            raise Conflict("person.exists", name=name, organization=org.name)
        now = db.now()
        person = Person(
            network_id=network_id, organization_id=org.id, name=name, email=email, phone=phone,
            created_at=now,
        )  # fmt: skip
        session.add(person)
        await session.flush()
        await _set_groups(session, network_id, person.id, set(group_ids), now)
        after = audit.columns(person, _COLUMNS)
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
) -> None:
    name = clean_text(name, "name", kind="name")
    email, phone = clean_email(email), clean_phone(phone)
    async with db.write() as session:
        found = await _mine(session, network_id, person_id)
        if found.merged_into_id is not None:
            raise Conflict("person.merged")
        org = await session.get(Organization, organization_id)
        if org is None or org.network_id != network_id or org.merged_into_id is not None:
            raise NotFound("organization.not_found")
        before = audit.columns(found, _COLUMNS)
        before["groups"] = sorted(
            await session.scalars(
                select(GroupMember.group_id).where(GroupMember.person_id == found.id)
            )
        )
        found.name, found.organization_id, found.email, found.phone = name, org.id, email, phone
        await _set_groups(session, network_id, found.id, set(group_ids), db.now())
        after = audit.columns(found, _COLUMNS)
        after["groups"] = sorted(set(group_ids))
        audit.record(
            session, network_id, user_id, "person.update", "person", found.id,
            before=before, after=after, at=db.now(),
        )  # fmt: skip


async def set_archived(
    db: Database, network_id: int, user_id: int | None, person_id: int, *, archived: bool
) -> None:
    async with db.write() as session:
        found = await _mine(session, network_id, person_id)
        if found.merged_into_id is not None:
            raise Conflict("person.merged")
        before = audit.columns(found, _COLUMNS)
        found.archived_at = db.now() if archived else None
        audit.record(
            session, network_id, user_id,
            "person.archive" if archived else "person.unarchive", "person", found.id,
            before=before, after=audit.columns(found, _COLUMNS), at=db.now(),
        )  # fmt: skip


async def merge(
    db: Database, network_id: int, user_id: int | None, keep_id: int, duplicate_id: int
) -> JSON:
    """``duplicate`` is ``keep``: everything the duplicate did becomes keep's, in one
    transaction. Where both were somewhere at once (one meeting attended, one blocker flagged
    at one meeting, one group) one record stays: the earliest arrival, keep's own answer.
    The duplicate stays, archived, pointing at ``keep`` (old links still resolve). Returns what
    moved, counted."""
    if keep_id == duplicate_id:
        raise Invalid("person.merge_same")
    async with db.write() as session:
        keep = await _mine(session, network_id, keep_id)
        dup = await _mine(session, network_id, duplicate_id)
        if keep.merged_into_id is not None or dup.merged_into_id is not None:
            raise Conflict("person.merged")
        before = {"kept": audit.columns(keep, _COLUMNS), "merged": audit.columns(dup, _COLUMNS)}
        moved: dict[str, int] = {}

        async def repoint(name: str, column: Any) -> None:
            result = await session.execute(
                update(column.class_).where(column == dup.id).values({column.key: keep.id})
            )
            moved[name] = int(getattr(result, "rowcount", 0) or 0)

        await repoint("commitments_owned", Commitment.owner_person_id)
        await repoint("commitments_proposed", Commitment.proposed_by_person_id)
        await repoint("reviews", CommitmentReview.reviewer_person_id)
        await repoint("phones", ParticipantToken.person_id)

        moved["attendance"] = moved["attendance_joined"] = 0
        kept_at = {
            a.meeting_id: a
            for a in await session.scalars(
                select(Attendance).where(Attendance.person_id == keep.id)
            )
        }
        for row in list(
            await session.scalars(select(Attendance).where(Attendance.person_id == dup.id))
        ):
            mine = kept_at.get(row.meeting_id)
            if mine is None:
                row.person_id = keep.id
                moved["attendance"] += 1
            else:
                mine.joined_at = min(mine.joined_at, row.joined_at)
                mine.marked_by_user_id = mine.marked_by_user_id and row.marked_by_user_id
                await session.delete(row)
                moved["attendance_joined"] += 1

        moved["opener_answers"] = moved["opener_answers_dropped"] = 0
        answered = set(
            (
                await session.execute(
                    select(OpenerResponse.meeting_id, OpenerResponse.blocker_id).where(
                        OpenerResponse.person_id == keep.id
                    )
                )
            ).all()
        )
        for answer in list(
            await session.scalars(select(OpenerResponse).where(OpenerResponse.person_id == dup.id))
        ):
            if (answer.meeting_id, answer.blocker_id) in answered:
                await session.delete(answer)
                moved["opener_answers_dropped"] += 1
            else:
                answer.person_id = keep.id
                moved["opener_answers"] += 1

        in_groups = set(
            await session.scalars(
                select(GroupMember.group_id).where(GroupMember.person_id == keep.id)
            )
        )
        moved["groups"] = 0
        for member in list(
            await session.scalars(select(GroupMember).where(GroupMember.person_id == dup.id))
        ):
            if member.group_id in in_groups:
                await session.delete(member)
            else:
                member.person_id = keep.id
                moved["groups"] += 1

        feeds = await session.execute(
            update(CalendarFeed)
            .where(
                CalendarFeed.network_id == network_id,
                CalendarFeed.kind == "person",
                CalendarFeed.target_id == dup.id,
            )
            .values(target_id=keep.id)
        )
        moved["feeds"] = int(getattr(feeds, "rowcount", 0) or 0)

        # What only the duplicate knew fills keep's blanks; nothing of keep's is overwritten.
        keep.email = keep.email or dup.email
        keep.phone = keep.phone or dup.phone
        now = db.now()
        dup.merged_into_id, dup.archived_at = keep.id, dup.archived_at or now
        await session.execute(
            update(Person).where(Person.merged_into_id == dup.id).values(merged_into_id=keep.id)
        )
        audit.record(
            session, network_id, user_id, "person.merge", "person", keep.id,
            before=before,
            after={
                "kept": audit.columns(keep, _COLUMNS),
                "merged": audit.columns(dup, _COLUMNS),
                "moved": moved,
            },
            at=now,
        )  # fmt: skip
        return moved


async def export_rows(db: Database, network_id: int) -> list[JSON]:
    """Every active person with what the import reads: organization, sector, email, phone,
    groups."""
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Person, Organization)
                .outerjoin(Organization, Organization.id == Person.organization_id)
                .where(
                    Person.network_id == network_id,
                    Person.merged_into_id.is_(None),
                    Person.archived_at.is_(None),
                )
                .order_by(Organization.name_key, Person.name_key, Person.id)
            )
        ).all()
        groups = await _groups_of(session, [p.id for p, _ in rows])
    return [
        {
            "name": p.name,
            "organization": o.name if o else None,
            "sector": o.sector if o else None,
            "email": p.email,
            "phone": p.phone,
            "groups": [g["name"] for g in groups.get(p.id, [])],
        }
        for p, o in rows
    ]
