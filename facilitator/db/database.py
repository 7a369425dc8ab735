"""The engine, connection settings and the two kinds of transaction services use.

SQLite is the embedded default: WAL, ``synchronous=FULL``, foreign keys and a busy timeout on
every connection, and write transactions that begin ``IMMEDIATE`` so a read-then-write never
fails on lock upgrade. Writes from this process also queue on one asyncio lock: SQLite has one
writer anyway, and waiting on a lock is cheaper than SQLite's sleeping busy handler. Nothing
SQLite-specific leaks past this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    AsyncSessionTransaction,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import SingletonThreadPool

from facilitator.db.group_commit import GroupCommit
from facilitator.db.report_process import ReportProcess
from facilitator.db.sqlite_setup import sqlite_setup

Clock = Callable[[], datetime]
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for other databases and ``:memory:``."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class Database:
    """Engines and sessions for one database, plus the clock services read "now" from."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 5000, clock: Clock = utc_now) -> None:
        self.url = url
        self.clock = clock
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_async_engine(url)
        if self.is_sqlite:
            # Readers get their own engine so a plain BEGIN never takes the write lock.
            self.write_engine = create_async_engine(url)
            sqlite_setup(self.engine.sync_engine, busy_timeout_ms, immediate=False)
            sqlite_setup(self.write_engine.sync_engine, busy_timeout_ms, immediate=True)
            # The group-commit writer's own connection, used from its thread only.
            batch_engine: Engine | None = create_engine(
                make_url(url).set(drivername="sqlite"), poolclass=SingletonThreadPool
            )
            assert batch_engine is not None
            sqlite_setup(batch_engine, busy_timeout_ms, immediate=True)
            self._quick_reads: Engine | None = create_engine(
                make_url(url).set(drivername="sqlite"), poolclass=SingletonThreadPool
            )
            assert self._quick_reads is not None
            sqlite_setup(self._quick_reads, busy_timeout_ms, immediate=False)
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="quick-reads")
            # Rendering a report's long page gets a thread of its own, niced, so it neither
            # stalls the event loop nor queues ahead of a hall of phones on the quick reads.
            self._heavy_reader: ThreadPoolExecutor | None = ThreadPoolExecutor(
                1, thread_name_prefix="heavy-reads", initializer=_yield_to_the_live_rooms
            )
        else:
            self.write_engine = self.engine
            batch_engine = self._quick_reads = None
            self._heavy_reader = None
        self._busy_timeout_ms = busy_timeout_ms
        # An in-memory database lives in this process only: its reports cannot go elsewhere.
        self._reports_elsewhere = path is not None or not self.is_sqlite
        self.group_commit = GroupCommit(self, batch_engine)
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    def now(self) -> datetime:
        return self.clock()

    def write_lock(self) -> asyncio.Lock | nullcontext[None]:
        """Held by every writer of this process while its transaction is open."""
        return self._write_lock or nullcontext()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: commits on success, rolls back on any error."""
        async with (
            self.write_lock(),
            self._write_sessions() as session,
            _ending(await session.begin()),
        ):
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """One read-only transaction (a consistent snapshot)."""
        async with self._read_sessions() as session, _ending(await session.begin()):
            yield session

    async def read_sync(self, read: Callable[[Connection], T]) -> T:
        """Run ``read`` in one read transaction, in one hop.

        For the reads a hall of phones makes at once (who a returning phone is, what it sees):
        on SQLite the whole function runs on a reader thread with the synchronous driver, where
        aiosqlite would hop threads four times a statement.
        """
        if self._quick_reads is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._reader, self._read_on_thread, read)
        async with self.engine.connect() as connection:
            return await connection.run_sync(self._read_in, read)

    async def in_background(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run CPU-heavy work that is no database read (rendering a long report page) on the
        heavy reads' low-priority thread where there is one, else on the default executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._heavy_reader, functools.partial(work, *args, **kwargs)
        )

    async def read_report(self, read: Callable[..., T], *args: Any) -> T:
        """Run a heavy read (a report over years of history), ``read(connection, *args)``, in
        one read transaction off the event loop, in the reports' worker process
        (``db.report_process``), so ``read`` is a module-level function and ``args`` and its
        result plain data; only an in-memory SQLite database (tests) reads it here."""
        if self._reports_elsewhere:
            return await ReportProcess.read(self.url, self._busy_timeout_ms, read, args)
        async with self.engine.connect() as connection:
            return await connection.run_sync(
                self._read_in, lambda connection: read(connection, *args)
            )

    def _read_on_thread(self, read: Callable[[Connection], T]) -> T:
        assert self._quick_reads is not None
        with self._quick_reads.connect() as connection:
            return self._read_in(connection, read)

    @staticmethod
    def _read_in(connection: Connection, read: Callable[[Connection], T]) -> T:
        with connection.begin():
            return read(connection)

    async def dispose(self) -> None:
        await self.group_commit.close()
        if self._quick_reads is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._reader, self._quick_reads.dispose)
            self._reader.shutdown(wait=True)
        if self._heavy_reader is not None:
            self._heavy_reader.shutdown(wait=True)
        if self._reports_elsewhere:
            await ReportProcess.forget(self.url)
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


def _yield_to_the_live_rooms() -> None:
    """Lower the priority of the heavy reads' thread (Linux lets a thread have its own nice):
    on a busy core, years of history give way to the event loop serving the live rooms."""
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + 10)
        )


@asynccontextmanager
async def _ending(transaction: AsyncSessionTransaction) -> AsyncIterator[None]:
    """Commit on success, roll back on any error, and finish doing so even when the task is
    cancelled meanwhile: Starlette cancels a request (a phone that left) through anyio, which
    cancels every later await of it, and a rollback cut off half-way left the pool to reset the
    connection with a traceback in the log."""
    try:
        yield
    except BaseException:
        await _to_completion(transaction.rollback())
        raise
    await _to_completion(transaction.commit())


async def _to_completion(end: Coroutine[Any, Any, None]) -> None:
    """Run ``end`` in a task of its own to its end, raising its own error if it failed, and then
    a cancellation that arrived meanwhile. Shielded from anyio's cancellation too, which would
    otherwise be delivered again on every turn of the loop while ``end`` runs."""
    task = asyncio.ensure_future(end)
    cancelled: asyncio.CancelledError | None = None
    with anyio.CancelScope(shield=True):
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError as error:  # a plain task.cancel(): wait on
                cancelled = error
    task.result()
    if cancelled is not None:
        raise cancelled
