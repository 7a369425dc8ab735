"""Mail: the outbox every message goes through, and who asked for no more of a kind."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.db.models.base import Base, one_of

#: What is sent. ``record``: the meeting's record at its close; ``reminder``: N days before a
#: commitment's due date; ``due``: on the day; ``overdue``: the day after; ``digest``: the
#: backbone's weekly summary; ``link``: a person's page link, sent by staff.
MAIL_KINDS = ("record", "reminder", "due", "overdue", "digest", "link")
#: The kinds a person can turn off (a link asked for is always sent).
OPTIONAL_KINDS = ("record", "reminder", "due", "overdue", "digest")
#: ``bounced``: our server took it, and the receiving side sent it back (a bounce report).
MAIL_STATES = ("pending", "sent", "failed", "skipped", "bounced")


class MailOut(Base):
    """One mail to send: written in the transaction that caused it, sent after it committed.

    ``(kind, about, day)`` is unique, so however often or concurrently the reminders run, a
    mail is written once: ``about`` names what it is about (``commitment:12``,
    ``meeting:5/person:7``, ``user:3``) and ``day`` the day it is for.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        UniqueConstraint("kind", "about", "day"),
        CheckConstraint(one_of("kind", MAIL_KINDS), name="kind"),
        CheckConstraint(one_of("state", MAIL_STATES), name="state"),
        CheckConstraint("(person_id IS NULL) <> (staff_user_id IS NULL)", name="one_recipient"),
        # The sender's query: what is pending and due to be tried.
        Index("ix_mail_outbox_state_next_try", "state", "next_try_at"),
        Index("ix_mail_outbox_network_created", "network_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    kind: Mapped[str] = mapped_column(String(10))
    about: Mapped[str] = mapped_column(String(60))
    day: Mapped[date] = mapped_column(Date)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: The group it is about, when one (the backbone counts mails per group).
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    commitment_id: Mapped[int | None] = mapped_column(ForeignKey("commitments.id"))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime]
    #: A sender holds the row until then; another may take it over after (a crashed sender).
    claimed_until: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(String(32))
    #: Where it went (or was to go), filled when it is sent or fails.
    address: Mapped[str | None] = mapped_column(String(254))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: A random word in the mail's Message-ID and return address: a bounce names the row and
    #: proves it saw the mail (no one bounces another's mail by guessing its number).
    tag: Mapped[str | None] = mapped_column(String(16))
    bounced_at: Mapped[datetime | None]


class MailOptOut(Base):
    """A recipient asked for no more mails of one kind. ``recipient`` is ``person:7`` or
    ``user:3`` (one column, so the pair is unique without NULLs slipping through)."""

    __tablename__ = "mail_opt_outs"
    __table_args__ = (
        UniqueConstraint("recipient", "kind"),
        CheckConstraint(one_of("kind", OPTIONAL_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]


class UnsubscribeLink(Base):
    """The secret in a mail's unsubscribe link (stored hashed): whose, and which kind it ends."""

    __tablename__ = "unsubscribe_links"
    __table_args__ = (CheckConstraint(one_of("kind", OPTIONAL_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    recipient: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
