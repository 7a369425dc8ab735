"""Who a request is: staff sessions behind a cookie, participant tokens kept by phones.

Only SHA-256 hashes of the random tokens are stored, so a copy of the database signs no one in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeGuard, cast

from sqlalchemy import Table, bindparam, insert, select, update

from facilitator.db import Database
from facilitator.db.models import (
    ParticipantToken,
    Person,
    StaffSession,
    StaffUser,
)
from facilitator.flow import Role
from facilitator.services.actors import Actor

SESSION_IDLE = timedelta(days=14)
# Writing "last seen" on every request would make each page view a write; once a while is enough.
TOUCH_EVERY = timedelta(minutes=5)
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def usable(token: object) -> TypeGuard[str]:
    """Worth looking up: a non-empty string of sane length (anything else is no token)."""
    return isinstance(token, str) and 0 < len(token) <= 200


@dataclass(frozen=True)
class StaffIdentity:
    session_id: int
    user_id: int
    network_id: int
    name: str
    email: str
    role: Role
    language: str | None

    @property
    def actor(self) -> Actor:
        return Actor.staff(self.user_id, self.role, self.session_id)


async def start_session(db: Database, user_id: int) -> str:
    """A new session for a user who just proved their password; returns the cookie value."""
    token = new_token()
    now = db.now()
    async with db.write() as session:
        session.add(
            StaffSession(
                token_hash=digest(token), user_id=user_id, created_at=now, last_seen_at=now
            )
        )
    return token


async def staff_for(db: Database, token: str | None) -> StaffIdentity | None:
    """The signed-in user behind a session cookie, or ``None`` (revoked, idle, unknown)."""
    if not token or len(token) > 200:
        return None
    now = db.now()
    # In one hop (Database.read_sync): every staff request asks, a backbone user's many times.
    row = await db.read_sync(
        lambda connection: connection.execute(_SESSION, {"token": digest(token)}).first()
    )
    if row is None or row.revoked_at is not None or not row.active:
        return None
    if now - row.last_seen_at > SESSION_IDLE:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        async with db.write() as session:
            await session.execute(
                update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now)
            )
    return StaffIdentity(
        session_id=row.id,
        user_id=row.user_id,
        network_id=row.network_id,
        name=row.name,
        email=row.email,
        role=Role(row.role),
        language=row.language,
    )


_SESSION = (
    select(
        StaffSession.id,
        StaffSession.revoked_at,
        StaffSession.last_seen_at,
        StaffUser.id.label("user_id"),
        StaffUser.network_id,
        StaffUser.name,
        StaffUser.email,
        StaffUser.role,
        StaffUser.language,
        StaffUser.active,
    )
    .join(StaffUser, StaffUser.id == StaffSession.user_id)
    .where(StaffSession.token_hash == bindparam("token"))
)


async def end_session(db: Database, token: str | None) -> int | None:
    """Revoke the session behind ``token``; returns its id so its sockets can be closed."""
    if not token:
        return None
    async with db.write() as session:
        staff_session = await session.scalar(
            select(StaffSession).where(StaffSession.token_hash == digest(token))
        )
        if staff_session is None or staff_session.revoked_at is not None:
            return None
        staff_session.revoked_at = db.now()
        return staff_session.id


async def issue_participant_token(db: Database, person_id: int) -> str:
    token = new_token()
    async with db.write() as session:
        session.add(
            ParticipantToken(token_hash=digest(token), person_id=person_id, created_at=db.now())
        )
    return token


async def reissue_after_resend(db: Database, person_id: int, joined_at: datetime) -> str | None:
    """A phone asked to join again with the same message id: it never got the answer, so the
    token stored with that join is revoked and a new one issued in its place, dated as the join
    (a third resend replaces the second's). One join, one live token, however often a phone on
    bad Wi-Fi resends it. ``None`` when that join holds no live token any more (staff released
    the name meanwhile): a resend does not take the person back."""
    token = new_token()
    async with db.write() as session:
        revoked = await session.execute(
            update(ParticipantToken)
            .where(
                ParticipantToken.person_id == person_id,
                ParticipantToken.created_at == joined_at,
                ParticipantToken.revoked_at.is_(None),
            )
            .values(revoked_at=db.now())
        )
        if not getattr(revoked, "rowcount", 0):
            return None
        session.add(
            ParticipantToken(token_hash=digest(token), person_id=person_id, created_at=joined_at)
        )
    return token


async def claim_person(db: Database, person_id: int, token_hash: str) -> bool:
    """Store ``token_hash`` for the person unless a phone already holds them (a live token),
    so that of phones claiming at once exactly one does. ``False``: already held."""
    async with db.write() as session:
        connection = await session.connection()
        if connection.dialect.name != "sqlite":
            # SQLite's writers take turns (BEGIN IMMEDIATE); elsewhere the person's row is the
            # turn: a second claimer waits here, then sees the first one's token.
            await connection.execute(_PERSON_ROW, {"p": person_id})
        stored = await connection.execute(_CLAIM, {"h": token_hash, "p": person_id, "at": db.now()})
    return stored.rowcount == 1


# Core: an insert from a select is no ORM bulk insert; typed parameters, as the ORM's would be.
_TOKENS = cast(Table, ParticipantToken.__table__)
_CLAIM = insert(_TOKENS).from_select(
    ["token_hash", "person_id", "created_at"],
    select(
        bindparam("h", type_=_TOKENS.c.token_hash.type),
        bindparam("p", type_=_TOKENS.c.person_id.type),
        bindparam("at", type_=_TOKENS.c.created_at.type),
    ).where(
        ~select(ParticipantToken.id)
        .where(ParticipantToken.person_id == bindparam("p"), ParticipantToken.revoked_at.is_(None))
        .exists()
    ),
)
_PERSON_ROW = select(Person.id).where(Person.id == bindparam("p")).with_for_update()


async def person_for(db: Database, token: str | None, network_id: int | None = None) -> int | None:
    """The person a phone's token stands for (in ``network_id``, when given), or ``None``."""
    if not usable(token):
        return None
    async with db.read() as session:
        row = (
            await session.execute(
                select(ParticipantToken.person_id, ParticipantToken.revoked_at, Person.network_id)
                .join(Person, Person.id == ParticipantToken.person_id)
                .where(ParticipantToken.token_hash == digest(token))
            )
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    if network_id is not None and row.network_id != network_id:
        return None
    return int(row.person_id)


async def open_sessions(db: Database, user_id: int) -> set[int]:
    """The user's sessions not revoked (idle ones included: their sockets may still be open)."""
    async with db.read() as session:
        rows = await session.scalars(
            select(StaffSession.id).where(
                StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None)
            )
        )
        return set(rows)


async def owners_of_open(db: Database, session_ids: set[int]) -> dict[int, int]:
    """Of these sessions, those not revoked, each with its user."""
    found: dict[int, int] = {}
    ids = sorted(session_ids)
    async with db.read() as session:
        for start in range(0, len(ids), 500):  # a bounded IN list on every database
            rows = await session.execute(
                select(StaffSession.id, StaffSession.user_id).where(
                    StaffSession.id.in_(ids[start : start + 500]),
                    StaffSession.revoked_at.is_(None),
                )
            )
            found.update({int(s): int(u) for s, u in rows})
    return found
