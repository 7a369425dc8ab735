"""Other processes' connections to the test's database, for the races between processes
(``tests/support/races.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from facilitator.db import Database
from tests.support.world import Clock


@pytest.fixture
async def other_db(db_url: str, clock: Clock) -> AsyncIterator[Database]:
    """A second process's connections to the test's database."""
    database = Database(db_url, clock=clock)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def third_db(db_url: str, clock: Clock) -> AsyncIterator[Database]:
    """A third process's: the one that holds what the other two race past."""
    database = Database(db_url, clock=clock)
    try:
        yield database
    finally:
        await database.dispose()
