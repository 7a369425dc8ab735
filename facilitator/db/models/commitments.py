"""Commitments, their reviews at later meetings, and the calendar feeds that show them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.db.models.base import Base, one_of
from facilitator.flow import CommitmentStatus, Outcome, Report


class Commitment(Base):
    """Belongs to the group: stays open across meetings until done or dropped."""

    __tablename__ = "commitments"
    __table_args__ = (
        CheckConstraint(one_of("status", [s.value for s in CommitmentStatus]), name="status"),
        # The backbone's reports read a group's commitments by status and due date, the owner
        # for the breakdown by organization, and the stored facts they sum, from this index alone.
        Index(
            "ix_commitments_group_status_due_facts",
            "group_id",
            "status",
            "due_on",
            "owner_person_id",
            "slips",
            "done_on_time",
        ),
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
    # Facts its reviews decide, kept by the review that decides them (``services.backbone_facts``)
    # so the backbone's figures are plain sums: how often it slipped, and whether it was done on
    # time (the README's definition).
    slips: Mapped[int] = mapped_column(default=0, server_default="0")
    done_on_time: Mapped[bool] = mapped_column(default=False, server_default=false())


class CommitmentReview(Base):
    """A commitment reopened at a meeting; ``outcome`` stays empty until someone reviews it."""

    __tablename__ = "commitment_reviews"
    __table_args__ = (
        UniqueConstraint("commitment_id", "meeting_id"),
        CheckConstraint(one_of("outcome", [o.value for o in Outcome]), name="outcome"),
        # A commitment's slips and its first "done" (backbone figures), and its reviews in
        # the order they were reopened (was it heard late before it was done).
        Index(
            "ix_commitment_reviews_commitment_outcome", "commitment_id", "outcome", "reopened_at"
        ),
        Index(
            "ix_commitment_reviews_commitment_reopened",
            "commitment_id",
            "reopened_at",
            "meeting_id",
        ),
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


class CommitmentReport(Base):
    """An owner's word on their commitment between meetings (``Report``), with a short note;
    the latest is what the next review starts from."""

    __tablename__ = "commitment_reports"
    __table_args__ = (
        CheckConstraint(one_of("outcome", [r.value for r in Report]), name="outcome"),
        Index("ix_commitment_reports_commitment_created", "commitment_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


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
