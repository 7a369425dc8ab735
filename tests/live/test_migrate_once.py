"""Migrations run once: `facilitator migrate` processes started together on one fresh database
(several app processes starting on one PostgreSQL, say) wait for each other's lock and all
end at the newest schema; with FACILITATOR_MIGRATE_ON_START=off `serve` only checks."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from facilitator import migrate
from facilitator.db import Database
from tests.support.world import POSTGRES

BIN = Path(sys.executable).parent
HEAD = migrate.known_revisions()[-1]


def start(database_url: str, cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    return subprocess.Popen(
        [str(BIN / "facilitator"), *(args or ("migrate",))],
        env={**clean, "DATABASE_URL": database_url, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out + err


def versions(database_url: str) -> list[str]:
    async def read() -> list[str]:
        db = Database(database_url)
        try:
            async with db.read() as session:
                rows = await session.scalars(text("SELECT version_num FROM alembic_version"))
                return list(rows)
        finally:
            await db.dispose()

    return asyncio.run(read())


def both_at_once(database_url: str, cwd: Path) -> None:
    processes = [start(database_url, cwd), start(database_url, cwd)]
    for code, output in map(finish, processes):
        assert code == 0, output
        assert "database is at the newest schema" in output
    assert versions(database_url) == [HEAD]
    # One schema, the models' (a second run of any migration would have failed above).
    command.check(migrate.alembic_config(database_url))


def test_two_migrates_at_once_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "data" / "facilitator.db"
    both_at_once(f"sqlite+aiosqlite:///{database}", tmp_path)
    assert (tmp_path / "data" / "facilitator.db.migrate-lock").is_file()


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    name = f"facilitator_migrate_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name}")
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _admin(statement: str) -> None:
    async def run() -> None:
        engine = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.mark.skipif(not POSTGRES, reason="needs FACILITATOR_TEST_POSTGRES")
def test_two_migrates_at_once_on_a_fresh_postgres_database(
    fresh_postgres: str, tmp_path: Path
) -> None:
    both_at_once(fresh_postgres, tmp_path)


def test_a_migrate_waits_while_another_holds_the_lock(tmp_path: Path) -> None:
    database = tmp_path / "facilitator.db"
    url = f"sqlite+aiosqlite:///{database}"
    with (tmp_path / "facilitator.db.migrate-lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another migration under way
        waiting = start(url, tmp_path)
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting on the lock, nothing migrated
        assert not database.exists() or versions(url) == []
    code, output = finish(waiting)
    assert code == 0, output
    assert versions(url) == [HEAD]


def test_serve_with_migrate_on_start_off_refuses_a_schema_not_at_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'facilitator.db'}"
    migrate.upgrade(url, migrate.known_revisions()[-2])
    serve = start(url, tmp_path, "serve", "--port", "9", FACILITATOR_MIGRATE_ON_START="off")
    code, output = finish(serve)
    assert code == 2, output
    assert "FACILITATOR_MIGRATE_ON_START is off: run 'facilitator migrate' first" in output
    assert versions(url) == [migrate.known_revisions()[-2]]  # left as it was


def test_migrate_on_start_is_on_or_off(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'facilitator.db'}"
    code, output = finish(start(url, tmp_path, FACILITATOR_MIGRATE_ON_START="sometimes"))
    assert code == 2
    assert "FACILITATOR_MIGRATE_ON_START is on or off, not 'sometimes'" in output
