"""Staff and their access: users, sessions, the groups they look after, one-time links, phones'
tokens, and the audit log of administrative changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.db.models.base import Base, one_of
from facilitator.flow import Role

STAFF_ROLES = (Role.BACKBONE.value, Role.FACILITATOR.value)
LINK_KINDS = ("setup", "invite", "reset")


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(one_of("role", STAFF_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


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


class PersonLink(Base):
    """A person's own page (``/me/{token}``): a secret link, stored hashed, revocable; several
    may be live (a phone asks for one, staff send one), and rotating ends them all."""

    __tablename__ = "person_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class JoinRequest(Base):
    """A phone without a token asking to be a person the network knew before (a roster person
    no phone holds): it becomes them only when the facilitator accepts. ``token_hash`` is the
    phone's secret, which becomes its participant token on acceptance."""

    __tablename__ = "join_requests"
    __table_args__ = (Index("ix_join_requests_meeting_open", "meeting_id", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Two digits the phone shows, for the facilitator to tell two phones asking for one name apart.
    number: Mapped[int]
    created_at: Mapped[datetime]
    #: When its phone last asked (every few seconds while it waits): one that stopped asking no
    #: longer counts toward the meeting's bound.
    asked_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    accepted: Mapped[bool | None] = mapped_column(Boolean)


class GroupStaff(Base):
    """Which groups a facilitator looks after (backbone staff see every group)."""

    __tablename__ = "group_staff"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)


class StaffLink(Base):
    """A one-time link: the first run's set-up, a staff invitation, a password reset. Only a
    hash of its token is stored; it works once and until it expires."""

    __tablename__ = "staff_links"
    __table_args__ = (CheckConstraint(one_of("kind", LINK_KINDS), name="kind"),)

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


class ServerSecret(Base):
    """A random key every process of this installation shares (made by the first to ask): it
    signs what one process hands a browser and another may read back."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
