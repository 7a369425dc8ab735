"""Other processes' connections to the test's database, for the races between processes
(``tests/support/races.py``), and two processes' rooms linked through a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from facilitator.db import Database
from facilitator.live.hub import hub_for
from facilitator.live.redis_hub import RedisHub
from facilitator.live.rooms import Live
from tests.support.redis_server import RedisServer
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


@pytest.fixture
async def two(
    redis_server: RedisServer, db_url: str, clock: Clock
) -> AsyncIterator[tuple[Live, Live]]:
    """Two processes' rooms: each its own database connections and its own hub."""
    lives = [Live(hub_for(redis_server.url), Database(db_url, clock=clock)) for _ in range(2)]
    for live in lives:
        await live.start()
        assert isinstance(live.hub, RedisHub)
        await asyncio.wait_for(live.hub.connected.wait(), 5)
    try:
        yield lives[0], lives[1]
    finally:
        for live in lives:
            await live.close()
            await live.db.dispose()
