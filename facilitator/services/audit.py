"""The audit log: every administrative change, written in the transaction that made it.

Entries are only ever added (no service updates or deletes them), so the log says who changed
what, when, and what it was before and after — the transparency the network owes its partners.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import AuditEntry, StaffUser

JSON = dict[str, Any]
PAGE = 200


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def columns(row: Any, names: Iterable[str]) -> JSON:
    """A row's columns as JSON-safe values: the "before" or "after" of an entry."""
    return {name: _plain(getattr(row, name)) for name in names}


def record(
    session: AsyncSession,
    network_id: int,
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    before: JSON | None = None,
    after: JSON | None = None,
    at: datetime,
) -> None:
    """Add one entry to ``session`` (the caller's transaction: no change without its entry)."""
    session.add(
        AuditEntry(
            network_id=network_id,
            user_id=user_id,
            at=at,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
    )


async def entries(
    db: Database,
    network_id: int,
    *,
    entity: str | None = None,
    action: str | None = None,
    user_id: int | None = None,
    entity_id: int | None = None,
    before_id: int | None = None,
    limit: int = PAGE,
) -> list[JSON]:
    """The newest entries first, filtered; ``before_id`` pages back through older ones."""
    query = (
        select(AuditEntry, StaffUser.name)
        .outerjoin(StaffUser, StaffUser.id == AuditEntry.user_id)
        .where(AuditEntry.network_id == network_id)
    )
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if action:
        query = query.where(AuditEntry.action == action)
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    async with db.read() as session:
        rows = (await session.execute(query.order_by(AuditEntry.id.desc()).limit(limit))).all()
    return [
        {
            "id": entry.id,
            "at": entry.at.isoformat(),
            "user_id": entry.user_id,
            "user": name,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "before": entry.before,
            "after": entry.after,
        }
        for entry, name in rows
    ]
