"""The audit log as people read it: when in the network's own time and language, who, what, the
entity (linked to its page), and each field's value before and after. Read-only: nothing here
or anywhere else changes an entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from facilitator import i18n
from facilitator.db import Database
from facilitator.db.models import (
    AuditEntry,
    Blocker,
    Group,
    Network,
    Organization,
    Person,
    SharedValue,
    StaffUser,
    Strategy,
)
from facilitator.errors import Invalid, NotFound
from facilitator.localtime import local_day
from facilitator.services import audit
from facilitator.validate import MAX_ID

JSON = dict[str, Any]
ENTITIES = (
    "network",
    "organization",
    "person",
    "group",
    "strategy",
    "blocker",
    "value",
    "staff",
)
#: Where each kind of entity is administered (an entity with an id gets its own page if any).
PAGES = {
    "network": "/admin/network",
    "organization": "/admin/organizations",
    "person": "/admin/people",
    "strategy": "/admin/strategies",
    "blocker": "/admin/blockers",
    "value": "/admin/values",
    "staff": "/admin/staff",
}
PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    entity: str | None = None
    action: str | None = None
    user_id: int | None = None
    before_id: int | None = None

    @classmethod
    def parse(cls, query: Any) -> AuditFilters:
        """From a URL's query; a bad value is refused by name."""
        entity = (query.get("entity") or "").strip() or None
        if entity is not None and entity not in ENTITIES:
            raise Invalid("filter.bad_choice", field="entity")
        action = (query.get("action") or "").strip() or None
        if action is not None and (
            len(action) > 40 or not all(c.isascii() and (c.isalnum() or c in "._") for c in action)
        ):
            raise Invalid("filter.bad_choice", field="action")
        return cls(
            entity, action, _number(query.get("who"), "who"), _number(query.get("before"), "before")
        )

    def query(self, **changes: Any) -> dict[str, str]:
        values = {
            "entity": self.entity,
            "action": self.action,
            "who": self.user_id,
            "before": self.before_id,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v is not None}


def _number(raw: str | None, field: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise Invalid("filter.bad_choice", field=field)
    return int(raw)


async def listing(db: Database, network_id: int, filters: AuditFilters) -> JSON:
    """One page of entries, newest first, and the cursor to the older ones."""
    rows = await audit.entries(
        db,
        network_id,
        entity=filters.entity,
        action=filters.action,
        user_id=filters.user_id,
        before_id=filters.before_id,
        limit=PAGE_SIZE + 1,
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return {"entries": rows, "older": rows[-1]["id"] if more and rows else None}


#: Each entity's table and what names it, per language (one column, or Hebrew and English).
_NAMED: dict[str, tuple[Any, Any, Any]] = {
    "group": (Group, Group.name, Group.name),
    "strategy": (Strategy, Strategy.title, Strategy.title),
    "organization": (Organization, Organization.name, Organization.name),
    "person": (Person, Person.name, Person.name),
    "staff": (StaffUser, StaffUser.name, StaffUser.name),
    "blocker": (Blocker, Blocker.label_he, Blocker.label_en),
    "value": (SharedValue, SharedValue.title_he, SharedValue.title_en),
}


async def names(db: Database, network_id: int, entries: list[JSON], lang: str) -> dict[str, str]:
    """What each entry's entity is called now, in ``lang`` where it has two names (one query
    per kind of entity on the page); keyed ``"entity:id"``. A removed one has no name."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        if entry["entity"] in _NAMED and entry["entity_id"] is not None:
            wanted.setdefault(entry["entity"], set()).add(entry["entity_id"])
    found: dict[str, str] = {}
    async with db.read() as session:
        for entity, ids in wanted.items():
            table, he, en = _NAMED[entity]
            rows = await session.execute(
                select(table.id, he, en).where(table.id.in_(ids), table.network_id == network_id)
            )
            for row_id, in_he, in_en in rows:
                shown = (in_he or in_en) if lang == "he" else (in_en or in_he)
                if shown:
                    found[f"{entity}:{row_id}"] = shown
    return found


async def choices(db: Database, network_id: int) -> JSON:
    """What the filters offer: the entities, the actions in this log, and the staff."""
    async with db.read() as session:
        network = await session.get(Network, network_id)
        if network is None:
            raise NotFound("network.not_found")
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.network_id == network_id)
                .distinct()
                .order_by(AuditEntry.action)
            )
        )
        staff = (
            await session.execute(
                select(StaffUser.id, StaffUser.name)
                .where(StaffUser.network_id == network_id)
                .order_by(StaffUser.name)
            )
        ).all()
    return {
        "timezone": network.timezone,
        "entities": list(ENTITIES),
        "actions": actions,
        "staff": [{"id": u, "name": n} for u, n in staff],
    }


def action_text(action: str, lang: str) -> str:
    """An action's name in ``lang``; one the catalog does not know yet is shown as it is stored."""
    key = f"audit.action.{action}"
    return i18n.translate(key, lang) if key in i18n.catalog(lang) else action


def entity_link(entity: str, entity_id: int | None) -> str | None:
    if entity == "group" and entity_id is not None:
        return f"/admin/groups/{entity_id}"
    return PAGES.get(entity)


#: Fields that hold a code, shown by its catalog entry.
_CODED = {"kind": "group.", "sector": "sector.", "role": "groups.role."}


# The fields that hold a day: a name that merely looks like one ("2026-12-01") stays as typed.
_DAY_FIELDS = frozenset({"target_by"})


def _shown(value: Any, lang: str, timezone: str, field: str = "") -> str:
    if (
        isinstance(value, str)
        and field in _CODED
        and f"{_CODED[field]}{value}" in i18n.catalog(lang)
    ):
        return i18n.translate(f"{_CODED[field]}{value}", lang)
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return i18n.translate("csv.true" if value else "csv.false", lang)
    if isinstance(value, list):
        return "; ".join(_shown(v, lang, timezone) for v in value)
    if isinstance(value, dict):
        return "; ".join(
            f"{field_text(k, lang)}: {_shown(v, lang, timezone, k)}"
            for k, v in value.items()
            if not k.endswith("_id") and v not in (None, "", [])
        )
    if isinstance(value, str) and field in _DAY_FIELDS and len(value) == 10:
        try:
            return i18n.format_date(date.fromisoformat(value), lang)
        except ValueError:
            return value
    if isinstance(value, str) and len(value) > 18 and value[10:11] == "T":
        try:
            return moment(datetime.fromisoformat(value), lang, timezone)
        except ValueError:
            return value
    return str(value)


def moment(at: datetime, lang: str, timezone: str) -> str:
    """A stored moment as people there read it: the local day in words and the local time."""
    local = at.astimezone(ZoneInfo(timezone))
    return f"{i18n.format_date(local_day(at, timezone), lang)}, {local:%H:%M}"


def field_text(name: str, lang: str) -> str:
    for key in (f"audit.field.{name}", f"field.{name}"):
        if key in i18n.catalog(lang):
            return i18n.translate(key, lang)
    return name


# Lists of ids: what the JSON twin is for; the page says the rest in words.
_ID_LISTS = frozenset({"moved_people", "created_people", "updated_people", "created_organizations"})


def _worth_showing(field: str, before: JSON, after: JSON) -> bool:
    if field.endswith("_id") or field in _ID_LISTS:
        return False
    one_sided = (field in before) != (field in after)
    value = before[field] if field in before else after[field]
    return not (one_sided and value in (None, "", []))


def readable(entry: JSON, lang: str, timezone: str, name: str | None = None) -> JSON:
    """One entry for the page: the moment, the action's words, the entity by its name with a
    link, and field-by-field changes. Ids are for the JSON twin; an empty field of a new or
    removed entity says nothing."""
    before, after = entry["before"] or {}, entry["after"] or {}
    names = [n for n in dict.fromkeys([*before, *after]) if _worth_showing(n, before, after)]
    return {
        **entry,
        "when": moment(datetime.fromisoformat(entry["at"]), lang, timezone),
        "action_text": action_text(entry["action"], lang),
        "entity_text": i18n.translate(f"audit.entity.{entry['entity']}", lang)
        if f"audit.entity.{entry['entity']}" in i18n.catalog(lang)
        else entry["entity"],
        "link": entity_link(entry["entity"], entry["entity_id"]),
        "name": name,
        "changes": [
            {
                "field": field_text(field, lang),
                "before": _shown(before.get(field), lang, timezone, field)
                if field in before
                else None,
                "after": _shown(after.get(field), lang, timezone, field)
                if field in after
                else None,
            }
            for field in names
        ],
    }
