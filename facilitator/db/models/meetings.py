"""A meeting and what happens in it: its agenda, who came, the opener's answers and actions, and
the numbered log of every change."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.db.models.base import Base, one_of
from facilitator.flow import Stage

ITEM_KINDS = ("decision", "discussion", "update")


#: A meeting under way: started and not closed (a started meeting moved back to the lobby too).
LIVE_MEETING = "started_at IS NOT NULL AND stage <> 'closed'"
LIVE_INDEX = "uq_meetings_one_live_per_group"


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint(one_of("stage", [s.value for s in Stage]), name="stage"),
        # One meeting under way per group, held by the database itself: two starts racing in
        # two processes would otherwise both pass the flow's check and reopen the same
        # commitments twice.
        Index(
            LIVE_INDEX,
            "group_id",
            unique=True,
            sqlite_where=text(LIVE_MEETING),
            postgresql_where=text(LIVE_MEETING),
        ),
    )

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
        CheckConstraint(one_of("kind", ITEM_KINDS), name="kind"),
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
