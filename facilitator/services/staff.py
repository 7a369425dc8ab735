"""Staff accounts as the backbone manages them: the list, inviting someone and sending a reset
link (the links themselves: ``staff_links``), roles and the groups a facilitator looks after,
deactivation, and the guard that keeps at least one active backbone. Every change is written to
the audit log in its own transaction; no password or token ever is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import (
    STAFF_ROLES,
    Group,
    GroupStaff,
    Network,
    StaffLink,
    StaffSession,
    StaffUser,
)
from facilitator.errors import Conflict, DomainError, Invalid, NotFound
from facilitator.services import audit, users
from facilitator.services.staff_links import FieldError, new_link, revoke_sessions, void_links
from facilitator.validate import clean_name

INVITE_VALID = timedelta(days=7)


RESET_VALID = timedelta(hours=24)


#: Not an Argon2 hash, so no password ever matches it (``users.authenticate`` refuses it):
#: an invited user has no password until they open their link and set one.
UNUSABLE_PASSWORD = "!"  # noqa: S105 (a marker, not a password)


async def lock_network(session: AsyncSession, network_id: int) -> None:
    """Hold the network's row until the transaction ends, so that two changes to its staff
    (each checking "another active backbone remains") run one after the other."""
    await session.execute(select(Network.id).where(Network.id == network_id).with_for_update())


async def _facts(session: AsyncSession, user: StaffUser, groups: Iterable[int]) -> dict[str, Any]:
    """A staff user as the audit log keeps them: the groups by name, as people read them."""
    ids = sorted(groups)
    named = dict(
        (await session.execute(select(Group.id, Group.name).where(Group.id.in_(ids)))).all()
    )
    return {
        **audit.columns(user, ("name", "email", "role", "active")),
        "groups": [named.get(i, str(i)) for i in ids],
    }


async def _groups_of(session: AsyncSession, user_id: int) -> list[int]:
    return list(
        await session.scalars(select(GroupStaff.group_id).where(GroupStaff.user_id == user_id))
    )


async def _checked_groups(
    session: AsyncSession, network_id: int, group_ids: Iterable[int]
) -> list[int]:
    wanted = sorted(set(group_ids))
    if not wanted:
        return []
    found = set(
        await session.scalars(
            select(Group.id).where(Group.network_id == network_id, Group.id.in_(wanted))
        )
    )
    if found != set(wanted):
        raise FieldError("groups", NotFound("group.not_found"))
    return wanted


async def _user_in(session: AsyncSession, network_id: int, user_id: int) -> StaffUser:
    user = await session.get(StaffUser, user_id)
    if user is None or user.network_id != network_id:
        raise NotFound("staff.not_found")
    return user


async def _other_active_backbones(session: AsyncSession, network_id: int, user_id: int) -> int:
    count = await session.scalar(
        select(func.count(StaffUser.id)).where(
            StaffUser.network_id == network_id,
            StaffUser.role == "backbone",
            StaffUser.active.is_(True),
            StaffUser.id != user_id,
        )
    )
    return int(count or 0)


def _role(role: object) -> str:
    if role not in STAFF_ROLES:
        raise FieldError("role", Invalid("user.bad_role"))
    return str(role)


async def staff_list(db: Database, network_id: int) -> list[dict[str, Any]]:
    """Every staff user of the network, with the groups they look after and when last seen."""
    now = db.now()
    async with db.read() as session:
        people = list(
            await session.scalars(
                select(StaffUser)
                .where(StaffUser.network_id == network_id)
                .order_by(StaffUser.active.desc(), StaffUser.name)
            )
        )
        seen = dict(
            (
                await session.execute(
                    select(StaffSession.user_id, func.max(StaffSession.last_seen_at))
                    .join(StaffUser, StaffUser.id == StaffSession.user_id)
                    .where(StaffUser.network_id == network_id)
                    .group_by(StaffSession.user_id)
                )
            ).all()
        )
        looked_after = (
            await session.execute(
                select(GroupStaff.user_id, Group.id, Group.name)
                .join(Group, Group.id == GroupStaff.group_id)
                .where(Group.network_id == network_id)
                .order_by(Group.name)
            )
        ).all()
        waiting = set(
            await session.scalars(
                select(StaffLink.user_id).where(
                    StaffLink.network_id == network_id,
                    StaffLink.kind == "invite",
                    StaffLink.used_at.is_(None),
                    StaffLink.expires_at > now,
                )
            )
        )
    groups: dict[int, list[dict[str, Any]]] = {}
    for user_id, group_id, name in looked_after:
        groups.setdefault(user_id, []).append({"id": group_id, "name": name})
    result = []
    for user in people:
        last = seen.get(user.id)
        result.append(
            {
                "id": user.id,
                "name": user.name,
                "email": user.email,
                "role": user.role,
                "active": user.active,
                "groups": groups.get(user.id, []),
                "last_seen": last.isoformat() if last else None,
                # Invited and not yet in: no password of their own so far.
                "invited": user.password_hash == UNUSABLE_PASSWORD,
                "invite_open": user.id in waiting,
            }
        )
    return result


async def network_groups(db: Database, network_id: int) -> list[dict[str, Any]]:
    """The groups a staff member may be given to look after (archived ones marked)."""
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Group.id, Group.name, Group.archived_at)
                .where(Group.network_id == network_id)
                .order_by(Group.name)
            )
        ).all()
    return [{"id": g.id, "name": g.name, "archived": g.archived_at is not None} for g in rows]


async def invite(
    db: Database,
    network_id: int,
    by_user: int,
    *,
    name: object,
    email: object,
    role: object,
    group_ids: Iterable[int] = (),
) -> tuple[int, str]:
    """A new staff user with no password yet, and the one-time link (valid a week) on which they
    set one. Returns the user's id and the link's token, which is shown once and never stored."""
    try:
        display = clean_name(name, "name")
    except DomainError as error:
        raise FieldError("name", error) from None
    try:
        address = users.normalize_email(email)
    except DomainError as error:
        raise FieldError("email", error) from None
    chosen = _role(role)
    now = db.now()
    async with db.write() as session:
        await lock_network(session, network_id)  # two invitations of one address at once
        groups = await _checked_groups(session, network_id, group_ids)
        taken = await session.scalar(
            select(StaffUser.id).where(func.lower(StaffUser.email) == address)
        )
        if taken is not None:
            raise FieldError("email", Conflict("user.email_taken"))
        user = StaffUser(
            network_id=network_id,
            email=address,
            name=display,
            password_hash=UNUSABLE_PASSWORD,
            role=chosen,
            language=None,
            active=True,
            created_at=now,
        )
        session.add(user)
        await session.flush()
        for group_id in groups:
            session.add(GroupStaff(group_id=group_id, user_id=user.id))
        token = new_link(
            session,
            "invite",
            now=now,
            valid=INVITE_VALID,
            network_id=network_id,
            user_id=user.id,
            created_by=by_user,
        )
        audit.record(
            session, network_id, by_user, "staff.invite", "staff", user.id,
            after=await _facts(session, user, groups), at=now,
        )  # fmt: skip
        return user.id, token


async def reset_link(db: Database, network_id: int, by_user: int, user_id: int) -> str:
    """A one-time password-reset link for a user (valid a day); earlier unused ones stop working."""
    now = db.now()
    async with db.write() as session:
        user = await _user_in(session, network_id, user_id)
        if not user.active:
            raise Conflict("staff.inactive")
        await void_links(session, "reset", now, user_id=user.id)
        token = new_link(
            session, "reset", now=now, valid=RESET_VALID,
            network_id=network_id, user_id=user.id, created_by=by_user,
        )  # fmt: skip
        audit.record(session, network_id, by_user, "staff.reset_link", "staff", user.id, at=now)
        return token


async def update_staff(
    db: Database,
    network_id: int,
    by_user: int,
    user_id: int,
    *,
    role: object,
    group_ids: Iterable[int],
) -> None:
    """Change a user's role and the groups they look after. The last active backbone stays one."""
    chosen = _role(role)
    now = db.now()
    async with db.write() as session:
        await lock_network(session, network_id)
        user = await _user_in(session, network_id, user_id)
        groups = await _checked_groups(session, network_id, group_ids)
        had = await _groups_of(session, user.id)
        before = await _facts(session, user, had)
        if (
            user.role == "backbone"
            and chosen != "backbone"
            and user.active
            and not await _other_active_backbones(session, network_id, user.id)
        ):
            raise Conflict("staff.last_backbone")
        user.role = chosen
        for group_id in set(had) - set(groups):
            await session.execute(
                delete(GroupStaff).where(
                    GroupStaff.user_id == user.id, GroupStaff.group_id == group_id
                )
            )
        for group_id in set(groups) - set(had):
            session.add(GroupStaff(group_id=group_id, user_id=user.id))
        after = await _facts(session, user, groups)
        if after != before:
            audit.record(
                session, network_id, by_user, "staff.update", "staff", user.id,
                before=before, after=after, at=now,
            )  # fmt: skip


async def set_active(
    db: Database, network_id: int, by_user: int, user_id: int, *, active: bool
) -> list[int]:
    """Deactivate (every session revoked, unused links ended) or reactivate a user. Returns the
    revoked session ids, whose sockets the caller closes at once."""
    now = db.now()
    async with db.write() as session:
        await lock_network(session, network_id)
        user = await _user_in(session, network_id, user_id)
        if user.active == active:
            return []
        if (
            not active
            and user.role == "backbone"
            and not await _other_active_backbones(session, network_id, user.id)
        ):
            raise Conflict("staff.last_backbone")
        before = audit.columns(user, ("active",))
        user.active = active
        revoked: list[int] = []
        if not active:
            revoked = await revoke_sessions(session, user.id, now)
            for kind in ("invite", "reset"):
                await void_links(session, kind, now, user_id=user.id)
        audit.record(
            session, network_id, by_user,
            "staff.reactivate" if active else "staff.deactivate", "staff", user.id,
            before=before,
            after={**audit.columns(user, ("active",)), "sessions_ended": len(revoked)},
            at=now,
        )  # fmt: skip
        return revoked
