"""Staff users: Argon2id password hashes, made and checked off the event loop."""

from __future__ import annotations

import asyncio
import re
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import LANGUAGES, STAFF_ROLES, Network, StaffUser
from facilitator.errors import Conflict, Invalid, NotFound
from facilitator.validate import clean_name, clean_text

_HASHER = PasswordHasher()  # argon2-cffi's defaults are Argon2id with RFC 9106 parameters
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256


def use_cheap_hashes_for_tests() -> None:
    """Hash with Argon2id at its lowest cost from now on in this process. The test suite makes
    hundreds of accounts, each about 0.25 s at the real cost; a hash records its own parameters,
    so accounts made either way still verify. The app never calls this."""
    global _HASHER
    _HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    _dummy_hash.cache_clear()


@cache
def _dummy_hash() -> str:
    # Checked when the email is unknown, so a wrong email costs as long as a wrong password.
    return _HASHER.hash("not a real password, only for timing")


def hash_password(password: str) -> str:
    """An Argon2id hash (slow on purpose: call it in a thread)."""
    return _HASHER.hash(password)


def normalize_email(email: object) -> str:
    text = clean_text(email, "email", kind="email").lower()
    if not _EMAIL.match(text):
        raise Invalid("user.bad_email")
    return text


async def create_user(
    db: Database,
    network_id: int,
    email: str,
    password: str,
    *,
    name: str,
    role: str = "facilitator",
    language: str | None = None,
) -> int:
    """A staff user; the password is hashed in a thread (Argon2 is deliberately slow)."""
    address = normalize_email(email)
    display = clean_name(name, "name")
    if role not in STAFF_ROLES:
        raise Invalid("user.bad_role")
    if language is not None and language not in LANGUAGES:
        raise Invalid("input.bad_language")
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid("user.password_length", low=MIN_PASSWORD, high=MAX_PASSWORD)
    hashed = await asyncio.to_thread(_HASHER.hash, password)
    async with db.write() as session:
        if await session.get(Network, network_id) is None:
            raise NotFound("network.not_found")
        taken = await session.scalar(select(StaffUser.id).where(StaffUser.email == address))
        if taken is not None:
            raise Conflict("user.email_taken")
        user = StaffUser(
            network_id=network_id,
            email=address,
            name=display,
            password_hash=hashed,
            role=role,
            language=language,
            active=True,
            created_at=db.now(),
        )
        session.add(user)
        await session.flush()
        return user.id


async def authenticate(db: Database, email: str, password: str) -> int | None:
    """The user id when email and password match an active user, else ``None``."""
    try:
        address = normalize_email(email)
    except Invalid:
        return None
    async with db.read() as session:
        user = await session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == address))
    stored = user.password_hash if user is not None and user.active else _dummy_hash()
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return None
    try:
        await asyncio.to_thread(_HASHER.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return user.id if user is not None and user.active else None
