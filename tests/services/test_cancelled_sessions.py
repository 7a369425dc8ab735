"""A request cancelled while it holds a database session (a phone that left mid-read, a server
shutting down) still hands its connection back, cleanly: Starlette cancels through anyio, which
cancels every later await in the scope, the rollback included."""

from __future__ import annotations

import asyncio
import logging

import anyio
import pytest
from sqlalchemy import select, text

from facilitator.db import Database
from facilitator.db.models import Network
from tests.support.world import World


async def _settled(db: Database) -> None:
    for _ in range(200):
        if db.engine.pool.checkedout() == 0 and db.write_engine.pool.checkedout() == 0:
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_a_cancelled_session_hands_its_connection_back(
    db: Database, world: World, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    with anyio.CancelScope() as scope:
        async with db.read() if kind == "read" else db.write() as session:
            await session.execute(select(Network.id))
            scope.cancel()
            await session.execute(text("SELECT 1"))
    assert scope.cancelled_caught
    await _settled(db)
    assert db.engine.pool.checkedout() == 0
    assert db.write_engine.pool.checkedout() == 0
    assert "Exception during reset" not in caplog.text
    # The database goes on serving.
    async with db.write() as session:
        assert await session.scalar(select(Network.id).where(Network.id == world.network))


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_cancelled_again_and_again_while_it_cleans_up(
    db: Database, world: World, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)

    async def reader() -> None:
        async with db.read() if kind == "read" else db.write() as session:
            await session.execute(select(Network.id))
            await asyncio.sleep(10)

    # As anyio does, every await of the cancelled request is cancelled again; the first lands
    # at a different step of the rollback each time.
    for steps in range(8):
        task = asyncio.create_task(reader())
        await asyncio.sleep(0.02)
        task.cancel()
        for _ in range(steps):
            await asyncio.sleep(0)
        while not task.done():
            task.cancel()
            await asyncio.sleep(0)
        await _settled(db)
        assert db.engine.pool.checkedout() == 0
        assert db.write_engine.pool.checkedout() == 0
    assert "Exception during reset" not in caplog.text
