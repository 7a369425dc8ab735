"""one meeting under way per group, held by a partial unique index on meetings' group

A meeting is under way ("live") from its start until it closes: ``started_at IS NOT NULL AND
stage <> 'closed'``. The flow refuses a second start while one is live, but on PostgreSQL two
starts in two processes could both pass that check; the index makes the second one fail.

Existing data that breaks the rule (only a past race could have made it): in each group with
several live meetings, the one started last stays live and every other is closed as it stands
(``stage = 'closed'``, ``closed_at`` = the migration's time, its join code cleared, like a
close), without the close's gates or mails and not marked cancelled: what was committed or
reported in it stays, and a review it left unheard is heard again at the group's next start.
The meeting started last is kept because it is the one the room most likely still has open.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "started_at IS NOT NULL AND stage <> 'closed'"
INDEX = "uq_meetings_one_live_per_group"


def _close_all_but_the_latest() -> None:
    meetings = sa.table(
        "meetings",
        sa.column("id"),
        sa.column("group_id"),
        sa.column("stage"),
        sa.column("started_at"),
        sa.column("closed_at"),
        sa.column("join_code"),
    )
    live = sa.text(LIVE)
    connection = op.get_bind()
    crowded = connection.execute(
        sa.select(meetings.c.group_id)
        .where(live)
        .group_by(meetings.c.group_id)
        .having(sa.func.count() > 1)
    ).scalars()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, as the app stores it
    for group_id in list(crowded):
        ids = connection.execute(
            sa.select(meetings.c.id)
            .where(live, meetings.c.group_id == group_id)
            .order_by(meetings.c.started_at.desc(), meetings.c.id.desc())
        ).scalars()
        stale = list(ids)[1:]
        connection.execute(
            meetings.update()
            .where(meetings.c.id.in_(stale))
            .values(stage="closed", closed_at=now, join_code=None)
        )


def upgrade() -> None:
    _close_all_but_the_latest()
    op.create_index(
        INDEX,
        "meetings",
        ["group_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="meetings")
