"""``facilitator backup`` and ``facilitator restore``: a consistent copy of the SQLite database
while meetings run, and a checked way back (the work is ``facilitator.backup``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from facilitator import backup, migrate
from facilitator.db.database import sqlite_file
from facilitator.settings import Settings


def add_parser(sub: Any) -> None:
    copy = sub.add_parser(
        "backup", help="a consistent copy of the SQLite database, while meetings run"
    )
    copy.add_argument("file", help="the copy to write (must not exist yet)")
    copy.set_defaults(run=cmd_backup)
    back = sub.add_parser(
        "restore",
        help="put a backup in place of the database (the server must be stopped); the "
        "current file is kept beside it",
    )
    back.add_argument("file", help="a file written by backup")
    back.set_defaults(run=cmd_restore)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    return _copying(settings, lambda path: _backup(path, Path(args.file)))


def _backup(path: Path, target: Path) -> None:
    # In a thread, as the server would: the copy is one long read of the file.
    copy = asyncio.run(asyncio.to_thread(backup.backup, path, target))
    print(
        f"backed up {path} to {copy.path}: {copy.bytes / 1e6:.1f} MB in {copy.seconds:.1f} s, "
        f"schema {copy.schema}, integrity ok",
        flush=True,
    )


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    return _copying(settings, lambda path: _restore(Path(args.file), path))


def _restore(source: Path, path: Path) -> None:
    kept = backup.restore(source, path, migrate.known_revisions())
    print(f"restored {source} into {path}", flush=True)
    if kept is not None:
        print(f"the database it replaced is kept as {kept}", flush=True)
    print("`facilitator serve` brings it to the newest schema when it starts", flush=True)


def _copying(settings: Settings, work: Callable[[Path], None]) -> int:
    """Backup and restore: on SQLite only (2 and a pointer elsewhere), a refusal said (1)."""
    path = sqlite_file(settings.database_url)
    if path is None:
        print(POSTGRES_BACKUP, file=sys.stderr)
        return 2
    try:
        work(path)
    except backup.BackupError as refused:
        print(refused, file=sys.stderr)
        return 1
    return 0


POSTGRES_BACKUP = (
    "backup and restore copy a SQLite database; for PostgreSQL use its own tools: "
    "pg_dump --format=custom, and pg_restore --clean into a stopped site"
)
