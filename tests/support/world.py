"""The small network every service test lives in, its calendar and clock."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

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


# Set to a PostgreSQL server URL (a user that may create databases) to run the database tests
# on PostgreSQL instead of SQLite: `.ci/run` does, with a local server it starts.
POSTGRES = os.environ.get("FACILITATOR_TEST_POSTGRES", "")


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
