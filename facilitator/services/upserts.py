"""Rows made on first use, written as upserts: two processes making the same one at the same
moment (two phones naming a new organization or a new person, on PostgreSQL) both get the one
row, where a plain insert after a check made two, or answered the second with a unique-key
error. The database holds what "the same" is: one organization per name key and one person per
name key in an organization, merged ones aside (``uq_organizations_one_per_name_key``,
``uq_people_one_per_name_key``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Insert, Table, bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite

from facilitator.db.models import Organization, Person
from facilitator.names import look_key, match_key

_ORGANIZATIONS = cast(Table, Organization.__table__)
_PEOPLE = cast(Table, Person.__table__)


def organization(
    connection: Connection, network_id: int, name: str, sector: str | None
) -> tuple[int, bool]:
    """The network's organization named ``name``, made now with ``sector`` unless one is named
    so or spelled alike (its name key); and whether it was made by this call. The exact name
    first, then the one of its key not merged away. In the caller's transaction. On PostgreSQL
    an insert of either by a transaction not yet committed is waited for, then read."""
    key = match_key(name)[:200]  # what Organization's validator keeps
    made = connection.execute(
        _ORGANIZATION_INSERTS[connection.dialect.name == "postgresql"],
        {"n": network_id, "name": name, "k": key, "sector": sector},
    ).scalar()
    if made is not None:
        return int(made), True
    found = connection.execute(_ORGANIZATION_FOUND, {"n": network_id, "name": name, "k": key})
    return int(found.scalar_one()), False


def person(
    connection: Connection, network_id: int, organization_id: int, name: str, now: datetime
) -> tuple[int, bool]:
    """The person of this organization whose name has ``name``'s key (not merged away), made
    now unless there is one; and whether it was made by this call. In the caller's
    transaction; on PostgreSQL a person of that key that a transaction not yet committed
    made is waited for, then read, so of two joins racing both get the one person."""
    facts = {
        "n": network_id,
        "o": organization_id,
        "name": name,
        "k": match_key(name)[:120],  # what Person's validator keeps
        "l": look_key(name)[:120],
        "at": now,
    }
    made = connection.execute(
        _PERSON_INSERTS[connection.dialect.name == "postgresql"], facts
    ).scalar()
    if made is not None:
        return int(made), True
    return int(connection.execute(_PERSON_FOUND, facts).scalar_one()), False


def _inserts(table: Table, values: dict[str, Any]) -> dict[bool, Insert]:
    """The insert that does nothing on a conflict, on each engine (by whether it is
    PostgreSQL), built once: a hall of phones joining runs these a thousand times a minute."""
    return {
        postgres: dialect.insert(table)
        .values(values)
        .on_conflict_do_nothing()
        .returning(table.c.id)
        for postgres, dialect in ((True, postgresql), (False, sqlite))
    }


# No conflict target: an organization conflicts on its exact name (merged ones included) or on
# its key (among those not merged), and either means it is there already. A person's only
# unique rule is their key's.
_ORGANIZATION_INSERTS = _inserts(
    _ORGANIZATIONS,
    {
        "network_id": bindparam("n"),
        "name": bindparam("name"),
        "name_key": bindparam("k"),
        "sector": bindparam("sector"),
    },
)
_ORGANIZATION_FOUND = (
    select(Organization.id)
    .where(
        Organization.network_id == bindparam("n"),
        (Organization.name == bindparam("name"))
        | ((Organization.name_key == bindparam("k")) & Organization.merged_into_id.is_(None)),
    )
    .order_by(case((Organization.name == bindparam("name"), 0), else_=1), Organization.id)
    .limit(1)
)
_PERSON_INSERTS = _inserts(
    _PEOPLE,
    {
        "network_id": bindparam("n"),
        "organization_id": bindparam("o"),
        "name": bindparam("name"),
        "name_key": bindparam("k"),
        "look_key": bindparam("l"),
        "created_at": bindparam("at"),
    },
)
_PERSON_FOUND = select(Person.id).where(
    Person.network_id == bindparam("n"),
    Person.organization_id == bindparam("o"),
    Person.name_key == bindparam("k"),
    Person.merged_into_id.is_(None),
)
