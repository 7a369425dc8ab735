"""Shared fixtures: a real SQLite file migrated by Alembic, a settable clock, a small network."""

from __future__ import annotations

import asyncio
import os
import shutil
import time as clock_time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine

from facilitator import migrate
from facilitator.db import Database
from facilitator.services import users
from tests.support.prebuilt import Prebuilt, recipe, wanted
from tests.support.redis_server import RedisServer, redis_or_skip
from tests.support.world import POSTGRES, TODAY, Clock, build_world


def pytest_configure(config: pytest.Config) -> None:
    users.use_cheap_hashes_for_tests()


# Each xdist worker's own template databases on one PostgreSQL: two workers dropping and
# creating one name at once failed each other's setup.
WORKER = "_" + os.environ["PYTEST_XDIST_WORKER"] if "PYTEST_XDIST_WORKER" in os.environ else ""


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One database migrated to head by Alembic; each test gets a copy of it."""
    if POSTGRES:
        template = f"facilitator_template{WORKER}"
        _pg_admin(f"DROP DATABASE IF EXISTS {template}", f"CREATE DATABASE {template}")
        migrate.upgrade(_pg_url(template))
        return template
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def prebuilt(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Prebuilt:
    """Databases built once (``tests/support/prebuilt.py``): the small world, and others."""
    folder = tmp_path_factory.mktemp("prebuilt")

    def copy(name: str) -> str:
        if POSTGRES:
            database = f"facilitator_prebuilt_{name}{WORKER}"
            _pg_admin(
                f"DROP DATABASE IF EXISTS {database}",
                f"CREATE DATABASE {database} TEMPLATE {migrated_template}",
            )
            return database
        target = folder / f"{name}.db"
        shutil.copyfile(migrated_template, target)
        return str(target)

    return Prebuilt(copy, _url_of)


@pytest.fixture
def db_url(
    request: pytest.FixtureRequest, migrated_template: str, prebuilt: Prebuilt, tmp_path: Path
) -> Iterator[str]:
    """A database of the test's own: a copy of the migrated one, or of a prebuilt one when the
    test asks for its fixture (``world``, or a recipe of its module)."""
    needed = wanted(request.fixturenames)
    source = prebuilt.source(needed) if needed is not None else migrated_template
    if POSTGRES:
        name = f"facilitator_test_{uuid.uuid4().hex[:12]}"
        _pg_admin(f"CREATE DATABASE {name} TEMPLATE {source}")
        yield _pg_url(name)
        _drop_pg_database(name)
        return
    target = tmp_path / "facilitator.db"
    shutil.copyfile(source, target)
    yield f"sqlite+aiosqlite:///{target}"


def _url_of(location: str) -> str:
    return _pg_url(location) if POSTGRES else f"sqlite+aiosqlite:///{location}"


def _drop_pg_database(name: str) -> None:
    """Drop a test database. An autovacuum worker that just started on it belongs to the server,
    which FORCE may not terminate for an ordinary user: it finishes in moments, so try again."""
    for attempt in range(20):
        try:
            _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except ProgrammingError as error:
            if "pg_signal_backend" not in str(error) or attempt == 19:
                raise
            clock_time.sleep(0.25)


def _pg_url(database: str) -> str:
    return make_url(POSTGRES).set(database=database).render_as_string(hide_password=False)


def _pg_admin(*statements: str) -> None:
    async def run() -> None:
        engine = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                for statement in statements:
                    await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture
def clock() -> Clock:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.set_day(TODAY)
    return clock


@pytest.fixture
async def db(db_url: str, clock: Clock) -> AsyncIterator[Database]:
    database = Database(db_url, clock=clock)
    try:
        yield database
    finally:
        await database.dispose()


world = recipe("world", build_world)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own (resumed before it stops, should the test pause it)."""
    redis_or_skip()
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.resume()
        server.stop()
