"""How every SQLite connection of this project is set up, in the server and in the reports'
worker process alike: WAL, ``synchronous=FULL``, foreign keys, a busy timeout, the network's
day as a SQL function, and a ``BEGIN`` whose kind the engine's owner chooses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event

from facilitator.localtime import local_day


def _local_day_sql(moment: str | None, timezone: str | None) -> str | None:
    """``local_day`` for SQL on SQLite: a stored UTC moment's day where the network meets."""
    if moment is None or timezone is None:
        return None
    return local_day(datetime.fromisoformat(moment), timezone).isoformat()


def sqlite_setup(engine: Engine, busy_timeout_ms: int, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands so the "begin" hook below decides its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        # SQLite keeps no time zones: reports ask Python for the network's day of a moment.
        dbapi_connection.create_function("local_day", 2, _local_day_sql, deterministic=True)

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
