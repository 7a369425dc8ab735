"""shared values in Hebrew and English: a title and behaviours per language

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ONE_TITLE = "title_he IS NOT NULL OR title_en IS NOT NULL"
# Each value was written in its network's language: it moves to that language's columns.
_OF_NETWORKS_IN = "network_id IN (SELECT id FROM networks WHERE default_language = '{lang}')"


def upgrade() -> None:
    with op.batch_alter_table("shared_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_he", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("title_en", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("behaviours_he", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("behaviours_en", sa.JSON(), nullable=True))
    for lang in ("he", "en"):
        op.execute(
            f"UPDATE shared_values SET title_{lang} = title, behaviours_{lang} = behaviours "  # noqa: S608
            f"WHERE {_OF_NETWORKS_IN.format(lang=lang)}"
        )
    with op.batch_alter_table("shared_values", schema=None) as batch_op:
        batch_op.drop_column("behaviours")
        batch_op.drop_column("title")
        batch_op.create_check_constraint(op.f("ck_shared_values_title"), _ONE_TITLE)


def downgrade() -> None:
    with op.batch_alter_table("shared_values", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_shared_values_title"), type_="check")
        batch_op.add_column(sa.Column("title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("behaviours", sa.JSON(), nullable=True))
    # The network's language first; a value written only in the other language keeps that one.
    for lang, other in (("he", "en"), ("en", "he")):
        op.execute(
            f"UPDATE shared_values SET "  # noqa: S608
            f"title = COALESCE(title_{lang}, title_{other}), "
            f"behaviours = CASE WHEN title_{lang} IS NULL THEN behaviours_{other} "
            f"ELSE behaviours_{lang} END "
            f"WHERE {_OF_NETWORKS_IN.format(lang=lang)}"
        )
    with op.batch_alter_table("shared_values", schema=None) as batch_op:
        batch_op.alter_column("title", existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column("behaviours", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("behaviours_en")
        batch_op.drop_column("behaviours_he")
        batch_op.drop_column("title_en")
        batch_op.drop_column("title_he")
