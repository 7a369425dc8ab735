"""Shared fixtures: a real SQLite file migrated by Alembic, a settable clock, a small network."""

from __future__ import annotations

import asyncio
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
from facilitator.services import network, users
from facilitator.services.actors import Actor
from tests.support.prebuilt import Prebuilt, recipe, wanted
from tests.support.world import POSTGRES, TODAY, Clock, World


def pytest_configure(config: pytest.Config) -> None:
    users.use_cheap_hashes_for_tests()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One database migrated to head by Alembic; each test gets a copy of it."""
    if POSTGRES:
        _pg_admin(
            "DROP DATABASE IF EXISTS facilitator_template", "CREATE DATABASE facilitator_template"
        )
        migrate.upgrade(_pg_url("facilitator_template"))
        return "facilitator_template"
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def prebuilt(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Prebuilt:
    """Databases built once (``tests/support/prebuilt.py``): the small world, and others."""
    folder = tmp_path_factory.mktemp("prebuilt")

    def copy(name: str) -> str:
        if POSTGRES:
            database = f"facilitator_prebuilt_{name}"
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


async def build_world(db: Database) -> World:
    """A network with six people in three organizations, two groups, a strategy and two staff."""
    nid = await network.create_network(db, "רשת בדיקה")
    await network.add_value(db, nid, network.ValueWords("שקיפות", ["מחליטים בחדר"]))
    orgs = [
        await network.add_organization(db, nid, "עירייה", "government"),
        await network.add_organization(db, nid, "עמותה", "nonprofit"),
        await network.add_organization(db, nid, "ועד שכונה", "community"),
    ]
    people = [await network.add_person(db, nid, f"אדם {i}", orgs[i % 3]) for i in range(6)]
    group = await network.add_group(db, nid, "קבוצת עבודה", "working_group")
    other = await network.add_group(db, nid, "ועדת היגוי", "steering_committee")
    strategy = await network.add_strategy(db, nid, "צמצום נשירה", "מ-8% ל-5%")
    fac = await users.create_user(
        db, nid, "fac@example.org", "a long password", name="מנחה", role="facilitator"
    )
    bb = await users.create_user(
        db, nid, "bb@example.org", "a long password", name="שדרה", role="backbone"
    )
    # The world's facilitator looks after both groups (a facilitator reaches only their own).
    for looked_after in (group, other):
        await network.assign_staff(db, looked_after, fac)
    return World(
        nid, people, orgs, group, other, strategy, Actor.staff(fac), Actor.staff(bb, "backbone")
    )


world = recipe("world", build_world)
