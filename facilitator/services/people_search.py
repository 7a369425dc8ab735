"""Finding the network's people: the people page's query (any spelling of a name or an
organization, or an email; sorted and paged), each one's groups, and the rows the people
spreadsheet exports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    Commitment,
    Group,
    GroupMember,
    Network,
    Organization,
    Person,
)
from facilitator.flow import CommitmentStatus
from facilitator.localtime import local_day
from facilitator.names import match_key

JSON = dict[str, Any]
PAGE_SIZE = 50
SORTS = ("name", "organization", "commitments", "attended")
#: Enough to find someone, not enough to make a query heavy.
MAX_QUERY = 120


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
        groups = await groups_of(session, [p.id for p, *_ in rows])
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


async def groups_of(session: AsyncSession, person_ids: list[int]) -> dict[int, list[JSON]]:
    """Each person's groups (id and name, by name)."""
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
        groups = await groups_of(session, [p.id for p, _ in rows])
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
