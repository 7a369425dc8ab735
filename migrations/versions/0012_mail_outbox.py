"""mail: the outbox, opt-outs and unsubscribe links; a person's language; the reminder lead

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "'record', 'reminder', 'due', 'overdue', 'digest', 'link'"
OPTIONAL = "'record', 'reminder', 'due', 'overdue', 'digest'"


def upgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.add_column(
            sa.Column("reminder_days", sa.Integer(), nullable=False, server_default="3")
        )
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("language", sa.String(2), nullable=True))
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("network_id", sa.Integer(), sa.ForeignKey("networks.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("about", sa.String(60), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("staff_user_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meetings.id"), nullable=True),
        sa.Column("commitment_id", sa.Integer(), sa.ForeignKey("commitments.id"), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("claim", sa.String(32), nullable=True),
        sa.Column("address", sa.String(254), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("kind", "about", "day", name=op.f("uq_mail_outbox_kind_about_day")),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_mail_outbox_kind")),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed', 'skipped')", name=op.f("ck_mail_outbox_state")
        ),
        sa.CheckConstraint(
            "(person_id IS NULL) <> (staff_user_id IS NULL)",
            name=op.f("ck_mail_outbox_one_recipient"),
        ),
    )
    op.create_index("ix_mail_outbox_state_next_try", "mail_outbox", ["state", "next_try_at"])
    op.create_index("ix_mail_outbox_network_created", "mail_outbox", ["network_id", "created_at"])
    op.create_table(
        "mail_opt_outs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("recipient", sa.String(30), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("recipient", "kind", name=op.f("uq_mail_opt_outs_recipient_kind")),
        sa.CheckConstraint(f"kind IN ({OPTIONAL})", name=op.f("ck_mail_opt_outs_kind")),
    )
    op.create_table(
        "unsubscribe_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(30), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("token_hash", name=op.f("uq_unsubscribe_links_token_hash")),
        sa.CheckConstraint(f"kind IN ({OPTIONAL})", name=op.f("ck_unsubscribe_links_kind")),
    )


def downgrade() -> None:
    op.drop_table("unsubscribe_links")
    op.drop_table("mail_opt_outs")
    op.drop_index("ix_mail_outbox_network_created", table_name="mail_outbox")
    op.drop_index("ix_mail_outbox_state_next_try", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("networks") as batch:
        batch.drop_column("reminder_days")
