"""sessions tokens current item

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 14:02:12.261374
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_staff_sessions_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "participant_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_participant_tokens_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_participant_tokens_token_hash")),
    )
    with op.batch_alter_table("participant_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participant_tokens_person_id"), ["person_id"], unique=False
        )

    with op.batch_alter_table("meeting_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action", sa.String(length=40), nullable=True))

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("view_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("current_item_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("item_started_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))

    # Meetings made before this revision get their projector link token now.
    meetings = sa.table("meetings", sa.column("id", sa.Integer), sa.column("view_token", sa.String))
    connection = op.get_bind()
    for (meeting_id,) in connection.execute(sa.select(meetings.c.id)).all():
        connection.execute(
            meetings.update()
            .where(meetings.c.id == meeting_id)
            .values(view_token=secrets.token_urlsafe(24))
        )


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("item_started_at")
        batch_op.drop_column("current_item_id")
        batch_op.drop_column("view_token")

    with op.batch_alter_table("meeting_events", schema=None) as batch_op:
        batch_op.drop_column("action")

    with op.batch_alter_table("participant_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_tokens_person_id"))

    op.drop_table("participant_tokens")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_user_id"))

    op.drop_table("staff_sessions")
