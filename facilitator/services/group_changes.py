"""Changing a working group: making one, its name, kind and purpose, archiving, the facilitators
who look after it, and its roster.

Every change is checked against the one scoping rule (``services.scope``): backbone staff change
any group of their network; a facilitator only the roster and purpose of the groups they look
after. A group outside the asker's scope does not exist for them. Each change writes its audit
entry in its own transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import GROUP_KINDS, Group, GroupMember, GroupStaff, Person, StaffUser
from facilitator.errors import Forbidden, Invalid, NotFound
from facilitator.flow import Role
from facilitator.services import audit
from facilitator.services.groups import JSON, group_in
from facilitator.services.scope import Scope
from facilitator.validate import clean_text, optional_text

GROUP_COLUMNS = ("name", "kind", "purpose", "archived_at")


def _backbone_only(scope: Scope) -> None:
    if not scope.whole_network:
        raise Forbidden("admin.backbone_only")


def _kind(kind: str) -> str:
    if kind not in GROUP_KINDS:
        raise Invalid("group.bad_kind")
    return kind


def _purpose(purpose: str | None) -> str | None:
    # A purpose is a paragraph or two: bounded like a recorded decision.
    return optional_text(purpose, "purpose", kind="decision")


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
        group = await group_in(session, scope, group_id)
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
        group = await group_in(session, scope, group_id)
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
        group = await group_in(session, scope, group_id)
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
        group = await group_in(session, scope, group_id)
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
        group = await group_in(session, scope, group_id)
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
        group = await group_in(session, scope, group_id)
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
