"""A network from nothing (its settings afterwards: ``network_settings``).

The first run has no network and no one to sign in: ``facilitator serve`` makes a one-time
set-up link (only its hash is stored; it works once, for a day, and never once a network exists)
and the set-up page — or ``facilitator init`` without a browser — creates the network, its
blockers and starter values and the first backbone account in one transaction
(``create_network``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text

from facilitator.db import Database
from facilitator.db.models import LANGUAGES, Blocker, Network, SharedValue, StaffUser
from facilitator.errors import Conflict, Invalid
from facilitator.services import audit, users
from facilitator.services.network import SEED_BLOCKERS
from facilitator.services.network_settings import (
    SETTINGS,
    at_field,
    checked_language,
    checked_minutes,
    checked_name,
    checked_timezone,
)
from facilitator.services.staff_links import (
    FieldError,
    LinkGone,
    hash_password,
    live_link,
    new_link,
    password_checked,
    void_links,
)
from facilitator.validate import clean_name, clean_text

SETUP_VALID = timedelta(hours=24)
#: PostgreSQL advisory lock taken while a network is first created.
SETUP_LOCK = 0x5E7_0001
DEFAULT_MINUTES = 90
MAX_VALUES = 12
MAX_BEHAVIOURS = 10


@dataclass(frozen=True)
class Starter:
    """A starter value in both languages: the seed asks for values written as behaviours."""

    title_he: str
    behaviours_he: tuple[str, ...]
    title_en: str
    behaviours_en: tuple[str, ...]

    def words(self, lang: str) -> tuple[str, tuple[str, ...]]:
        return (
            (self.title_he, self.behaviours_he)
            if lang == "he"
            else (
                self.title_en,
                self.behaviours_en,
            )
        )


#: Drawn from the seed's dangers: transparency (no meeting before the meeting), follow-through,
#: the community's voice, trust, diversity, and action rather than updates.
STARTER_VALUES = (
    Starter(
        "שקיפות",
        (
            "מחליטים בחדר – אין פגישה לפני הפגישה",
            "משתפים מידע עם כל השותפים באותו זמן",
            "אומרים בגלוי כשיש לנו אינטרס בנושא",
        ),
        "Transparency",
        (
            "We decide in the room – no meeting before the meeting",
            "We share information with every partner at the same time",
            "We say openly when we have an interest in a matter",
        ),
    ),
    Starter(
        "אחריותיות",
        (
            "מתחייבים רק למה שנוכל לבצע",
            "מדווחים בפגישה הבאה על כל מחויבות – גם כשלא בוצעה",
            "מבקשים עזרה מוקדם כשמשהו נתקע",
        ),
        "Accountability",
        (
            "We commit only to what we can deliver",
            "We report on every commitment at the next meeting – done or not",
            "We ask for help early when something is stuck",
        ),
    ),
    Starter(
        "קול הקהילה",
        (
            "מי שההחלטות משפיעות עליהם יושבים איתנו ליד השולחן",
            "בודקים כל החלטה מול מי שהיא משפיעה עליו",
        ),
        "Community voice",
        (
            "The people our decisions affect sit at the table with us",
            "We test every decision with the people it affects",
        ),
    ),
    Starter(
        "אמון וכבוד הדדי",
        (
            "מקשיבים עד הסוף לפני שמגיבים",
            "מדברים בשם הארגון שאנחנו מייצגים",
            "מתווכחים על רעיונות, לא על אנשים",
        ),
        "Trust and mutual respect",
        (
            "We listen to the end before we answer",
            "We speak for the organization we represent",
            "We argue about ideas, not about people",
        ),
    ),
    Starter(
        "עשייה משותפת",
        (
            "כל פגישה מסתיימת במחויבויות: מי עושה מה ועד מתי",
            "עדכונים נשלחים בכתב, והזמן בפגישה מוקדש לפתרון בעיות",
            "נותנים מקום לכל קול – גם לשותפים החדשים והשקטים",
        ),
        "Acting together",
        (
            "Every meeting ends with commitments: who does what, by when",
            "Updates go out in writing; meeting time goes to solving problems",
            "We make room for every voice – new and quiet partners too",
        ),
    ),
)


@dataclass
class ValueInput:
    """One value as typed on the set-up page (or a starter), in the form's language."""

    title: str
    behaviours: list[str]


@dataclass
class NetworkSetup:
    """Everything the first run asks for. Blockers not in ``blockers`` are created retired."""

    name: str
    language: str
    timezone: str
    admin_name: str
    admin_email: str
    password: str
    password_again: str | None = None
    meeting_minutes: object = DEFAULT_MINUTES
    blockers: Collection[str] = tuple(key for key, _he, _en in SEED_BLOCKERS)
    #: The values as typed, in ``values_language``; ``None``: the starter set in both languages.
    values: Sequence[ValueInput] | None = None
    values_language: str = "he"


def _value_rows(form: NetworkSetup) -> list[dict[str, Any]]:
    """The values' columns. A starter left as it was keeps both languages; a changed one is
    written in the language it was typed in."""
    if form.values is None:
        return [
            {
                "title_he": s.title_he,
                "behaviours_he": list(s.behaviours_he),
                "title_en": s.title_en,
                "behaviours_en": list(s.behaviours_en),
            }
            for s in STARTER_VALUES
        ]
    lang = form.values_language if form.values_language in LANGUAGES else "he"
    rows = []
    for index, value in enumerate(form.values[:MAX_VALUES]):
        behaviours = [b for b in value.behaviours if b.strip()][:MAX_BEHAVIOURS]
        if not value.title.strip() and not behaviours:
            continue
        place = f"value_{index}"
        if not value.title.strip():
            raise FieldError(place, Invalid("value.title_required"))
        if not behaviours:
            raise FieldError(place, Invalid("value.behaviours_required"))
        title = at_field(place, clean_text, value.title, "title", kind="title")
        said = [at_field(place, clean_text, b, "behaviour", kind="behaviour") for b in behaviours]
        starter = next(
            (s for s in STARTER_VALUES if s.words(lang) == (title, tuple(said))),
            None,
        )
        if starter is not None:
            rows.append(
                {
                    "title_he": starter.title_he,
                    "behaviours_he": list(starter.behaviours_he),
                    "title_en": starter.title_en,
                    "behaviours_en": list(starter.behaviours_en),
                }
            )
        else:
            other = "en" if lang == "he" else "he"
            row: dict[str, Any] = {f"title_{other}": None, f"behaviours_{other}": None}
            row[f"title_{lang}"], row[f"behaviours_{lang}"] = title, said
            rows.append(row)
    return rows


async def has_network(db: Database) -> bool:
    async with db.read() as session:
        return await session.scalar(select(Network.id).limit(1)) is not None


async def new_setup_link(db: Database) -> str | None:
    """A fresh set-up link (earlier unused ones stop working), or ``None`` when a network
    exists already. Returns the token: it is shown once and never stored."""
    now = db.now()
    async with db.write() as session:
        if await session.scalar(select(Network.id).limit(1)) is not None:
            return None
        await void_links(session, "setup", now)
        return new_link(session, "setup", now=now, valid=SETUP_VALID)


async def check_setup_link(db: Database, token: object) -> None:
    """Refuse a set-up link that is unknown (404), used, expired, or late: a network exists (410)."""
    async with db.read() as session:
        await live_link(session, token, "setup", db.now())
        if await session.scalar(select(Network.id).limit(1)) is not None:
            raise LinkGone("setup.done")


def _checked(form: NetworkSetup) -> dict[str, Any]:
    """Every field checked, before any hashing or writing."""
    return {
        "name": checked_name(form.name),
        "language": checked_language(form.language),
        "timezone": checked_timezone(form.timezone),
        "minutes": checked_minutes(form.meeting_minutes),
        "values": _value_rows(form),
        "admin_name": at_field("name", clean_name, form.admin_name, "name"),
        "email": at_field("email", users.normalize_email, form.admin_email),
        "password": password_checked(form.password, form.password_again),
    }


async def create_network(
    db: Database, form: NetworkSetup, *, setup_token: str | None = None
) -> tuple[int, int]:
    """The network, its blockers and values and its first backbone user, in one transaction;
    with ``setup_token`` the set-up link is used up in it too. Refused once any network exists.
    Returns the network's and the user's ids."""
    good = _checked(form)
    hashed = await hash_password(good["password"])
    now = db.now()
    async with db.write() as session:
        if (await session.connection()).dialect.name == "postgresql":
            # "No network yet" is checked, then a network is added: the set-up page and `init`
            # racing must not both pass (SQLite's writers are one at a time already).
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK})
        link = None
        if setup_token is not None:
            link = await live_link(session, setup_token, "setup", now)
        if await session.scalar(select(Network.id).limit(1)) is not None:
            raise LinkGone("setup.done") if setup_token is not None else Conflict("setup.exists")
        taken = await session.scalar(
            select(StaffUser.id).where(func.lower(StaffUser.email) == good["email"])
        )
        if taken is not None:
            raise FieldError("email", Conflict("user.email_taken"))
        network = Network(
            name=good["name"],
            default_language=good["language"],
            timezone=good["timezone"],
            meeting_minutes=good["minutes"],
            created_at=now,
        )
        session.add(network)
        await session.flush()
        user = StaffUser(
            network_id=network.id,
            email=good["email"],
            name=good["admin_name"],
            password_hash=hashed,
            role="backbone",
            language=None,
            active=True,
            created_at=now,
        )
        session.add(user)
        await session.flush()
        kept = set(form.blockers)
        retired = []
        for position, (key, he, en) in enumerate(SEED_BLOCKERS, start=1):
            active = key in kept
            if not active:
                retired.append(key)
            session.add(
                Blocker(
                    network_id=network.id, key=key, position=position,
                    label_he=he, label_en=en, active=active,
                )
            )  # fmt: skip
        values = []
        for position, row in enumerate(good["values"], start=1):
            value = SharedValue(network_id=network.id, position=position, **row)
            session.add(value)
            values.append(value)
        await session.flush()
        if link is not None:
            link.used_at = now
            link.network_id = network.id
        # The first entries of the log: the network as it began, and who began it.
        audit.record(
            session, network.id, user.id, "network.create", "network", network.id,
            after={**audit.columns(network, SETTINGS), "retired_blockers": retired}, at=now,
        )  # fmt: skip
        audit.record(
            session, network.id, user.id, "staff.create", "staff", user.id,
            after=audit.columns(user, ("name", "email", "role", "active")), at=now,
        )  # fmt: skip
        for value in values:
            audit.record(
                session, network.id, user.id, "value.create", "value", value.id,
                after=audit.columns(value, ("title_he", "title_en", "behaviours_he", "behaviours_en")),
                at=now,
            )  # fmt: skip
        return network.id, user.id
