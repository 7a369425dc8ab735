"""people's look-alike keys: a new name that only looks like one in the room is refused

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from facilitator.names import look_key

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("look_key", sa.String(120), server_default="", nullable=False))
    connection = op.get_bind()
    people = sa.table("people", sa.column("id"), sa.column("name"), sa.column("look_key"))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(people.c.id, people.c.name)
            .where(people.c.id > last)
            .order_by(people.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            people.update().where(people.c.id == sa.bindparam("pid")),
            [{"pid": pid, "look_key": look_key(name)[:120]} for pid, name in rows],
        )
        last = rows[-1][0]
    op.create_index("ix_people_network_look_key", "people", ["network_id", "look_key"])


def downgrade() -> None:
    op.drop_index("ix_people_network_look_key", table_name="people")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("look_key")
