"""Reports over years of history, read in a worker process of their own.

A thread, even a niced one, shares the interpreter lock with the event loop: while it turned
rows into figures, the live rooms waited their turn (a stage change took twice as long while a
backbone user loaded pages). A process has an interpreter of its own, and at a lower priority
the kernel gives the core to the live rooms first.

One worker serves every ``Database`` of the server process, started on the first report. It
keeps a connection per database file (a few at most), or one to PostgreSQL through asyncpg on
a loop of its own (the rows are turned into figures there too, not in the server). A read is a
module-level function with plain arguments, so it can be sent there, and what it returns comes
back by pickle.

As with any ``multiprocessing`` start method but fork, the worker imports the script that
started the server (as ``__mp_main__``): a script that opens a ``Database`` keeps its work under
``if __name__ == "__main__":``, as ``bench`` and ``scripts`` do.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import SingletonThreadPool

from facilitator.db.sqlite_setup import sqlite_setup

T = TypeVar("T")
NICER = 10  # how far below the server the worker runs
FILES_KEPT = 8  # connections the worker keeps open, one per database file, the latest used
# Imported once in the fork server, so a worker starts in milliseconds, not a second.
PRELOAD = [
    "facilitator.services.backbone_figures",
    "facilitator.services.backbone_meetings",
    "facilitator.services.overview",
]

# In the worker: the engines it has opened, the latest used last.
_engines: OrderedDict[str, Engine] = OrderedDict()
# In the worker, for a database server (PostgreSQL): its engines, on the worker's own loop.
_server_engines: dict[str, AsyncEngine] = {}
_loop: asyncio.AbstractEventLoop | None = None


def _start_worker(server: int) -> None:
    # The server stops its worker itself; Ctrl-C in a terminal reaches the whole group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A pool's worker waits for work forever, even once its server was killed: it follows it.
    threading.Thread(
        target=_exit_with, args=(server,), name="exit-with-server", daemon=True
    ).start()
    with contextlib.suppress(OSError):
        os.nice(NICER)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _exit_with(server: int) -> None:
    try:
        process = os.pidfd_open(server)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd (not Linux): look now and then
        while _alive(server):
            time.sleep(2)
        os._exit(0)
    select.select([process], [], [])  # readable once the server has ended
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _engine(url: str, busy_timeout_ms: int) -> Engine:
    engine = _engines.pop(url, None)
    if engine is None:
        engine = create_engine(
            make_url(url).set(drivername="sqlite"), poolclass=SingletonThreadPool
        )
        sqlite_setup(engine, busy_timeout_ms, immediate=False)
    _engines[url] = engine
    while len(_engines) > FILES_KEPT:
        _url, oldest = _engines.popitem(last=False)
        oldest.dispose()
    return engine


def _read(url: str, busy_timeout_ms: int, read: Callable[..., T], args: tuple[Any, ...]) -> T:
    if make_url(url).get_backend_name() != "sqlite":
        return _server_loop().run_until_complete(_read_from_server(url, read, args))
    with _engine(url, busy_timeout_ms).connect() as connection, connection.begin():
        return read(connection, *args)


def _server_loop() -> asyncio.AbstractEventLoop:
    """The worker's one event loop for a database server's async driver (asyncpg has no
    synchronous mode): its engines and their connections stay bound to it between reads."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    return _loop


async def _read_from_server(url: str, read: Callable[..., T], args: tuple[Any, ...]) -> T:
    engine = _server_engines.get(url)
    if engine is None:
        # One read at a time in this worker: one connection is all it uses.
        # A report's several statements see one snapshot, as on SQLite.
        engine = _server_engines[url] = create_async_engine(
            url, pool_size=1, max_overflow=0, isolation_level="REPEATABLE READ"
        )
    async with engine.connect() as connection:
        return await connection.run_sync(_in_transaction, read, args)


def _in_transaction(connection: Connection, read: Callable[..., T], args: tuple[Any, ...]) -> T:
    with connection.begin():
        return read(connection, *args)


def _forget(url: str) -> None:
    engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()
    server_engine = _server_engines.pop(url, None)
    if server_engine is not None:
        _server_loop().run_until_complete(server_engine.dispose())


class ReportProcess:
    """The worker of this server process: started on first use, restarted if it died."""

    _guard = threading.Lock()
    _pool: ProcessPoolExecutor | None = None

    @classmethod
    def _executor(cls) -> ProcessPoolExecutor:
        with cls._guard:
            if cls._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(PRELOAD)
                cls._pool = ProcessPoolExecutor(
                    1, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
                )
            return cls._pool

    @classmethod
    def _discard(cls, broken: ProcessPoolExecutor) -> None:
        with cls._guard:
            if cls._pool is broken:
                cls._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    @classmethod
    async def read(
        cls,
        url: str,
        busy_timeout_ms: int,
        read: Callable[..., T],
        args: tuple[Any, ...],
    ) -> T:
        """``read(connection, *args)`` in one read transaction, in the worker; a worker that
        died (killed for memory, say) is replaced and the read tried once more there."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = cls._executor()
            try:
                return await loop.run_in_executor(pool, _read, url, busy_timeout_ms, read, args)
            except BrokenProcessPool:
                cls._discard(pool)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def stop(cls) -> None:
        """End the worker (the server is stopping): its semaphores go with it, not leaked."""
        with cls._guard:
            pool, cls._pool = cls._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    @classmethod
    async def forget(cls, url: str) -> None:
        """Close the worker's connection to this file (its ``Database`` is disposed)."""
        pool = cls._pool
        if pool is None:
            return
        with contextlib.suppress(BrokenProcessPool, RuntimeError):
            await asyncio.get_running_loop().run_in_executor(pool, _forget, url)
