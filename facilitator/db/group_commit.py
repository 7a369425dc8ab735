"""Group commit: high-rate small commands share one transaction and one fsync.

One writer task takes every command waiting, runs each in its own savepoint (a refusal rolls
back only itself), commits once and only then answers each one: nothing is acknowledged before
it is durable. Batches form by themselves: what arrives while one batch commits is the next.

On SQLite the whole batch is one hop to a dedicated thread using the synchronous driver. Through
aiosqlite every statement is its own hop to the driver's thread (measured here: 150-500 µs a
statement, against 25-30 µs on the thread itself), which is what capped an answer burst. Other
engines run the same batch on their async connection, where each statement is a round trip to
the server: the fewer a command makes, the faster a hall's answers go (``commands.open_command``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine

from facilitator.db.prepared import driver_cursor

if TYPE_CHECKING:
    from facilitator.db.database import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
#: One command's work: runs inside its savepoint on the writer's connection. ``memo`` is a
#: cache the writer keeps between batches; it is emptied whenever anything rolls back.
Work = Callable[[Connection, dict[Any, Any]], T]

RETRIES = 3  # runs again of a command that lost a race between processes' transactions
_RACE_LOST = {"40P01", "40001"}  # PostgreSQL: deadlock detected, serialization failure
MAX_BATCH = 512  # commands in one transaction; more wait for the next one
# PostgreSQL's batches are shorter: every command updates its meeting's row, and each new version
# of a row updated in the same transaction is found by walking past the earlier ones (the update
# and the foreign-key checks of the inserts alike), so a command costs more the later it comes.
# Measured: 1,024 answers at 4.9 ms each in batches of 512, 3.7 ms in batches of 128. A shorter
# batch also holds the meeting's lock for less time while another process's batch waits for it.
MAX_BATCH_ROW_LOCKS = 128
_SAVEPOINT = "SAVEPOINT command"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT command"
_RELEASE = "RELEASE SAVEPOINT command"


class GroupCommit:
    def __init__(self, db: Database, sync_engine: Engine | None) -> None:
        self._db = db
        self._sync_engine = sync_engine
        self._thread = (
            ThreadPoolExecutor(1, thread_name_prefix="group-commit") if sync_engine else None
        )
        self._memo: dict[Any, Any] = {}
        self._max_batch = MAX_BATCH if db.is_sqlite else MAX_BATCH_ROW_LOCKS
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[int, Work[Any], asyncio.Future[Any]]] = []
        self._closed = False
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        #: Commands refused for a deadlock or a serialization failure, and how often so far.
        self._retried: dict[asyncio.Future[Any], int] = {}
        self.batches = 0  # how many transactions ran, for tests and the benchmark
        self.commands = 0

    async def submit(self, work: Work[T], *, order: int = 0) -> T:
        """Run ``work`` in the next batch; returns (or raises) once its batch has committed.

        A batch runs in ``order`` (a meeting's id), arrival order within it: each batch then
        takes its meetings' row locks in one order. What a command writes after its meeting
        (a new organization or person, unique across the network) can still make two
        processes' batches wait on each other: PostgreSQL then refuses one command, and it is
        run again in the next batch, once the other has committed (``RETRIES`` times at most).
        """
        if self._closed:
            raise RuntimeError("the database is closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._task is None or self._task.done():
            self._start(loop)
        assert self._wake is not None
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((order, work, future))
        self._wake.set()
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # A new loop (tests run one per test) gets its own writer task.
        self._loop = loop
        self._waiting = []
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(self._wake))

    async def _run(self, wake: asyncio.Event) -> None:
        while True:
            await wake.wait()
            wake.clear()
            while self._waiting:
                waiting = sorted(self._waiting[: self._max_batch], key=lambda item: item[0])
                del self._waiting[: self._max_batch]
                # A sender that gave up (its socket closed) is not run: it will resend or not.
                batch = [item for item in waiting if not item[2].done()]
                if batch:
                    await self._one_batch(batch)
            if self._closed:  # only once everything sent before the close has its answer
                return

    async def _one_batch(self, batch: list[tuple[int, Work[Any], asyncio.Future[Any]]]) -> None:
        works = [work for _order, work, _future in batch]
        try:
            async with self._db.write_lock():
                outcomes = await self._execute(works)
        except Exception as error:  # the commit itself failed: nothing in the batch holds
            self._memo.clear()
            log.exception("group commit failed")
            outcomes = [(False, error)] * len(batch)
        self.batches += 1
        self.commands += len(batch)
        for (order, work, future), (ok, value) in zip(batch, outcomes, strict=True):
            tried = self._retried.pop(future, 0)
            if future.done():
                continue
            if ok:
                future.set_result(value)
            elif _lost_a_race(value) and tried < RETRIES:
                self._retried[future] = tried + 1
                self._waiting.append((order, work, future))  # the next batch, as the loop goes on
            else:
                future.set_exception(value)

    async def _execute(self, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
        if self._sync_engine is not None:
            assert self._thread is not None
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._batch_on_thread, works)
        async with self._db.write_engine.connect() as connection:
            return await connection.run_sync(self._batch, works)

    def _batch_on_thread(self, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as connection:
            return self._batch(connection, works)

    def _batch(self, connection: Connection, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        with connection.begin():
            send = _sender(connection)
            for work in works:
                # One savepoint name for every command, not SQLAlchemy's numbered ones: asyncpg
                # prepares each new statement text (a round trip of its own), and 512 names a
                # batch evicted every statement from the connection's cache of 100.
                send(_SAVEPOINT)
                try:
                    outcomes.append((True, work(connection, self._memo)))
                except Exception as error:
                    send(_ROLLBACK_TO)
                    # Whatever it cached may describe what was just rolled back.
                    self._memo.clear()
                    outcomes.append((False, error))
                send(_RELEASE)
        return outcomes

    async def close(self) -> None:
        """Finish what was sent (every sender gets its answer), then stop."""
        self._closed = True
        task = self._task
        if task is not None and not task.done() and self._loop is asyncio.get_running_loop():
            assert self._wake is not None
            self._wake.set()
            await task
        if self._thread is not None and self._sync_engine is not None:
            # The connection lives on the writer's thread; it is closed there too.
            await asyncio.get_running_loop().run_in_executor(
                self._thread, self._sync_engine.dispose
            )
            self._thread.shutdown(wait=True)


def _sender(connection: Connection) -> Callable[[str], object]:
    """What sends the savepoints: on SQLite the driver's cursor, as the answers' own statements
    (``db.prepared``), where three a command through ``exec_driver_sql`` were a fifth of the
    writer's time; elsewhere SQLAlchemy."""
    if connection.dialect.name != "sqlite":
        return connection.exec_driver_sql
    execute: Callable[[str], object] = driver_cursor(connection).execute
    return execute


def _lost_a_race(error: BaseException) -> bool:
    """A deadlock or a serialization failure: another transaction went first this time; the
    same command, run again once it has committed, may well go through."""
    driver = getattr(error, "orig", None)
    return (getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None)) in _RACE_LOST
