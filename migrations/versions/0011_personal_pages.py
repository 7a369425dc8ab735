"""personal pages: each person's secret link, and what owners report between meetings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_person_links_person_id", "person_links", ["person_id"])
    op.create_table(
        "commitment_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("commitment_id", sa.Integer(), sa.ForeignKey("commitments.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('done', 'on_track', 'stuck')", name=op.f("ck_commitment_reports_outcome")
        ),
    )
    op.create_index(
        "ix_commitment_reports_commitment_created",
        "commitment_reports",
        ["commitment_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_commitment_reports_commitment_created", table_name="commitment_reports")
    op.drop_table("commitment_reports")
    op.drop_index("ix_person_links_person_id", table_name="person_links")
    op.drop_table("person_links")
