"""Run Alembic from code, so `facilitator migrate`, `serve` and the tests share one path.

Every run takes a lock first, so processes started together (several app processes on one
database, a unit's ``facilitator migrate`` beside them) migrate one after the other: the
first brings the schema to head and the others, once they hold the lock, find nothing to do.
On a SQLite file the lock is an exclusive ``flock`` on ``<file>.migrate-lock`` beside it,
taken around the whole run; on PostgreSQL it is an advisory lock held by the connection that
migrates (``migrations/env.py``). An in-memory database lives in one process and needs none.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from facilitator import paths

#: The key of PostgreSQL's advisory lock a migration holds (any fixed 64-bit number will do;
#: this one spells "facilitator migrate" to those who look).
ADVISORY_LOCK_KEY = 0x4641_4349_4D49_4752


def alembic_config(database_url: str) -> Config:
    # Built here rather than read from alembic.ini, which only a checkout has (it serves the
    # `alembic` command there); an installed package carries the migrations inside itself.
    config = Config()
    config.set_main_option("script_location", str(paths.migrations()))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` to ``revision`` (blocking: call from a thread)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    # env.py runs its own event loop, so it needs a thread of its own.
    await asyncio.to_thread(upgrade, database_url, revision)


@contextlib.contextmanager
def file_lock(database_url: str) -> Iterator[None]:
    """Hold ``<file>.migrate-lock`` for a SQLite file's migration (nothing for other URLs)."""
    from facilitator.db.database import sqlite_file

    path = sqlite_file(database_url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f"{path.name}.migrate-lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, however we leave
        yield


def known_revisions() -> list[str]:
    """Every schema version this program can run (and bring to the newest), oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config(""))
    return [revision.revision for revision in reversed(list(scripts.walk_revisions()))]


async def schema_revision(database_url: str) -> str | None:
    """The schema version the database is at; ``None`` when it has none (never migrated)."""
    from facilitator.db import Database
    from facilitator.db.database import sqlite_file

    path = sqlite_file(database_url)
    if path is not None and not path.is_file():
        return None  # and no empty file made by looking
    db = Database(database_url)
    try:
        async with db.read() as session:
            found: str | None = await session.scalar(
                text("SELECT version_num FROM alembic_version")
            )
            return found
    except SQLAlchemyError:
        return None
    finally:
        await db.dispose()
