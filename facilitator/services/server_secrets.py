"""Keys every process of an installation shares, kept in its database: the first process to ask
for one makes it, at random, and every other reads the same (no setting to forget, and a
restart keeps it)."""

from __future__ import annotations

import secrets
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from facilitator.db import Database
from facilitator.db.models import ServerSecret

_SECRETS = cast(Table, ServerSecret.__table__)


async def shared_key(db: Database, name: str) -> bytes:
    """The installation's 32-byte key called ``name``, made now if there is none."""
    async with db.write() as session:
        dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
        await session.execute(
            dialect.insert(_SECRETS)
            .values(name=name, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        value = await session.scalar(select(ServerSecret.value).where(ServerSecret.name == name))
    return bytes.fromhex(cast(str, value))
