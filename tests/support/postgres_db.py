"""A fresh PostgreSQL database for a test, on the server ``scripts/local-postgres`` runs."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine


def _admin(admin_url: str, statement: str) -> None:
    async def run() -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


def create_database(admin_url: str, prefix: str, template: str | None = None) -> str:
    """A new database, empty or a copy of ``template`` (a URL); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    copy = f" TEMPLATE {make_url(template).database}" if template else ""
    _admin(admin_url, f"CREATE DATABASE {name}{copy}")
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    """Drop it, its connections too; an autovacuum worker that just began on it is the
    server's, which an ordinary user may not end: it is done in moments, so try again."""
    name = make_url(url).database
    for attempt in range(20):
        try:
            _admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except (ProgrammingError, OperationalError):
            if attempt == 19:
                raise
            time.sleep(0.25)
