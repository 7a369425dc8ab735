"""indexes for the backbone's reports over years of history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 06:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The figures read status, due date and owner from the index alone; the old index was
    # its prefix.
    op.drop_index("ix_commitments_group_status", table_name="commitments")
    op.create_index(
        "ix_commitments_group_status_due",
        "commitments",
        ["group_id", "status", "due_on", "owner_person_id"],
    )
    op.create_index(
        "ix_commitment_reviews_commitment_outcome",
        "commitment_reviews",
        ["commitment_id", "outcome", "reopened_at"],
    )
    op.create_index(
        "ix_commitment_reviews_commitment_reopened",
        "commitment_reviews",
        ["commitment_id", "reopened_at", "meeting_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_commitment_reviews_commitment_reopened", table_name="commitment_reviews")
    op.drop_index("ix_commitment_reviews_commitment_outcome", table_name="commitment_reviews")
    op.drop_index("ix_commitments_group_status_due", table_name="commitments")
    op.create_index("ix_commitments_group_status", "commitments", ["group_id", "status"])
