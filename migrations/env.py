"""Alembic environment: async engine, batch mode for SQLite, URL from the app's settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from facilitator import migrate
from facilitator.db import Base, Database
from facilitator.db.models import UTCDateTime
from facilitator.settings import Settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("database_url") or Settings.from_env().database_url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Migrations stay free of app imports: a UTC datetime is a plain DateTime in the schema.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        literal_binds=connection is None,
    )


def run_offline() -> None:
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table by copying it and dropping the old one; with foreign keys
        # enforced, dropping a table other rows point at fails as soon as there is any data.
        # The pragma only takes effect outside a transaction: set it on the driver's connection
        # before the migration's BEGIN, and check every reference before the commit instead.
        cursor = connection.connection.cursor()
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.close()
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
            if broken is not None:
                raise RuntimeError(f"a migration left a broken reference: {tuple(broken)}")


async def run_online() -> None:
    url = _url()
    # One migration at a time (see facilitator.migrate): a process that waited finds the
    # schema at head, since Alembic reads the version only once the lock is held.
    with migrate.file_lock(url):
        # The app's own Database: the same pragmas (WAL, foreign keys, busy timeout) as at
        # run time.
        database = Database(url)
        try:
            async with database.write_engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    # Held by this session across the migration's transaction; let go when the
                    # connection closes (dispose, below), even after a failed migration.
                    await connection.execute(
                        text("SELECT pg_advisory_lock(:key)"), {"key": migrate.ADVISORY_LOCK_KEY}
                    )
                    await connection.commit()
                await connection.run_sync(_run_sync)
                await connection.commit()
        finally:
            await database.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
