"""a real network: settings, archive and merge, rosters, strategy targets, staff links, audit

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 02:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SECTORS_BEFORE = (
    "sector IN ('government', 'nonprofit', 'business', 'philanthropy', 'community', 'backbone')"
)
_SECTORS_AFTER = (
    "sector IN ('government', 'nonprofit', 'business', 'philanthropy', 'community', 'backbone', "
    "'other')"
)
_KINDS_BEFORE = "kind IN ('steering_committee', 'working_group', 'forum')"
_KINDS_AFTER = "kind IN ('steering_committee', 'working_group', 'forum', 'task_force', 'other')"
_LINK_KINDS = "kind IN ('setup', 'invite', 'reset')"


def upgrade() -> None:
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("meeting_minutes", sa.Integer(), nullable=False, server_default="90")
        )
        batch_op.add_column(sa.Column("public_url", sa.String(length=300), nullable=True))
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aliases", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_organizations_merged_into_id_organizations"),
            "organizations",
            ["merged_into_id"],
            ["id"],
        )
        batch_op.drop_constraint(op.f("ck_organizations_sector"), type_="check")
        batch_op.create_check_constraint(op.f("ck_organizations_sector"), _SECTORS_AFTER)
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_people_merged_into_id_people"), "people", ["merged_into_id"], ["id"]
        )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
        batch_op.drop_constraint(op.f("ck_groups_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_groups_kind"), _KINDS_AFTER)
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_amount", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("target_by", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("marked_by_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_attendance_marked_by_user_id_staff_users"),
            "staff_users",
            ["marked_by_user_id"],
            ["id"],
        )
    op.create_table(
        "group_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_members_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_group_members_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_members")),
        sa.UniqueConstraint(
            "group_id", "person_id", name=op.f("uq_group_members_group_id_person_id")
        ),
    )
    op.create_index(op.f("ix_group_members_person_id"), "group_members", ["person_id"])
    op.create_table(
        "strategy_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("strategy_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_groups_strategy_id_strategies"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_strategy_groups_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_groups")),
        sa.UniqueConstraint(
            "strategy_id", "group_id", name=op.f("uq_strategy_groups_strategy_id_group_id")
        ),
    )
    op.create_index(op.f("ix_strategy_groups_group_id"), "strategy_groups", ["group_id"])
    op.create_table(
        "staff_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(_LINK_KINDS, name=op.f("ck_staff_links_kind")),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_staff_links_network_id_networks")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_staff_links_user_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_staff_links_created_by_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_links_token_hash")),
    )
    op.create_index(op.f("ix_staff_links_user_id"), "staff_links", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_audit_log_network_id_networks")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_audit_log_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_network_at", "audit_log", ["network_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_network_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_staff_links_user_id"), table_name="staff_links")
    op.drop_table("staff_links")
    op.drop_index(op.f("ix_strategy_groups_group_id"), table_name="strategy_groups")
    op.drop_table("strategy_groups")
    op.drop_index(op.f("ix_group_members_person_id"), table_name="group_members")
    op.drop_table("group_members")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_attendance_marked_by_user_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_column("marked_by_user_id")
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("target_by")
        batch_op.drop_column("target_amount")
    # Rows written with the new kinds or sector would break the old checks: fold them back.
    op.execute("UPDATE groups SET kind = 'working_group' WHERE kind IN ('task_force', 'other')")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_groups_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_groups_kind"), _KINDS_BEFORE)
        batch_op.drop_column("archived_at")
        batch_op.drop_column("purpose")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_people_merged_into_id_people"), type_="foreignkey")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("phone")
        batch_op.drop_column("email")
    op.execute("UPDATE organizations SET sector = NULL WHERE sector = 'other'")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_organizations_sector"), type_="check")
        batch_op.create_check_constraint(op.f("ck_organizations_sector"), _SECTORS_BEFORE)
        batch_op.drop_constraint(
            op.f("fk_organizations_merged_into_id_organizations"), type_="foreignkey"
        )
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("aliases")
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_column("public_url")
        batch_op.drop_column("meeting_minutes")
