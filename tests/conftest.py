"""Shared fixtures: a real SQLite file migrated by Alembic, a settable clock, a small network."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from facilitator import migrate
from facilitator.db import Database
from facilitator.services import network, users
from facilitator.services.actors import Actor

TODAY = date(2026, 3, 2)  # a Monday; every service test lives on this calendar


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date, hour: int = 9) -> None:
        self.now = datetime.combine(day, time(hour), UTC)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database file migrated to head by Alembic; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def db_url(migrated_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "facilitator.db"
    shutil.copyfile(migrated_template, target)
    return f"sqlite+aiosqlite:///{target}"


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


@dataclass
class World:
    """A small network: ids of what the tests use."""

    network: int
    people: list[int]
    orgs: list[int]
    group: int
    other_group: int
    strategy: int
    staff: Actor
    backbone: Actor


@pytest.fixture
async def world(db: Database) -> World:
    nid = await network.create_network(db, "רשת בדיקה")
    await network.add_value(db, nid, "שקיפות", ["מחליטים בחדר"])
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
    return World(
        nid, people, orgs, group, other, strategy, Actor.staff(fac), Actor.staff(bb, "backbone")
    )
