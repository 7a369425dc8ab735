"""Durable writes on the embedded SQLite (WAL, synchronous=FULL): small transactions per second,
one at a time and through the group-commit writer, and rows per second batched in one
transaction."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from facilitator import migrate
from facilitator.db import Database

INSERT = text("INSERT INTO bench (v) VALUES (:v)")


async def measure(commits: int = 2000, rows: int = 50_000, together: int = 200) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="writes-"))
    url = f"sqlite+aiosqlite:///{folder / 'w.db'}"
    await migrate.upgrade_async(url)
    db = Database(url)
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT)"))
        # One small transaction after another, each its own commit and fsync.
        started = time.perf_counter()
        for n in range(commits):
            async with db.write() as session:
                await session.execute(INSERT, {"v": f"row {n}"})
        single = commits / (time.perf_counter() - started)

        # The same small transactions from `together` senders at once, as a hall of phones
        # sends them: each is its own savepoint and is answered only after its batch's commit.
        def one(n: int) -> Any:
            def work(connection: Connection, _memo: dict[Any, Any]) -> int:
                connection.execute(INSERT, {"v": f"grouped {n}"})
                return n

            return work

        batches = db.group_commit.batches
        started = time.perf_counter()
        for first in range(0, commits, together):
            await asyncio.gather(
                *(
                    db.group_commit.submit(one(n))
                    for n in range(first, min(commits, first + together))
                )
            )
        grouped = commits / (time.perf_counter() - started)
        fsyncs = db.group_commit.batches - batches

        started = time.perf_counter()
        async with db.write() as session:
            await session.execute(INSERT, [{"v": f"batch {n}"} for n in range(rows)])
        batched = rows / (time.perf_counter() - started)
    finally:
        await db.dispose()
    return {
        "commits_per_s": single,
        "group_commits_per_s": grouped,
        "commits_per_fsync": commits / max(1, fsyncs),
        "batched_rows_per_s": batched,
    }


if __name__ == "__main__":
    print(asyncio.run(measure()))
