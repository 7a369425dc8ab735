"""Run Alembic from code, so `facilitator migrate`, `serve` and the tests share one path."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from facilitator import paths


def alembic_config(database_url: str) -> Config:
    # Built here rather than read from alembic.ini, which only a checkout has (it serves the
    # `alembic` command there); an installed package carries the migrations inside itself.
    config = Config()
    config.set_main_option("script_location", str(paths.migrations()))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` to ``revision`` (blocking: call from a thread)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    # env.py runs its own event loop, so it needs a thread of its own.
    await asyncio.to_thread(upgrade, database_url, revision)


def known_revisions() -> list[str]:
    """Every schema version this program can run (and bring to the newest), oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config(""))
    return [revision.revision for revision in reversed(list(scripts.walk_revisions()))]
