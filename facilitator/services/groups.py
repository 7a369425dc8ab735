"""Working groups as the administration pages read them: the list, one group's page (its
facilitators, roster and attendance), the staff who may be given it, and the roster's people
search. What is shown follows the one scoping rule (``services.scope``): a group outside the
asker's scope does not exist for them. Changing a group is ``group_changes``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    Commitment,
    Group,
    GroupMember,
    GroupStaff,
    Meeting,
    Organization,
    Person,
    StaffUser,
)
from facilitator.errors import NotFound
from facilitator.flow import CommitmentStatus
from facilitator.names import match_key
from facilitator.services.scope import Scope
from facilitator.validate import LIMITS

JSON = dict[str, Any]
#: How many people the roster's search offers at once: enough to pick from, never the network.
SEARCH_LIMIT = 12


async def group_in(session: AsyncSession, scope: Scope, group_id: int) -> Group:
    """The group, if it is within the asker's reach; otherwise it does not exist for them."""
    group = await session.get(Group, group_id)
    if group is None or group.network_id != scope.network_id or not scope.sees(group.id):
        raise NotFound("group.not_found")
    return group


def _held(meeting: Meeting) -> bool:
    return meeting.started_at is not None and meeting.cancelled_at is None


async def group_list(db: Database, scope: Scope) -> JSON:
    """The groups within reach, each with its facilitators, roster size, meetings held and open
    commitments; archived ones apart."""
    async with db.read() as session:
        query = select(Group).where(Group.network_id == scope.network_id)
        if scope.groups is not None:
            query = query.where(Group.id.in_(scope.groups))
        groups = list(await session.scalars(query.order_by(Group.name, Group.id)))
        ids = [g.id for g in groups]
        staff_rows = (
            await session.execute(
                select(GroupStaff.group_id, StaffUser.id, StaffUser.name)
                .join(StaffUser, StaffUser.id == GroupStaff.user_id)
                .where(GroupStaff.group_id.in_(ids))
                .order_by(StaffUser.name)
            )
        ).all()
        roster = dict(
            (
                await session.execute(
                    select(GroupMember.group_id, func.count())
                    .where(GroupMember.group_id.in_(ids))
                    .group_by(GroupMember.group_id)
                )
            ).all()
        )
        held = dict(
            (
                await session.execute(
                    select(Meeting.group_id, func.count())
                    .where(
                        Meeting.group_id.in_(ids),
                        Meeting.started_at.is_not(None),
                        Meeting.cancelled_at.is_(None),
                    )
                    .group_by(Meeting.group_id)
                )
            ).all()
        )
        open_counts = dict(
            (
                await session.execute(
                    select(Commitment.group_id, func.count())
                    .where(
                        Commitment.group_id.in_(ids),
                        Commitment.status == CommitmentStatus.OPEN.value,
                    )
                    .group_by(Commitment.group_id)
                )
            ).all()
        )
    facilitators: dict[int, list[JSON]] = defaultdict(list)
    for group_id, user_id, name in staff_rows:
        facilitators[group_id].append({"id": user_id, "name": name})
    rows = [
        {
            **_group_view(g),
            "facilitators": facilitators[g.id],
            "roster": roster.get(g.id, 0),
            "meetings_held": held.get(g.id, 0),
            "open_commitments": open_counts.get(g.id, 0),
        }
        for g in groups
    ]
    return {
        "groups": [r for r in rows if r["archived_at"] is None],
        "archived": [r for r in rows if r["archived_at"] is not None],
    }


def _group_view(group: Group) -> JSON:
    return {
        "id": group.id,
        "name": group.name,
        "kind": group.kind,
        "purpose": group.purpose,
        "archived_at": group.archived_at.isoformat() if group.archived_at else None,
    }


async def group_page(db: Database, scope: Scope, group_id: int) -> JSON:
    """One group: its facts, facilitators, and roster with each member's organization and how
    often they came (meetings of the group they attended ÷ meetings it held)."""
    async with db.read() as session:
        group = await group_in(session, scope, group_id)
        meetings = list(await session.scalars(select(Meeting).where(Meeting.group_id == group.id)))
        held_ids = [m.id for m in meetings if _held(m)]
        came: dict[int, int] = dict(
            (
                await session.execute(
                    select(Attendance.person_id, func.count())
                    .where(Attendance.meeting_id.in_(held_ids))
                    .group_by(Attendance.person_id)
                )
            ).all()
        )
        members = (
            await session.execute(
                select(GroupMember, Person, Organization.name)
                .join(Person, Person.id == GroupMember.person_id)
                .outerjoin(Organization, Organization.id == Person.organization_id)
                .where(GroupMember.group_id == group.id)
                .order_by(Person.name, Person.id)
            )
        ).all()
        staff = (
            await session.execute(
                select(StaffUser.id, StaffUser.name, StaffUser.role)
                .join(GroupStaff, GroupStaff.user_id == StaffUser.id)
                .where(GroupStaff.group_id == group.id)
                .order_by(StaffUser.name)
            )
        ).all()
        open_count = await session.scalar(
            select(func.count()).where(
                Commitment.group_id == group.id,
                Commitment.status == CommitmentStatus.OPEN.value,
            )
        )
    held = len(held_ids)
    roster = []
    for member, person, org in members:
        count = came.get(person.id, 0)
        roster.append(
            {
                "person_id": person.id,
                "name": person.name,
                "organization": org,
                "archived": person.archived_at is not None,
                "added_at": member.added_at.isoformat(),
                "came": count,
                "held": held,
                "rate": round(count / held, 3) if held else None,
            }
        )
    return {
        **_group_view(group),
        "facilitators": [{"id": u, "name": n, "role": r} for u, n, r in staff],
        "meetings_held": held,
        "open_commitments": int(open_count or 0),
        "roster": roster,
    }


async def staff_choices(db: Database, network_id: int) -> list[JSON]:
    """Who may be assigned to look after a group: the network's active staff."""
    async with db.read() as session:
        rows = await session.execute(
            select(StaffUser.id, StaffUser.name, StaffUser.role)
            .where(StaffUser.network_id == network_id, StaffUser.active.is_(True))
            .order_by(StaffUser.name)
        )
        return [{"id": u, "name": n, "role": r} for u, n, r in rows]


async def search_people(
    db: Database, scope: Scope, group_id: int, query: str, *, limit: int = SEARCH_LIMIT
) -> list[JSON]:
    """People of the network whose name (or organization) holds ``query``, not yet on the
    roster, as the roster form offers them while one types: bounded, never the whole network."""
    key = match_key(query[: LIMITS["name"]])
    if not key:
        return []
    limit = max(1, min(limit, SEARCH_LIMIT))
    async with db.read() as session:
        group = await group_in(session, scope, group_id)
        on_roster = select(GroupMember.person_id).where(GroupMember.group_id == group.id)
        pattern = f"%{_escape_like(key)}%"
        rows = await session.execute(
            select(Person.id, Person.name, Organization.name)
            .outerjoin(Organization, Organization.id == Person.organization_id)
            .where(
                Person.network_id == scope.network_id,
                Person.archived_at.is_(None),
                Person.merged_into_id.is_(None),
                Person.id.not_in(on_roster),
                Person.name_key.like(pattern, escape="\\")
                | Organization.name_key.like(pattern, escape="\\"),
            )
            .order_by(Person.name, Person.id)
            .limit(limit)
        )
        return [{"id": p, "name": n, "organization": o} for p, n, o in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
