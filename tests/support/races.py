"""Races between processes on one database, made to happen: each ``Database`` is one process's
connections, and a third holds rows locked (or a row inserted, not committed) while the racing
calls are sent, so on PostgreSQL they really overlap; on SQLite the one writer serializes them,
and the answers must be the same."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from facilitator.db import Database


async def waiting_on_locks(db: Database, count: int) -> None:
    """Until ``count`` transactions wait on a lock (PostgreSQL); SQLite's wait in its busy
    handler, where nothing tells, so there a moment is given."""
    if db.is_sqlite:
        await asyncio.sleep(0.3)
        return
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(200):
        async with db.read() as session:
            if (await session.scalar(query) or 0) >= count:
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} transactions never waited on a lock")


async def released_together(
    holder: Database, hold: Callable[[Any], Awaitable[object]], *calls: Awaitable[Any]
) -> list[Any]:
    """Run ``calls`` at once while ``holder`` keeps a transaction that did ``hold`` open, and
    commit it once every call waits on it: the calls then go on together."""
    async with holder.write() as session:
        await hold(session)
        tasks = [asyncio.ensure_future(call) for call in calls]
        await waiting_on_locks(holder, len(tasks))
    return list(await asyncio.gather(*tasks, return_exceptions=True))
