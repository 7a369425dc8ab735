"""match keys for names, agenda presenter and timer, meeting time and place, withdrawn

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The one app import here, on purpose: the keys must be exactly what the running app computes.
# ``facilitator.names`` is pure (no database, no settings).
from facilitator.names import match_key

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES_BEFORE = "status IN ('proposed', 'open', 'done', 'dropped', 'rejected')"
_STATUSES_AFTER = "status IN ('proposed', 'open', 'done', 'dropped', 'rejected', 'withdrawn')"


def _fill_keys(table: str, width: int) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, name FROM {table}")).all()  # noqa: S608
    for row_id, name in rows:
        bind.execute(
            sa.text(f"UPDATE {table} SET name_key = :key WHERE id = :id"),  # noqa: S608
            {"key": match_key(name)[:width], "id": row_id},
        )


def upgrade() -> None:
    for table, width in (("organizations", 200), ("people", 120)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("name_key", sa.String(length=width), nullable=True))
        _fill_keys(table, width)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("name_key", existing_type=sa.String(length=width), nullable=False)
            batch_op.create_index(f"ix_{table}_network_name_key", ["network_id", "name_key"])

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_at", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=200), nullable=True))

    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("presenter", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("elapsed_seconds", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_commitments_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_commitments_status"), _STATUSES_AFTER)


def downgrade() -> None:
    # Before 0004 a commitment taken back could only be a turned-down one: the nearest meaning,
    # and never counted as made either.
    op.execute("UPDATE commitments SET status = 'rejected' WHERE status = 'withdrawn'")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_commitments_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_commitments_status"), _STATUSES_BEFORE)

    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.drop_column("elapsed_seconds")
        batch_op.drop_column("presenter")

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("place")
        batch_op.drop_column("starts_at")

    for table in ("people", "organizations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_network_name_key")
            batch_op.drop_column("name_key")
