"""stored commitment facts: slips and done on time, for the backbone's sums

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The definitions the reports used until now (``backbone_queries.slips`` and
# ``done_on_time``), written out so the migration does not change when the app does: done,
# never slipped, and reported done before any meeting on or after its due date heard it was
# not done yet (reviews in the order they were reopened). ``{day}`` is a meeting's day: the
# day it started where the network meets, else the day planned.
_BACKFILL = """
UPDATE commitments SET
  slips = (
    SELECT count(*) FROM commitment_reviews s
    WHERE s.commitment_id = commitments.id AND s.outcome = 'slipped'
  ),
  done_on_time = (
    commitments.status = 'done'
    AND NOT EXISTS (
      SELECT 1 FROM commitment_reviews s
      WHERE s.commitment_id = commitments.id AND s.outcome = 'slipped'
    )
    AND EXISTS (
      SELECT 1 FROM commitment_reviews done
      WHERE done.commitment_id = commitments.id AND done.outcome = 'done'
      AND NOT EXISTS (
        SELECT 1 FROM commitment_reviews earlier
        JOIN meetings heard ON heard.id = earlier.meeting_id
        WHERE earlier.commitment_id = commitments.id
        AND (earlier.reopened_at < done.reopened_at
             OR (earlier.reopened_at = done.reopened_at AND earlier.id < done.id))
        AND CASE WHEN heard.started_at IS NOT NULL THEN {day} ELSE heard.scheduled_on END
            >= commitments.due_on
      )
    )
  )
WHERE group_id IN (SELECT id FROM groups WHERE network_id = :network)
"""
_DAY = {
    # ``local_day`` is registered on every SQLite connection by the app's Database.
    "sqlite": "local_day(heard.started_at, :zone)",
    "postgresql": "CAST(timezone(:zone, timezone('UTC', heard.started_at)) AS DATE)",
}
_INDEX = "ix_commitments_group_status_due"


def upgrade() -> None:
    with op.batch_alter_table("commitments") as batch:
        batch.add_column(sa.Column("slips", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("done_on_time", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    bind = op.get_bind()
    backfill = sa.text(_BACKFILL.format(day=_DAY[bind.dialect.name]))
    for network, zone in bind.execute(sa.text("SELECT id, timezone FROM networks")).all():
        bind.execute(backfill, {"network": network, "zone": zone})
    # The figures sum the facts from the index they read commitments in.
    op.drop_index(_INDEX, table_name="commitments")
    op.create_index(
        f"{_INDEX}_facts",
        "commitments",
        ["group_id", "status", "due_on", "owner_person_id", "slips", "done_on_time"],
    )


def downgrade() -> None:
    op.drop_index(f"{_INDEX}_facts", table_name="commitments")
    op.create_index(_INDEX, "commitments", ["group_id", "status", "due_on", "owner_person_id"])
    with op.batch_alter_table("commitments") as batch:
        batch.drop_column("done_on_time")
        batch.drop_column("slips")
