"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 13:42:33.795519
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("default_language", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("default_language IN ('he', 'en')", name=op.f("ck_networks_language")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
    )
    op.create_table(
        "blockers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label_he", sa.String(length=200), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_blockers_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blockers")),
        sa.UniqueConstraint("network_id", "key", name=op.f("uq_blockers_network_id_key")),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "kind IN ('steering_committee', 'working_group', 'forum')", name=op.f("ck_groups_kind")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_groups_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groups_network_id"), ["network_id"], unique=False)

    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "sector IN ('government', 'nonprofit', 'business', 'philanthropy', 'community', 'backbone')",
            name=op.f("ck_organizations_sector"),
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_organizations_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("network_id", "name", name=op.f("uq_organizations_network_id_name")),
    )
    op.create_table(
        "shared_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("behaviours", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_shared_values_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_values")),
    )
    with op.batch_alter_table("shared_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shared_values_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('backbone', 'facilitator')", name=op.f("ck_staff_users_role")),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_staff_users_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_users_email")),
    )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_users_network_id"), ["network_id"], unique=False)

    op.create_table(
        "strategies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_strategies_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
    )
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_strategies_network_id"), ["network_id"], unique=False)

    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("join_code", sa.String(length=12), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("create_msg_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "stage IN ('lobby', 'review', 'opener', 'agenda', 'commitments', 'closed')",
            name=op.f("ck_meetings_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_meetings_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("create_msg_id", name=op.f("uq_meetings_create_msg_id")),
        sa.UniqueConstraint("join_code", name=op.f("uq_meetings_join_code")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetings_group_id"), ["group_id"], unique=False)

    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_people_network_id_networks")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_people_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_network_id"), ["network_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_people_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "agenda_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("strategy_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('decision', 'discussion', 'update')", name=op.f("ck_agenda_items_kind")
        ),
        sa.CheckConstraint("minutes >= 0", name=op.f("ck_agenda_items_minutes")),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_agenda_items_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"], ["strategies.id"], name=op.f("fk_agenda_items_strategy_id_strategies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_items")),
    )
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agenda_items_meeting_id"), ["meeting_id"], unique=False
        )

    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_attendance_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_attendance_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint(
            "meeting_id", "person_id", name=op.f("uq_attendance_meeting_id_person_id")
        ),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_person_id"), ["person_id"], unique=False)

    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("origin_meeting_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("strategy_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("proposed_by_person_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('proposed', 'open', 'done', 'dropped', 'rejected')",
            name=op.f("ck_commitments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_commitments_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["origin_meeting_id"],
            ["meetings.id"],
            name=op.f("fk_commitments_origin_meeting_id_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_person_id"], ["people.id"], name=op.f("fk_commitments_owner_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_person_id"],
            ["people.id"],
            name=op.f("fk_commitments_proposed_by_person_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"], ["strategies.id"], name=op.f("fk_commitments_strategy_id_strategies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index("ix_commitments_group_status", ["group_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_commitments_origin_meeting_id"), ["origin_meeting_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_commitments_owner_person_id"), ["owner_person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_commitments_strategy_id"), ["strategy_id"], unique=False
        )

    op.create_table(
        "meeting_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("client_msg_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_events_meeting_id_meetings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_events")),
        sa.UniqueConstraint(
            "meeting_id", "client_msg_id", name=op.f("uq_meeting_events_meeting_id_client_msg_id")
        ),
        sa.UniqueConstraint("meeting_id", "seq", name=op.f("uq_meeting_events_meeting_id_seq")),
    )
    op.create_table(
        "opener_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("blocker_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blocker_id"], ["blockers.id"], name=op.f("fk_opener_actions_blocker_id_blockers")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_opener_actions_meeting_id_meetings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opener_actions")),
        sa.UniqueConstraint(
            "meeting_id", "blocker_id", name=op.f("uq_opener_actions_meeting_id_blocker_id")
        ),
    )
    with op.batch_alter_table("opener_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opener_actions_blocker_id"), ["blocker_id"], unique=False
        )

    op.create_table(
        "opener_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("blocker_id", sa.Integer(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blocker_id"], ["blockers.id"], name=op.f("fk_opener_responses_blocker_id_blockers")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_opener_responses_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_opener_responses_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opener_responses")),
        sa.UniqueConstraint(
            "meeting_id",
            "person_id",
            "blocker_id",
            name=op.f("uq_opener_responses_meeting_id_person_id_blocker_id"),
        ),
    )
    with op.batch_alter_table("opener_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opener_responses_blocker_id"), ["blocker_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_opener_responses_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "commitment_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("reopened_at", sa.DateTime(), nullable=False),
        sa.Column("old_due", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("new_due", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("reviewer_person_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_user_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('done', 'on_track', 'slipped', 'dropped')",
            name=op.f("ck_commitment_reviews_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitments.id"],
            name=op.f("fk_commitment_reviews_commitment_id_commitments"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_commitment_reviews_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_person_id"],
            ["people.id"],
            name=op.f("fk_commitment_reviews_reviewer_person_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_user_id"],
            ["staff_users.id"],
            name=op.f("fk_commitment_reviews_reviewer_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_reviews")),
        sa.UniqueConstraint(
            "commitment_id",
            "meeting_id",
            name=op.f("uq_commitment_reviews_commitment_id_meeting_id"),
        ),
    )
    with op.batch_alter_table("commitment_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commitment_reviews_meeting_id"), ["meeting_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("commitment_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitment_reviews_meeting_id"))

    op.drop_table("commitment_reviews")
    with op.batch_alter_table("opener_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opener_responses_person_id"))
        batch_op.drop_index(batch_op.f("ix_opener_responses_blocker_id"))

    op.drop_table("opener_responses")
    with op.batch_alter_table("opener_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opener_actions_blocker_id"))

    op.drop_table("opener_actions")
    op.drop_table("meeting_events")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitments_strategy_id"))
        batch_op.drop_index(batch_op.f("ix_commitments_owner_person_id"))
        batch_op.drop_index(batch_op.f("ix_commitments_origin_meeting_id"))
        batch_op.drop_index("ix_commitments_group_status")

    op.drop_table("commitments")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attendance_person_id"))

    op.drop_table("attendance")
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_items_meeting_id"))

    op.drop_table("agenda_items")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_organization_id"))
        batch_op.drop_index(batch_op.f("ix_people_network_id"))

    op.drop_table("people")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetings_group_id"))

    op.drop_table("meetings")
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_strategies_network_id"))

    op.drop_table("strategies")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_users_network_id"))

    op.drop_table("staff_users")
    with op.batch_alter_table("shared_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shared_values_network_id"))

    op.drop_table("shared_values")
    op.drop_table("organizations")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groups_network_id"))

    op.drop_table("groups")
    op.drop_table("blockers")
    op.drop_table("networks")
