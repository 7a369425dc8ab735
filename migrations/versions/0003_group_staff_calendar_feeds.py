"""group staff and calendar feeds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 14:30:16.769261
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('person', 'group')", name=op.f("ck_calendar_feeds_kind")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_calendar_feeds_created_by_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_calendar_feeds_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_feeds_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "group_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_staff_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_group_staff_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_staff")),
        sa.UniqueConstraint("group_id", "user_id", name=op.f("uq_group_staff_group_id_user_id")),
    )
    with op.batch_alter_table("group_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_staff_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("group_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_staff_user_id"))

    op.drop_table("group_staff")
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feeds_network_id"))

    op.drop_table("calendar_feeds")
