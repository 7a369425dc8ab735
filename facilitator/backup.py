"""A consistent copy of the SQLite database while meetings run, and putting one back.

``backup`` reads the database in one read transaction through SQLite's backup API: with the
write-ahead log, readers and writers carry on meanwhile, and the copy is the database as it
was at one moment, every commit before it included. It writes a file beside the target and
renames it into place only once it is synced and passes ``integrity_check``.

``restore`` refuses while a server has the database open (``serve`` holds a shared lock on
``<database>.serving`` as long as it runs), checks the copy's integrity and schema version,
keeps the current file as ``<database>.before-restore-<time>``, and moves the copy in.
PostgreSQL has its own tools (``pg_dump`` / ``pg_restore``): these commands say so.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class BackupError(Exception):
    """Why a backup or restore cannot go on, in words for the person at the terminal."""


@dataclass(frozen=True)
class Copy:
    path: Path
    bytes: int
    seconds: float
    schema: str | None


def serving_lock(database: Path) -> Path:
    return database.with_name(database.name + ".serving")


@contextlib.contextmanager
def serving(database: Path) -> Iterator[None]:
    """Held by ``serve`` while it runs: shared, so several servers may, but ``restore`` not."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with serving_lock(database).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        yield


def backup(database: Path, target: Path) -> Copy:
    """Copy ``database`` to ``target`` (which must not exist yet) while it is in use."""
    if not database.is_file():
        raise BackupError(f"There is no database at {database}.")
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    began = time.perf_counter()
    source = sqlite3.connect(database)  # only read; read-only would need the log files there
    try:
        copy = sqlite3.connect(partial)
        try:
            # All pages in one step: one read transaction, one moment of the database.
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode = DELETE")  # a single file, whatever the source's
            _check(copy, partial)
            schema = _schema(copy)
        finally:
            copy.close()
    finally:
        source.close()
    _sync(partial)
    partial.rename(target)
    _sync_folder(target.parent)
    return Copy(target, target.stat().st_size, time.perf_counter() - began, schema)


def restore(source: Path, database: Path, known_schemas: list[str]) -> Path | None:
    """Put the copy ``source`` in place of ``database``; returns where the old file was kept.
    ``known_schemas``: the schema versions this program can run, oldest first."""
    if not source.is_file():
        raise BackupError(f"There is no backup at {source}.")
    database.parent.mkdir(parents=True, exist_ok=True)
    with serving_lock(database).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                "A server is running on this database: stop it, then restore."
            ) from None
        incoming = database.with_name(f".{database.name}.restoring")
        incoming.unlink(missing_ok=True)
        shutil.copyfile(source, incoming)
        try:
            copy = sqlite3.connect(incoming)
            try:
                _check(copy, source)
                schema = _schema(copy)
            finally:
                copy.close()
            if schema not in known_schemas:
                raise BackupError(
                    f"{source} has schema version {schema or 'none'}, which this version of "
                    "Facilitator does not know: restore it with the version that made it."
                )
            _sync(incoming)
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise
        kept = None
        if database.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = database.with_name(f"{database.name}.before-restore-{stamp}")
            database.rename(kept)
        for leftover in ("-wal", "-shm"):  # the old file's log must not meet the new file
            old = database.with_name(database.name + leftover)
            if old.exists() and kept is not None:
                old.rename(kept.with_name(kept.name + leftover))
            old.unlink(missing_ok=True)
        incoming.rename(database)
        _sync_folder(database.parent)
        return kept


def _check(connection: sqlite3.Connection, shown: Path) -> None:
    try:
        found = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{shown} is not a SQLite database ({error}).") from None
    if found is None or found[0] != "ok":
        raise BackupError(f"{shown} failed SQLite's integrity check: {found and found[0]}.")


def _schema(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def _sync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
