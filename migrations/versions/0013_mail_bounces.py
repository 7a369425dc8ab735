"""mail bounces: each mail's own tag (in its Message-ID and return address), and the state
``bounced`` for a mail the receiving side sent back after our server took it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "state IN ('pending', 'sent', 'failed', 'skipped')"
AFTER = "state IN ('pending', 'sent', 'failed', 'skipped', 'bounced')"


def upgrade() -> None:
    with op.batch_alter_table("mail_outbox") as batch:
        batch.add_column(sa.Column("tag", sa.String(16), nullable=True))
        batch.add_column(sa.Column("bounced_at", sa.DateTime(), nullable=True))
        batch.drop_constraint(op.f("ck_mail_outbox_state"), type_="check")
        batch.create_check_constraint(op.f("ck_mail_outbox_state"), AFTER)


def downgrade() -> None:
    op.execute("UPDATE mail_outbox SET state = 'failed' WHERE state = 'bounced'")
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_constraint(op.f("ck_mail_outbox_state"), type_="check")
        batch.create_check_constraint(op.f("ck_mail_outbox_state"), BEFORE)
        batch.drop_column("bounced_at")
        batch.drop_column("tag")
