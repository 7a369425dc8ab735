"""Working groups as the backbone administers them: name, kind, purpose, the facilitators who look
after each, the roster of people expected at its meetings, and archiving.

Every change is checked against the one scoping rule (``services.scope``): backbone staff change
any group of their network; a facilitator only the roster and purpose of the groups they look
after. A group outside the asker's scope does not exist for them. Each change writes its audit
entry in its own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import (
    GROUP_KINDS,
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
from facilitator.errors import Forbidden, Invalid, NotFound
from facilitator.flow import CommitmentStatus, Role
from facilitator.names import match_key
from facilitator.services import audit
from facilitator.services.scope import Scope
from facilitator.validate import LIMITS, clean_text, optional_text

JSON = dict[str, Any]
GROUP_COLUMNS = ("name", "kind", "purpose", "archived_at")
#: How many people the roster's search offers at once: enough to pick from, never the network.
SEARCH_LIMIT = 12


def _backbone_only(scope: Scope) -> None:
    if not scope.whole_network:
        raise Forbidden("admin.backbone_only")


async def _group(session: AsyncSession, scope: Scope, group_id: int) -> Group:
    """The group, if it is within the asker's reach; otherwise it does not exist for them."""
    group = await session.get(Group, group_id)
    if group is None or group.network_id != scope.network_id or not scope.sees(group.id):
        raise NotFound("group.not_found")
    return group


def _kind(kind: str) -> str:
    if kind not in GROUP_KINDS:
        raise Invalid("group.bad_kind")
    return kind


def _purpose(purpose: str | None) -> str | None:
    # A purpose is a paragraph or two: bounded like a recorded decision.
    return optional_text(purpose, "purpose", kind="decision")


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
        group = await _group(session, scope, group_id)
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
        group = await _group(session, scope, group_id)
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


# --- changes ------------------------------------------------------------------------------------


async def create_group(
    db: Database, scope: Scope, user_id: int, name: str, kind: str, purpose: str | None = None
) -> int:
    """A new group of the network (backbone only)."""
    _backbone_only(scope)
    clean_name = clean_text(name, "name", kind="title")
    clean_kind, clean_purpose = _kind(kind), _purpose(purpose)
    async with db.write() as session:
        group = Group(
            network_id=scope.network_id, name=clean_name, kind=clean_kind, purpose=clean_purpose
        )
        session.add(group)
        await session.flush()
        audit.record(
            session, scope.network_id, user_id, "group.create", "group", group.id,
            after=audit.columns(group, GROUP_COLUMNS), at=db.now(),
        )  # fmt: skip
        return group.id


async def update_group(
    db: Database,
    scope: Scope,
    user_id: int,
    group_id: int,
    *,
    purpose: str | None,
    name: str | None = None,
    kind: str | None = None,
) -> None:
    """Change a group's purpose, and (backbone only) its name and kind. ``None`` keeps each as
    it is (a form that does not carry the field leaves it alone; an empty one clears a purpose)."""
    clean_purpose = None if purpose is None else _purpose(purpose)
    clean_name = None if name is None else clean_text(name, "name", kind="title")
    clean_kind = None if kind is None else _kind(kind)
    async with db.write() as session:
        group = await _group(session, scope, group_id)
        renamed = clean_name is not None and clean_name != group.name
        rekinded = clean_kind is not None and clean_kind != group.kind
        if (renamed or rekinded) and not scope.whole_network:
            raise Forbidden("admin.backbone_only")
        before = audit.columns(group, GROUP_COLUMNS)
        if purpose is not None:
            group.purpose = clean_purpose
        if clean_name is not None:
            group.name = clean_name
        if clean_kind is not None:
            group.kind = clean_kind
        after = audit.columns(group, GROUP_COLUMNS)
        if before != after:
            _record_change(session, scope, user_id, "group.update", group.id, before, after, db)


def _record_change(
    session: AsyncSession,
    scope: Scope,
    user_id: int,
    action: str,
    group_id: int,
    before: JSON,
    after: JSON,
    db: Database,
) -> None:
    """Only the fields that changed go into the entry: the log reads as what was done."""
    changed = [k for k in after if before.get(k) != after.get(k)]
    audit.record(
        session, scope.network_id, user_id, action, "group", group_id,
        before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed},
        at=db.now(),
    )  # fmt: skip


async def set_archived(
    db: Database, scope: Scope, user_id: int, group_id: int, *, archived: bool
) -> None:
    """Archive a group (off the home page, no new meetings; its history stays) or bring it back."""
    _backbone_only(scope)
    async with db.write() as session:
        group = await _group(session, scope, group_id)
        if (group.archived_at is not None) == archived:
            return
        before = audit.columns(group, ("archived_at",))
        group.archived_at = db.now() if archived else None
        action = "group.archive" if archived else "group.unarchive"
        audit.record(
            session, scope.network_id, user_id, action, "group", group.id,
            before=before, after=audit.columns(group, ("archived_at",)), at=db.now(),
        )  # fmt: skip


async def assign_facilitator(
    db: Database, scope: Scope, user_id: int, group_id: int, staff_id: int
) -> None:
    """Someone of the network's active staff looks after the group from now on."""
    _backbone_only(scope)
    async with db.write() as session:
        group = await _group(session, scope, group_id)
        person = await session.get(StaffUser, staff_id)
        if (
            person is None
            or person.network_id != scope.network_id
            or not person.active
            or person.role not in (Role.FACILITATOR.value, Role.BACKBONE.value)
        ):
            raise NotFound("group.staff_not_found")
        exists = await session.scalar(
            select(GroupStaff.id).where(
                GroupStaff.group_id == group.id, GroupStaff.user_id == staff_id
            )
        )
        if exists is not None:
            return
        session.add(GroupStaff(group_id=group.id, user_id=staff_id))
        audit.record(
            session, scope.network_id, user_id, "group.assign", "group", group.id,
            after={"facilitator": person.name, "staff_id": staff_id}, at=db.now(),
        )  # fmt: skip


async def unassign_facilitator(
    db: Database, scope: Scope, user_id: int, group_id: int, staff_id: int
) -> None:
    _backbone_only(scope)
    async with db.write() as session:
        group = await _group(session, scope, group_id)
        link = await session.scalar(
            select(GroupStaff).where(
                GroupStaff.group_id == group.id, GroupStaff.user_id == staff_id
            )
        )
        if link is None:
            return
        person = await session.get_one(StaffUser, staff_id)
        await session.delete(link)
        audit.record(
            session, scope.network_id, user_id, "group.unassign", "group", group.id,
            before={"facilitator": person.name, "staff_id": staff_id}, at=db.now(),
        )  # fmt: skip


async def add_member(
    db: Database, scope: Scope, user_id: int, group_id: int, person_id: int
) -> None:
    """Put a person of the network on the group's roster (once)."""
    async with db.write() as session:
        group = await _group(session, scope, group_id)
        person = await session.get(Person, person_id)
        if (
            person is None
            or person.network_id != scope.network_id
            or person.merged_into_id is not None
        ):
            raise NotFound("person.not_found")
        if person.archived_at is not None:
            raise Invalid("group.person_archived")
        exists = await session.scalar(
            select(GroupMember.id).where(
                GroupMember.group_id == group.id, GroupMember.person_id == person.id
            )
        )
        if exists is not None:
            return
        session.add(GroupMember(group_id=group.id, person_id=person.id, added_at=db.now()))
        audit.record(
            session, scope.network_id, user_id, "group.member_add", "group", group.id,
            after={"member": person.name, "person_id": person.id}, at=db.now(),
        )  # fmt: skip


async def remove_member(
    db: Database, scope: Scope, user_id: int, group_id: int, person_id: int
) -> None:
    async with db.write() as session:
        group = await _group(session, scope, group_id)
        member = await session.scalar(
            select(GroupMember).where(
                GroupMember.group_id == group.id, GroupMember.person_id == person_id
            )
        )
        if member is None:
            return
        person = await session.get_one(Person, person_id)
        await session.delete(member)
        audit.record(
            session, scope.network_id, user_id, "group.member_remove", "group", group.id,
            before={"member": person.name, "person_id": person.id}, at=db.now(),
        )  # fmt: skip
