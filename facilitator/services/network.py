"""Setting up a network: its values, organizations, people, groups, strategies and staff, and the
seed of its blocker list (the list afterwards: ``blockers``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import (
    GROUP_KINDS,
    LANGUAGES,
    SECTORS,
    Blocker,
    Group,
    GroupStaff,
    Network,
    Organization,
    Person,
    SharedValue,
    StaffUser,
    Strategy,
)
from facilitator.errors import Invalid, NotFound
from facilitator.services import audit, upserts
from facilitator.services.commands import Event
from facilitator.services.values_told import tell_open_meetings
from facilitator.validate import clean_name, clean_text, optional_text

#: The seed's list of what blocks effective collaboration, in its order and wording.
SEED_BLOCKERS: tuple[tuple[str, str, str], ...] = (
    ("unclear_goals", "יעדים לא ברורים", "Unclear goals"),
    ("big_egos", "אגו-ים גדולים", "Big egos"),
    ("top_down_leadership", "מנהיגות top-down", "Top-down leadership"),
    ("conflicting_interests", "אינטרסים מנוגדים", "Conflicting interests"),
    ("more_talk_than_action", "יותר דיבור מעשייה", "More talk than action"),
    ("lack_of_trust", "חוסר אמון", "Lack of trust"),
    ("not_enough_diversity", "העדר גיוון מספק", "Not enough diversity"),
    ("no_community_voice", "העדר קול של הקהילה", "No community voice"),
    (
        "little_follow_through",
        "מעט מעקב או אחריות לביצוע",
        "Little follow-through or accountability",
    ),
)


async def create_network(
    db: Database, name: str, *, language: str = "he", timezone: str = "Asia/Jerusalem"
) -> int:
    """A new network with the seed's blocker list; returns its id."""
    name = clean_text(name, "name", kind="title")
    if language not in LANGUAGES:
        raise Invalid("input.bad_language")
    try:
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise Invalid("network.bad_timezone") from None
    async with db.write() as session:
        network = Network(
            name=name, default_language=language, timezone=timezone, created_at=db.now()
        )
        session.add(network)
        await session.flush()
        for position, (key, he, en) in enumerate(SEED_BLOCKERS, start=1):
            session.add(
                Blocker(
                    network_id=network.id,
                    key=key,
                    position=position,
                    label_he=he,
                    label_en=en,
                    active=True,
                )
            )
        return network.id


async def next_position(session: AsyncSession, column: Any, network_column: Any, nid: int) -> int:
    """The place after the network's last (values, blockers: each kept in an order)."""
    top = await session.scalar(select(func.max(column)).where(network_column == nid))
    return int(top or 0) + 1


async def require_network(session: AsyncSession, network_id: int) -> None:
    """Refused as not found unless the network exists."""
    if await session.get(Network, network_id) is None:
        raise NotFound("network.not_found")


@dataclass(frozen=True)
class ValueWords:
    """A shared value's words in each language; a language left blank is not written (yet)."""

    title_he: str = ""
    behaviours_he: Sequence[str] = ()
    title_en: str = ""
    behaviours_en: Sequence[str] = ()


def _value_columns(words: ValueWords) -> dict[str, Any]:
    """The columns of a value, checked: a title in at least one language, and in each language
    with a title at least one behaviour (and no behaviours without a title)."""
    columns: dict[str, Any] = {}
    for lang, title, behaviours in (
        ("he", words.title_he, words.behaviours_he),
        ("en", words.title_en, words.behaviours_en),
    ):
        field = f"title_{lang}"
        named = clean_text(title, field, kind="title") if title.strip() else None
        cleaned = [clean_text(b, "behaviour", kind="behaviour") for b in behaviours if b.strip()]
        if named is None and cleaned:
            raise Invalid("value.title_for_behaviours")
        if named is not None and not cleaned:
            raise Invalid("value.behaviours_required")
        columns[field], columns[f"behaviours_{lang}"] = named, cleaned or None
    if columns["title_he"] is None and columns["title_en"] is None:
        raise Invalid("value.title_required")
    return columns


VALUE_COLUMNS = ("title_he", "behaviours_he", "title_en", "behaviours_en")


@dataclass(frozen=True)
class ValueChange:
    """A value added, changed or removed, and the event each open meeting logged of it (for
    the rooms to be told)."""

    value_id: int
    events: list[Event]


async def add_value(
    db: Database, network_id: int, words: ValueWords, *, user_id: int | None = None
) -> ValueChange:
    """A shared value and the behaviours it expects, placed last."""
    columns = _value_columns(words)
    async with db.write() as session:
        await require_network(session, network_id)
        position = await next_position(
            session, SharedValue.position, SharedValue.network_id, network_id
        )
        value = SharedValue(network_id=network_id, position=position, **columns)
        session.add(value)
        await session.flush()
        audit.record(
            session, network_id, user_id, "value.create", "value", value.id,
            after=audit.columns(value, VALUE_COLUMNS), at=db.now(),
        )  # fmt: skip
        await session.flush()
        return ValueChange(
            value.id, await tell_open_meetings(session, network_id, user_id, db.now())
        )


async def add_organization(
    db: Database, network_id: int, name: str, sector: str | None = None
) -> int:
    name = clean_name(name, "organization", kind="title")
    if sector is not None and sector not in SECTORS:
        raise Invalid("organization.bad_sector")
    async with db.write() as session:
        await require_network(session, network_id)
        # The one of this name when there is one already (made a moment ago elsewhere, say).
        org_id, _made = await session.run_sync(
            lambda s: upserts.organization(s.connection(), network_id, name, sector)
        )
        return org_id


async def add_person(
    db: Database, network_id: int, name: str, organization_id: int | None = None
) -> int:
    name = clean_name(name, "name")
    async with db.write() as session:
        await require_network(session, network_id)
        if organization_id is not None:
            org = await session.get(Organization, organization_id)
            if org is None or org.network_id != network_id:
                raise NotFound("organization.not_found")
            # The one of this name there when there is one already (one per name key).
            org_id, now = org.id, db.now()
            person_id, _made = await session.run_sync(
                lambda s: upserts.person(s.connection(), network_id, org_id, name, now)
            )
            return person_id
        person = Person(
            network_id=network_id, organization_id=organization_id, name=name, created_at=db.now()
        )
        session.add(person)
        await session.flush()
        return person.id


async def add_group(db: Database, network_id: int, name: str, kind: str) -> int:
    name = clean_text(name, "name", kind="title")
    if kind not in GROUP_KINDS:
        raise Invalid("group.bad_kind")
    async with db.write() as session:
        await require_network(session, network_id)
        group = Group(network_id=network_id, name=name, kind=kind)
        session.add(group)
        await session.flush()
        return group.id


async def add_strategy(db: Database, network_id: int, title: str, target: str) -> int:
    title = clean_text(title, "title", kind="title")
    target_text = optional_text(target, "target") or ""
    async with db.write() as session:
        await require_network(session, network_id)
        strategy = Strategy(network_id=network_id, title=title, target=target_text)
        session.add(strategy)
        await session.flush()
        return strategy.id


async def update_value(
    db: Database,
    network_id: int,
    value_id: int,
    words: ValueWords,
    *,
    user_id: int | None = None,
) -> ValueChange:
    """Change a shared value's titles and the behaviours it expects, in both languages."""
    columns = _value_columns(words)
    async with db.write() as session:
        value = await session.get(SharedValue, value_id)
        if value is None or value.network_id != network_id:
            raise NotFound("value.not_found")
        before = audit.columns(value, VALUE_COLUMNS)
        for name, content in columns.items():
            setattr(value, name, content)
        record_changes(session, network_id, user_id, "value.update", "value", value_id, before,
                 audit.columns(value, VALUE_COLUMNS), db)  # fmt: skip
        await session.flush()
        return ValueChange(
            value_id, await tell_open_meetings(session, network_id, user_id, db.now())
        )


async def remove_value(
    db: Database, network_id: int, value_id: int, *, user_id: int | None = None
) -> ValueChange:
    async with db.write() as session:
        value = await session.get(SharedValue, value_id)
        if value is None or value.network_id != network_id:
            raise NotFound("value.not_found")
        audit.record(
            session, network_id, user_id, "value.remove", "value", value_id,
            before=audit.columns(value, VALUE_COLUMNS), at=db.now(),
        )  # fmt: skip
        await session.delete(value)
        await session.flush()
        return ValueChange(
            value_id, await tell_open_meetings(session, network_id, user_id, db.now())
        )


def record_changes(
    session: AsyncSession,
    network_id: int,
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    db: Database,
) -> None:
    """An audit entry holding only the fields that changed (none changed: no entry)."""
    changed = [k for k in after if before.get(k) != after.get(k)]
    if changed:
        audit.record(
            session, network_id, user_id, action, entity, entity_id,
            before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed},
            at=db.now(),
        )  # fmt: skip


async def default_language(db: Database) -> str:
    """The first network's language: pages before sign-in speak it."""
    # In one hop (Database.read_sync): every page and a hall of phones joining ask it.
    lang = await db.read_sync(lambda connection: connection.execute(_FIRST_LANGUAGE).scalar())
    return lang or "he"


_FIRST_LANGUAGE = select(Network.default_language).order_by(Network.id).limit(1)


async def assign_staff(db: Database, group_id: int, user_id: int) -> None:
    """A facilitator looks after a group (and so sees it in the backbone pages)."""
    async with db.write() as session:
        group = await session.get(Group, group_id)
        user = await session.get(StaffUser, user_id)
        if group is None or user is None or group.network_id != user.network_id:
            raise NotFound("group.not_found")
        exists = await session.scalar(
            select(GroupStaff.id).where(
                GroupStaff.group_id == group_id, GroupStaff.user_id == user_id
            )
        )
        if exists is None:
            session.add(GroupStaff(group_id=group_id, user_id=user_id))
