"""join requests: a phone becomes a roster person no phone holds only with the facilitator's tap

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meetings.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
    )
    op.create_index("ix_join_requests_meeting_open", "join_requests", ["meeting_id", "decided_at"])
    op.create_index("ix_join_requests_person_id", "join_requests", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_join_requests_person_id", table_name="join_requests")
    op.drop_index("ix_join_requests_meeting_open", table_name="join_requests")
    op.drop_table("join_requests")
