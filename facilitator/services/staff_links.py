"""One-time links (the set-up link, a staff invitation, a password reset): making one, finding
a live one, ending the others, who holds one, and what its holder does with it (accept the
invitation, set a new password). Only a hash of a token is stored; no password or token is ever
written to the audit log. Also the refusals a link form shows beside a field."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import StaffLink, StaffSession, StaffUser
from facilitator.errors import DomainError, Invalid, NotFound
from facilitator.services import audit, users
from facilitator.services.access import digest, new_token, usable
from facilitator.validate import clean_name


class LinkGone(DomainError):
    """A one-time link that was used already, expired, or no longer applies."""

    status = 410


class FieldError(Invalid):
    """A refusal that belongs beside one field of a form (``field`` is the form field's name)."""

    def __init__(self, field: str, error: DomainError) -> None:
        super().__init__(error.key, **error.params)
        self.field = field
        self.status = error.status  # a taken email stays a conflict (409), beside its field


def password_checked(password: object, again: object | None = None) -> str:
    """A new password within the length rules (and typed the same twice, when asked twice)."""
    if not isinstance(password, str) or not (
        users.MIN_PASSWORD <= len(password) <= users.MAX_PASSWORD
    ):
        raise FieldError(
            "password",
            Invalid("user.password_length", low=users.MIN_PASSWORD, high=users.MAX_PASSWORD),
        )
    if again is not None and again != password:
        raise FieldError("password_again", Invalid("staff.passwords_differ"))
    return password


async def hash_password(password: str) -> str:
    # Argon2 is deliberately slow: off the event loop.
    return await asyncio.to_thread(users.hash_password, password)


def new_link(
    session: AsyncSession,
    kind: str,
    *,
    now: datetime,
    valid: timedelta,
    network_id: int | None = None,
    user_id: int | None = None,
    created_by: int | None = None,
) -> str:
    """Add a one-time link to ``session``; returns its token (only its hash is stored)."""
    token = new_token()
    session.add(
        StaffLink(
            token_hash=digest(token),
            kind=kind,
            network_id=network_id,
            user_id=user_id,
            created_by=created_by,
            created_at=now,
            expires_at=now + valid,
        )
    )
    return token


async def live_link(session: AsyncSession, token: object, kind: str, now: datetime) -> StaffLink:
    """The unused, unexpired link of ``kind`` behind ``token``; refused otherwise (unknown: 404,
    used or expired: 410)."""
    if not usable(token):
        raise NotFound("link.unknown")
    # Locked until the transaction ends: two uses of one link at once wait for each other, and
    # the second sees it used (PostgreSQL; SQLite's writers are one at a time already).
    link = await session.scalar(
        select(StaffLink).where(StaffLink.token_hash == digest(token)).with_for_update()
    )
    if link is None or link.kind != kind:
        raise NotFound("link.unknown")
    if link.used_at is not None:
        raise LinkGone("link.used")
    if link.expires_at <= now:
        raise LinkGone("link.expired")
    return link


async def void_links(session: AsyncSession, kind: str, now: datetime, **where: Any) -> None:
    """End every unused link of ``kind`` (for a user, or the set-up links): only the newest works."""
    query = update(StaffLink).where(
        StaffLink.kind == kind, StaffLink.used_at.is_(None), StaffLink.expires_at > now
    )
    for column, value in where.items():
        query = query.where(getattr(StaffLink, column) == value)
    await session.execute(query.values(expires_at=now))


@dataclass(frozen=True)
class LinkHolder:
    """Who a staff link is for, as its page greets them."""

    user_id: int
    name: str
    email: str
    network_id: int


async def link_holder(db: Database, token: object, kind: str) -> LinkHolder:
    async with db.read() as session:
        link = await live_link(session, token, kind, db.now())
        user = await session.get(StaffUser, link.user_id) if link.user_id else None
    if user is None or not user.active:
        raise LinkGone("link.user_inactive")
    return LinkHolder(user.id, user.name, user.email, user.network_id)


async def accept_invite(db: Database, token: object, *, name: object, password: str) -> int:
    """The invitee confirms their name and sets a password; the link is used up. Returns the
    user's id (to sign them in)."""
    try:
        display = clean_name(name, "name")
    except DomainError as error:
        raise FieldError("name", error) from None
    hashed = await hash_password(password)
    now = db.now()
    async with db.write() as session:
        link = await live_link(session, token, "invite", now)
        user = await session.get(StaffUser, link.user_id) if link.user_id else None
        if user is None or not user.active:
            raise LinkGone("link.user_inactive")
        before = audit.columns(user, ("name",))
        user.name, user.password_hash = display, hashed
        link.used_at = now
        audit.record(
            session, user.network_id, user.id, "staff.accept_invite", "staff", user.id,
            before=before, after=audit.columns(user, ("name",)), at=now,
        )  # fmt: skip
        return user.id


async def revoke_sessions(session: AsyncSession, user_id: int, now: datetime) -> list[int]:
    """End every open session of the user; returns their ids (whose sockets the caller closes)."""
    ids = list(
        await session.scalars(
            select(StaffSession.id).where(
                StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None)
            )
        )
    )
    if ids:
        await session.execute(
            update(StaffSession).where(StaffSession.id.in_(ids)).values(revoked_at=now)
        )
    return ids


async def reset_password(db: Database, token: object, password: str) -> tuple[int, list[int]]:
    """Set a new password through a reset link. Every session the user had is revoked (the
    caller signs this browser in afresh and closes the revoked sessions' sockets): returns the
    user's id and the revoked session ids."""
    hashed = await hash_password(password)
    now = db.now()
    async with db.write() as session:
        link = await live_link(session, token, "reset", now)
        user = await session.get(StaffUser, link.user_id) if link.user_id else None
        if user is None or not user.active:
            raise LinkGone("link.user_inactive")
        user.password_hash = hashed
        link.used_at = now
        revoked = await revoke_sessions(session, user.id, now)
        audit.record(
            session, user.network_id, user.id, "staff.reset_password", "staff", user.id,
            after={"sessions_ended": len(revoked)}, at=now,
        )  # fmt: skip
        return user.id, revoked
