"""A network's settings (name, language, time zone, meeting length, public address): the checks
the set-up page, ``facilitator init`` and the settings page share, and the settings page's
reading and changing them (audited)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import LANGUAGES, Network
from facilitator.errors import DomainError, Invalid, NotFound
from facilitator.services import audit
from facilitator.services.staff_links import FieldError
from facilitator.validate import clean_text

MINUTES_LOW, MINUTES_HIGH = 15, 600
#: How many days before the due date an owner is reminded by mail.
REMINDER_LOW, REMINDER_HIGH = 1, 14
SETTINGS = (
    "name",
    "default_language",
    "timezone",
    "meeting_minutes",
    "public_url",
    "reminder_days",
)

#: Offered first on the set-up and settings pages; any other IANA name may be typed.
ZONES = (
    "Asia/Jerusalem",
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Kyiv",
    "Europe/Moscow",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Mexico_City",
)


def at_field(name: str, check: Any, *args: Any, **kwargs: Any) -> Any:
    """``check(*args, **kwargs)``, its refusal shown beside the form's field ``name``."""
    try:
        return check(*args, **kwargs)
    except FieldError:
        raise
    except DomainError as error:
        raise FieldError(name, error) from None


def checked_name(value: object) -> str:
    return str(at_field("network_name", clean_text, value, "network_name", kind="title"))


def checked_language(value: object) -> str:
    if value not in LANGUAGES:
        raise FieldError("language", Invalid("input.bad_language"))
    return str(value)


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")


def checked_timezone(value: object) -> str:
    """An IANA time zone name (``Asia/Jerusalem``); typed ones are checked against the system's
    list, so no path or odd name reaches ``ZoneInfo``."""
    name = value.strip() if isinstance(value, str) else ""
    if not (0 < len(name) <= 64 and _ZONE.fullmatch(name)):
        raise FieldError("timezone", Invalid("network.bad_timezone"))
    known = _known_zones()
    if known and name not in known and name != "UTC":
        raise FieldError("timezone", Invalid("network.bad_timezone"))
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise FieldError("timezone", Invalid("network.bad_timezone")) from None
    return name


def _checked_count(value: object, field: str, low: int, high: int) -> int:
    try:
        count = int(str(value).strip())
    except ValueError:
        count = low - 1
    if not low <= count <= high:
        raise FieldError(field, Invalid("input.out_of_range", field=field, low=low, high=high))
    return count


def checked_minutes(value: object) -> int:
    return _checked_count(value, "meeting_minutes", MINUTES_LOW, MINUTES_HIGH)


def checked_reminder_days(value: object) -> int:
    return _checked_count(value, "reminder_days", REMINDER_LOW, REMINDER_HIGH)


def checked_public_url(value: object) -> str | None:
    """The address phones reach the server at: an http(s) URL with a host and no query; blank
    means none (the server's own setting or the address the page came to is used)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None
    parts = urlsplit(text)
    if (
        len(text) > 300
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or any(c.isspace() for c in text)
    ):
        raise FieldError("public_url", Invalid("network.bad_public_url"))
    return text.rstrip("/")


async def network_settings(db: Database, network_id: int) -> dict[str, Any]:
    async with db.read() as session:
        network = await session.get(Network, network_id)
        if network is None:
            raise NotFound("network.not_found")
        return {"id": network.id, **audit.columns(network, SETTINGS)}


def link_base(server_url: str, network_url: str | None, lan_url: str, otherwise: str) -> str:
    """Where links handed to people point (join, invitation, calendar, mail): the server's
    public address, else the one the network set on /admin/network, else this machine's LAN
    address (``serve`` on every interface), else ``otherwise``."""
    return (server_url or network_url or lan_url or otherwise).rstrip("/")


async def public_url_of(db: Database, network_id: int) -> str | None:
    """The address the network set for its phones, if any."""
    async with db.read() as session:
        return await session.scalar(select(Network.public_url).where(Network.id == network_id))


async def update_network(
    db: Database, network_id: int, by_user: int, fields: dict[str, object]
) -> bool:
    """Change the network's settings (each checked); the audit keeps what each was before.
    Returns whether anything changed."""
    wanted = {
        "name": checked_name(fields.get("network_name")),
        "default_language": checked_language(fields.get("language")),
        "timezone": checked_timezone(fields.get("timezone")),
        "meeting_minutes": checked_minutes(fields.get("meeting_minutes")),
        "public_url": checked_public_url(fields.get("public_url")),
    }
    if fields.get("reminder_days") not in (None, ""):  # a form without it keeps it as it is
        wanted["reminder_days"] = checked_reminder_days(fields.get("reminder_days"))
    now = db.now()
    async with db.write() as session:
        network = await session.get(Network, network_id)
        if network is None:
            raise NotFound("network.not_found")
        changed = [k for k, v in wanted.items() if getattr(network, k) != v]
        if not changed:
            return False
        before = audit.columns(network, changed)
        for key in changed:
            setattr(network, key, wanted[key])
        audit.record(
            session, network_id, by_user, "network.update", "network", network_id,
            before=before, after=audit.columns(network, changed), at=now,
        )  # fmt: skip
        return True
