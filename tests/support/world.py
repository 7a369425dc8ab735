"""The small network every service test lives in, its calendar and clock."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

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
