"""Rows made on first use, written as upserts: two processes making the same one at the same
moment (two phones naming a new organization, on PostgreSQL) both get the one row, where a
plain insert after a check answered the second with a unique-key error."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from facilitator.db.models import Organization
from facilitator.names import match_key

_ORGANIZATIONS = cast(Table, Organization.__table__)


def organization(
    connection: Connection, network_id: int, name: str, sector: str | None
) -> tuple[int, bool]:
    """The network's organization named exactly ``name`` (its unique key), made now with
    ``sector`` unless there is one; and whether it was made by this call. In the caller's
    transaction. On PostgreSQL an insert of the same name by a transaction not yet committed
    is waited for, then read."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    made = connection.execute(
        dialect.insert(_ORGANIZATIONS)
        .values(
            network_id=network_id,
            name=name,
            name_key=match_key(name)[:200],  # what Organization's validator keeps
            sector=sector,
        )
        .on_conflict_do_nothing(index_elements=["network_id", "name"])
        .returning(_ORGANIZATIONS.c.id)
    ).scalar()
    if made is not None:
        return int(made), True
    found = connection.execute(
        select(Organization.id).where(
            Organization.network_id == network_id, Organization.name == name
        )
    ).scalar_one()
    return int(found), False
