"""SQLAlchemy models. The schema itself comes only from Alembic migrations in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from facilitator.flow import CommitmentStatus, Outcome, Role, Stage
from facilitator.names import match_key

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SECTORS = (
    "government",
    "nonprofit",
    "business",
    "philanthropy",
    "community",
    "backbone",
    "other",
)
GROUP_KINDS = ("steering_committee", "working_group", "forum", "task_force", "other")
ITEM_KINDS = ("decision", "discussion", "update")
LANGUAGES = ("he", "en")
STAFF_ROLES = (Role.BACKBONE.value, Role.FACILITATOR.value)


def _one_of(column: str, values: tuple[str, ...] | list[str]) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({listed})"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        return result.replace(tzinfo=UTC) if result.tzinfo is None else result.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}  # noqa: RUF012


class Network(Base):
    __tablename__ = "networks"
    __table_args__ = (CheckConstraint(_one_of("default_language", LANGUAGES), name="language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    default_language: Mapped[str] = mapped_column(String(2), default="he")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jerusalem")
    created_at: Mapped[datetime]
    #: How long a new meeting is planned for, in minutes.
    meeting_minutes: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    #: The address shown to phones (QR, join link) when the server's own setting leaves it open.
    public_url: Mapped[str | None] = mapped_column(String(300))


class SharedValue(Base):
    """A value and the behaviours it expects, written in Hebrew, English or both (a screen shows
    its own language and falls back to the other)."""

    __tablename__ = "shared_values"
    __table_args__ = (
        CheckConstraint("title_he IS NOT NULL OR title_en IS NOT NULL", name="title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    position: Mapped[int]
    title_he: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    behaviours_he: Mapped[list[str] | None]
    behaviours_en: Mapped[list[str] | None]


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        UniqueConstraint("network_id", "name"),
        CheckConstraint(_one_of("sector", SECTORS), name="sector"),
        Index("ix_organizations_network_name_key", "network_id", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    name: Mapped[str] = mapped_column(String(200))
    # ``names.match_key(name)``: how a typed spelling finds this organization.
    name_key: Mapped[str] = mapped_column(String(200))
    # Unknown when a participant names a new organization on their phone.
    sector: Mapped[str | None] = mapped_column(String(20))
    #: Other spellings people use for it ("the municipality", an acronym): they find it too.
    aliases: Mapped[list[str] | None]
    archived_at: Mapped[datetime | None]
    #: Set when merged into another: its people moved there; kept so old links still resolve.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))

    @validates("name")
    def _keep_key(self, _key: str, name: str) -> str:
        self.name_key = match_key(name)[:200]
        return name


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (Index("ix_people_network_name_key", "network_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # ``names.match_key(name)``: how a typed spelling finds this person.
    name_key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    archived_at: Mapped[datetime | None]
    #: Set when merged into another person: every record moved there; kept for old links.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    @validates("name")
    def _keep_key(self, _key: str, name: str) -> str:
        self.name_key = match_key(name)[:120]
        return name


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(_one_of("role", STAFF_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (CheckConstraint(_one_of("kind", GROUP_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None]


class GroupMember(Base):
    """The group's roster: who is expected at its meetings."""

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    added_at: Mapped[datetime]


class Strategy(Base):
    __tablename__ = "strategies"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    #: The measurable target: what (``target``), how much, by when.
    target: Mapped[str] = mapped_column(String(500))
    target_amount: Mapped[str | None] = mapped_column(String(100))
    target_by: Mapped[date | None] = mapped_column(Date)
    archived_at: Mapped[datetime | None]


class StrategyGroup(Base):
    """Which groups carry a strategy."""

    __tablename__ = "strategy_groups"
    __table_args__ = (UniqueConstraint("strategy_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (CheckConstraint(_one_of("stage", [s.value for s in Stage]), name="stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    scheduled_on: Mapped[date] = mapped_column(Date)
    # The local time of day it begins, and where: optional, shown with the date.
    starts_at: Mapped[time | None] = mapped_column(Time)
    place: Mapped[str | None] = mapped_column(String(200))
    # Unique while set; cleared when the meeting closes so the code stops working and can recur.
    join_code: Mapped[str | None] = mapped_column(String(12), unique=True)
    stage: Mapped[str] = mapped_column(String(20), default=Stage.LOBBY.value)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Makes "create meeting" idempotent: a resent request finds the meeting it made.
    create_msg_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Lets a projector on another machine follow the meeting without signing in.
    view_token: Mapped[str | None] = mapped_column(String(64))
    # The agenda item on screen and when its timer last started running (no foreign key: items
    # point here). An item on screen with no start time is paused.
    current_item_id: Mapped[int | None]
    item_started_at: Mapped[datetime | None]
    # Set when a meeting was called off (closed without commitments) rather than closed.
    cancelled_at: Mapped[datetime | None]


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ITEM_KINDS), name="kind"),
        CheckConstraint("minutes >= 0", name="minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int]
    strategy_id: Mapped[int | None] = mapped_column(ForeignKey("strategies.id"))
    kind: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str | None] = mapped_column(Text)
    presenter: Mapped[str | None] = mapped_column(String(120))
    # Seconds the item's timer ran before it last started (pauses and earlier showings).
    elapsed_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    joined_at: Mapped[datetime]
    #: Set when the facilitator marked the person present (they came without a phone).
    marked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class Blocker(Base):
    """One line of the opener's "what blocks collaboration" list, editable per network."""

    __tablename__ = "blockers"
    __table_args__ = (UniqueConstraint("network_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int]
    label_he: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OpenerResponse(Base):
    __tablename__ = "opener_responses"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id", "blocker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    # Kept so a phone can change its answer; never shown unless the person chose not anonymous.
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("blockers.id"), index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class OpenerAction(Base):
    """What the group agreed to do about one flagged blocker."""

    __tablename__ = "opener_actions"
    __table_args__ = (UniqueConstraint("meeting_id", "blocker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    blocker_id: Mapped[int] = mapped_column(ForeignKey("blockers.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Commitment(Base):
    """Belongs to the group: stays open across meetings until done or dropped."""

    __tablename__ = "commitments"
    __table_args__ = (
        CheckConstraint(_one_of("status", [s.value for s in CommitmentStatus]), name="status"),
        Index("ix_commitments_group_status", "group_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    origin_meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    owner_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    strategy_id: Mapped[int | None] = mapped_column(ForeignKey("strategies.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    proposed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]


class CommitmentReview(Base):
    """A commitment reopened at a meeting; ``outcome`` stays empty until someone reviews it."""

    __tablename__ = "commitment_reviews"
    __table_args__ = (
        UniqueConstraint("commitment_id", "meeting_id"),
        CheckConstraint(_one_of("outcome", [o.value for o in Outcome]), name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    reopened_at: Mapped[datetime]
    old_due: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(20))
    new_due: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(500))
    reviewer_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reviewer_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reviewed_at: Mapped[datetime | None]


class MeetingEvent(Base):
    """The meeting's log: every change, numbered, in the transaction that made it."""

    __tablename__ = "meeting_events"
    __table_args__ = (
        UniqueConstraint("meeting_id", "seq"),
        UniqueConstraint("meeting_id", "client_msg_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    actor: Mapped[str] = mapped_column(String(40))
    # The command that made it: a resent message id is a replay only for the same command.
    action: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    client_msg_id: Mapped[str | None] = mapped_column(String(64))


class StaffSession(Base):
    """A signed-in browser. Only a hash of its cookie is stored; logout revokes it here."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ParticipantToken(Base):
    """What a phone keeps after joining: it stands for the person, never for more."""

    __tablename__ = "participant_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class GroupStaff(Base):
    """Which groups a facilitator looks after (backbone staff see every group)."""

    __tablename__ = "group_staff"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)


class CalendarFeed(Base):
    """A secret, revocable calendar link: one person's or one group's open commitments."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (CheckConstraint("kind IN ('person', 'group')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int]
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


LINK_KINDS = ("setup", "invite", "reset")


class StaffLink(Base):
    """A one-time link: the first run's set-up, a staff invitation, a password reset. Only a
    hash of its token is stored; it works once and until it expires."""

    __tablename__ = "staff_links"
    __table_args__ = (CheckConstraint(_one_of("kind", LINK_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    # Empty for the set-up link, which comes before any network.
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One administrative change: who, when, what it was before and after. Only ever added."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_network_at", "network_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    # Empty when the change came from the command line or the set-up page.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
