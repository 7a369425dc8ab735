"""one organization per name key, and one person per name key in an organization, held by
partial unique indexes (merged ones aside)

Joining matches an organization by its name's key (``names.match_key``: no case, one kind of
dash and of quote, no niqqud, no invisible characters) and a person by theirs within it; adding
someone by hand and the import refuse or match a second of one key. But on PostgreSQL two
processes could both find no one and both insert: two phones naming a new organization in two
spellings ("מתנ״ס", 'מתנ"ס') made two organizations, and two joins of one new person made two
people. The indexes make the second insert wait for the first and then do nothing (the
services' upserts read the one row back). An archived organization or person still counts:
typing their name finds them, never makes a second. The same name in two organizations is two
people.

Existing data that breaks the rule (a past race, or spellings from before names were matched)
is merged first, as the backbone's own merges do (``organizations.merge``,
``people_merge.merge``), each audited as done by no one:

* organizations of one key: the current one (not archived) is kept, else the oldest; the others
  are merged into it (their people move there, their other spellings become its spellings, its
  sector filled when it had none, they stay archived and pointing at it);
* then people of one key in one organization: the current one is kept, else the oldest; every
  commitment, review, phone, attendance, opener answer, group place and calendar feed of the
  others becomes theirs (where both were somewhere at once one record stays: the earliest
  arrival, the kept one's answer), the email and phone they lacked are filled, and the others
  stay, archived, pointing at them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from facilitator.names import match_key

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_MERGED = "merged_into_id IS NULL"
ORGANIZATION_INDEX = "uq_organizations_one_per_name_key"
PERSON_INDEX = "uq_people_one_per_name_key"
#: As ``organizations.MAX_ALIASES`` and the title's length limit when this was written.
MAX_ALIASES = 50
TITLE_LIMIT = 200

_ORGANIZATION_AUDITED = ("name", "sector", "aliases", "archived_at", "merged_into_id")
_PERSON_AUDITED = (
    "name", "organization_id", "email", "phone", "language", "archived_at", "merged_into_id",
)  # fmt: skip

organizations = sa.table(
    "organizations",
    sa.column("id"),
    sa.column("network_id"),
    sa.column("name"),
    sa.column("name_key"),
    sa.column("sector"),
    sa.column("aliases", sa.JSON),
    sa.column("archived_at", sa.DateTime),
    sa.column("merged_into_id"),
)
people = sa.table(
    "people",
    sa.column("id"),
    sa.column("network_id"),
    sa.column("organization_id"),
    sa.column("name"),
    sa.column("name_key"),
    sa.column("email"),
    sa.column("phone"),
    sa.column("language"),
    sa.column("archived_at", sa.DateTime),
    sa.column("merged_into_id"),
)
attendance = sa.table(
    "attendance",
    sa.column("id"),
    sa.column("meeting_id"),
    sa.column("person_id"),
    sa.column("joined_at", sa.DateTime),
    sa.column("marked_by_user_id"),
)
opener_responses = sa.table(
    "opener_responses",
    sa.column("id"),
    sa.column("meeting_id"),
    sa.column("person_id"),
    sa.column("blocker_id"),
)
group_members = sa.table(
    "group_members", sa.column("id"), sa.column("group_id"), sa.column("person_id")
)
calendar_feeds = sa.table(
    "calendar_feeds",
    sa.column("network_id"),
    sa.column("kind"),
    sa.column("target_id"),
)
audit_log = sa.table(
    "audit_log",
    sa.column("network_id"),
    sa.column("user_id"),
    sa.column("at", sa.DateTime),
    sa.column("action"),
    sa.column("entity"),
    sa.column("entity_id"),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)
#: The columns that simply follow a merged person to the one kept.
_REPOINTED = {
    "commitments_owned": ("commitments", "owner_person_id"),
    "commitments_proposed": ("commitments", "proposed_by_person_id"),
    "reviews": ("commitment_reviews", "reviewer_person_id"),
    "phones": ("participant_tokens", "person_id"),
}


def _plain(value: Any) -> Any:
    """As ``audit.columns`` writes a value: a stored (naive UTC) moment as an aware one."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC).isoformat()
    return list(value) if isinstance(value, list | tuple) else value


def _columns(row: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: _plain(row._mapping[name]) for name in names}


def _audit(
    connection: sa.Connection,
    network_id: int,
    action: str,
    entity: str,
    entity_id: int,
    **parts: Any,
) -> None:
    connection.execute(
        audit_log.insert().values(
            network_id=network_id,
            user_id=None,
            at=_now(),
            action=action,
            entity=entity,
            entity_id=entity_id,
            **parts,
        )
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, as the app stores it


def _crowded(connection: sa.Connection, table: sa.TableClause, *keys: str) -> list[tuple[Any, ...]]:
    """The keys that more than one row not merged away holds."""
    columns = [table.c[k] for k in keys]
    return [
        tuple(row)
        for row in connection.execute(
            sa.select(*columns)
            .where(table.c.merged_into_id.is_(None), *(c.is_not(None) for c in columns))
            .group_by(*columns)
            .having(sa.func.count() > 1)
        )
    ]


def _kept_first(connection: sa.Connection, table: sa.TableClause, **key: Any) -> list[Any]:
    """The rows of one key not merged away: the current one first, then by age."""
    return list(
        connection.execute(
            sa.select(table)
            .where(table.c.merged_into_id.is_(None), *(table.c[k] == v for k, v in key.items()))
            .order_by(table.c.archived_at.is_not(None), table.c.id)
        )
    )


def _merge_organizations(connection: sa.Connection) -> None:
    for network_id, name_key in _crowded(connection, organizations, "network_id", "name_key"):
        keep, *others = _kept_first(
            connection, organizations, network_id=network_id, name_key=name_key
        )
        spellings = list(keep.aliases or [])
        known = {keep.name_key} | {match_key(a)[:200] for a in spellings}
        sector = keep.sector
        for source in others:
            before = {
                "merged": _columns(source, _ORGANIZATION_AUDITED),
                "kept": _columns(_row(connection, organizations, keep.id), _ORGANIZATION_AUDITED),
            }
            moved = list(
                connection.execute(
                    sa.select(people.c.id)
                    .where(people.c.organization_id == source.id)
                    .order_by(people.c.id)
                ).scalars()
            )
            connection.execute(
                people.update()
                .where(people.c.organization_id == source.id)
                .values(organization_id=keep.id)
            )
            for alias in [source.name, *(source.aliases or [])]:
                if len(spellings) >= MAX_ALIASES:
                    break
                if match_key(alias)[:200] not in known and len(alias) <= TITLE_LIMIT:
                    known.add(match_key(alias)[:200])
                    spellings.append(alias)
            sector = sector or source.sector
            connection.execute(
                organizations.update()
                .where(organizations.c.id == keep.id)
                .values(aliases=spellings or None, sector=sector)
            )
            connection.execute(
                organizations.update()
                .where(organizations.c.id == source.id)
                .values(merged_into_id=keep.id, archived_at=source.archived_at or _now())
            )
            connection.execute(
                organizations.update()
                .where(organizations.c.merged_into_id == source.id)
                .values(merged_into_id=keep.id)
            )
            after = {
                "merged": _columns(
                    _row(connection, organizations, source.id), _ORGANIZATION_AUDITED
                ),
                "kept": _columns(_row(connection, organizations, keep.id), _ORGANIZATION_AUDITED),
                "moved_people": moved,
            }
            _audit(
                connection, network_id, "organization.merge", "organization", keep.id,
                before=before, after=after,
            )  # fmt: skip


def _row(connection: sa.Connection, table: sa.TableClause, row_id: int) -> Any:
    return connection.execute(sa.select(table).where(table.c.id == row_id)).one()


def _merge_people(connection: sa.Connection) -> None:
    crowded = _crowded(connection, people, "network_id", "organization_id", "name_key")
    for network_id, organization_id, name_key in crowded:
        keep, *others = _kept_first(
            connection,
            people,
            network_id=network_id,
            organization_id=organization_id,
            name_key=name_key,
        )
        for dup in others:
            before = {
                "kept": _columns(_row(connection, people, keep.id), _PERSON_AUDITED),
                "merged": _columns(dup, _PERSON_AUDITED),
            }
            moved = _move_records(connection, network_id, keep.id, dup.id)
            kept = _row(connection, people, keep.id)
            connection.execute(
                people.update()
                .where(people.c.id == keep.id)
                .values(email=kept.email or dup.email, phone=kept.phone or dup.phone)
            )
            connection.execute(
                people.update()
                .where(people.c.id == dup.id)
                .values(merged_into_id=keep.id, archived_at=dup.archived_at or _now())
            )
            connection.execute(
                people.update()
                .where(people.c.merged_into_id == dup.id)
                .values(merged_into_id=keep.id)
            )
            after = {
                "kept": _columns(_row(connection, people, keep.id), _PERSON_AUDITED),
                "merged": _columns(_row(connection, people, dup.id), _PERSON_AUDITED),
                "moved": moved,
            }
            _audit(
                connection, network_id, "person.merge", "person", keep.id,
                before=before, after=after,
            )  # fmt: skip


def _move_records(
    connection: sa.Connection, network_id: int, keep: int, dup: int
) -> dict[str, int]:
    """Everything ``dup`` did becomes ``keep``'s; what was moved, counted."""
    moved: dict[str, int] = {}
    for name, (table_name, column) in _REPOINTED.items():
        table = sa.table(table_name, sa.column(column))
        result = connection.execute(
            table.update().where(table.c[column] == dup).values({column: keep})
        )
        moved[name] = result.rowcount or 0

    moved["attendance"] = moved["attendance_joined"] = 0
    kept_at = {
        row.meeting_id: row
        for row in connection.execute(sa.select(attendance).where(attendance.c.person_id == keep))
    }
    for row in list(connection.execute(sa.select(attendance).where(attendance.c.person_id == dup))):
        mine = kept_at.get(row.meeting_id)
        if mine is None:
            connection.execute(
                attendance.update().where(attendance.c.id == row.id).values(person_id=keep)
            )
            moved["attendance"] += 1
            continue
        connection.execute(
            attendance.update()
            .where(attendance.c.id == mine.id)
            .values(
                joined_at=min(mine.joined_at, row.joined_at),
                # Marked present only when both were (one came with a phone: they came).
                marked_by_user_id=mine.marked_by_user_id and row.marked_by_user_id,
            )
        )
        connection.execute(attendance.delete().where(attendance.c.id == row.id))
        moved["attendance_joined"] += 1

    moved["opener_answers"] = moved["opener_answers_dropped"] = 0
    answered = {
        (row.meeting_id, row.blocker_id)
        for row in connection.execute(
            sa.select(opener_responses).where(opener_responses.c.person_id == keep)
        )
    }
    for row in list(
        connection.execute(sa.select(opener_responses).where(opener_responses.c.person_id == dup))
    ):
        if (row.meeting_id, row.blocker_id) in answered:
            connection.execute(opener_responses.delete().where(opener_responses.c.id == row.id))
            moved["opener_answers_dropped"] += 1
        else:
            connection.execute(
                opener_responses.update()
                .where(opener_responses.c.id == row.id)
                .values(person_id=keep)
            )
            moved["opener_answers"] += 1

    in_groups = set(
        connection.execute(
            sa.select(group_members.c.group_id).where(group_members.c.person_id == keep)
        ).scalars()
    )
    moved["groups"] = 0
    for row in list(
        connection.execute(sa.select(group_members).where(group_members.c.person_id == dup))
    ):
        if row.group_id in in_groups:
            connection.execute(group_members.delete().where(group_members.c.id == row.id))
        else:
            connection.execute(
                group_members.update().where(group_members.c.id == row.id).values(person_id=keep)
            )
            moved["groups"] += 1

    feeds = connection.execute(
        calendar_feeds.update()
        .where(
            calendar_feeds.c.network_id == network_id,
            calendar_feeds.c.kind == "person",
            calendar_feeds.c.target_id == dup,
        )
        .values(target_id=keep)
    )
    moved["feeds"] = feeds.rowcount or 0
    return moved


def upgrade() -> None:
    connection = op.get_bind()
    # Organizations first: their merges move people, who may then be two of one name.
    _merge_organizations(connection)
    _merge_people(connection)
    op.create_index(
        ORGANIZATION_INDEX,
        "organizations",
        ["network_id", "name_key"],
        unique=True,
        sqlite_where=sa.text(NOT_MERGED),
        postgresql_where=sa.text(NOT_MERGED),
    )
    op.create_index(
        PERSON_INDEX,
        "people",
        ["network_id", "organization_id", "name_key"],
        unique=True,
        sqlite_where=sa.text(NOT_MERGED),
        postgresql_where=sa.text(NOT_MERGED),
    )


def downgrade() -> None:
    # The merges stay: they are what the backbone's own merges would have done.
    op.drop_index(PERSON_INDEX, table_name="people")
    op.drop_index(ORGANIZATION_INDEX, table_name="organizations")
