"""Durable writes on the embedded SQLite (WAL, synchronous=FULL): small commits per second, and
rows per second when batched in one transaction."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from facilitator import migrate
from facilitator.db import Database


async def measure(commits: int = 2000, rows: int = 50_000) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="writes-"))
    url = f"sqlite+aiosqlite:///{folder / 'w.db'}"
    await migrate.upgrade_async(url)
    db = Database(url)
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT)"))
        started = time.perf_counter()
        for n in range(commits):
            async with db.write() as session:
                await session.execute(text("INSERT INTO bench (v) VALUES (:v)"), {"v": f"row {n}"})
        single = commits / (time.perf_counter() - started)
        started = time.perf_counter()
        async with db.write() as session:
            await session.execute(
                text("INSERT INTO bench (v) VALUES (:v)"),
                [{"v": f"batch {n}"} for n in range(rows)],
            )
        batched = rows / (time.perf_counter() - started)
    finally:
        await db.dispose()
    return {"commits_per_s": single, "batched_rows_per_s": batched}


if __name__ == "__main__":
    print(asyncio.run(measure()))
