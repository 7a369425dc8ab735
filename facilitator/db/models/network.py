"""The network and who is in it: its values, organizations, people, groups and their rosters,
strategies, and the opener's blocker list."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from facilitator.db.models.base import Base, one_of
from facilitator.names import look_key as look_alike_key
from facilitator.names import match_key

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
LANGUAGES = ("he", "en")

#: An organization or person not merged into another (an archived one still counts: typing its
#: name finds it, never makes a second one).
NOT_MERGED = "merged_into_id IS NULL"
ORGANIZATION_KEY_INDEX = "uq_organizations_one_per_name_key"
PERSON_KEY_INDEX = "uq_people_one_per_name_key"


class Network(Base):
    __tablename__ = "networks"
    __table_args__ = (CheckConstraint(one_of("default_language", LANGUAGES), name="language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    default_language: Mapped[str] = mapped_column(String(2), default="he")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jerusalem")
    created_at: Mapped[datetime]
    #: How long a new meeting is planned for, in minutes.
    meeting_minutes: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    #: The address shown to phones (QR, join link) when the server's own setting leaves it open.
    public_url: Mapped[str | None] = mapped_column(String(300))
    #: How many days before a commitment is due its owner gets a reminder by mail.
    reminder_days: Mapped[int] = mapped_column(Integer, default=3, server_default="3")


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
        CheckConstraint(one_of("sector", SECTORS), name="sector"),
        Index("ix_organizations_network_name_key", "network_id", "name_key"),
        # One organization per spelling key, held by the database itself: two phones naming a
        # new one in two spellings ("מתנ״ס", 'מתנ"ס') in two processes make one, not two.
        Index(
            ORGANIZATION_KEY_INDEX,
            "network_id",
            "name_key",
            unique=True,
            sqlite_where=text(NOT_MERGED),
            postgresql_where=text(NOT_MERGED),
        ),
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
    __table_args__ = (
        Index("ix_people_network_name_key", "network_id", "name_key"),
        Index("ix_people_network_look_key", "network_id", "look_key"),
        # One person per name key in an organization (its name's spellings are one person, as
        # joining, adding by hand and the import all match them): two phones of one new person
        # joining in two processes at once make one person, not two. The same name in two
        # organizations is two people.
        Index(
            PERSON_KEY_INDEX,
            "network_id",
            "organization_id",
            "name_key",
            unique=True,
            sqlite_where=text(NOT_MERGED),
            postgresql_where=text(NOT_MERGED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # ``names.match_key(name)``: how a typed spelling finds this person.
    name_key: Mapped[str] = mapped_column(String(120))
    # ``names.look_key(name)``: what a name that only looks like this one shares with it.
    look_key: Mapped[str] = mapped_column(String(120), server_default="")
    created_at: Mapped[datetime]
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    #: The language of their mails and page; the network's when unset.
    language: Mapped[str | None] = mapped_column(String(2))
    archived_at: Mapped[datetime | None]
    #: Set when merged into another person: every record moved there; kept for old links.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    @validates("name")
    def _keep_key(self, _key: str, name: str) -> str:
        self.name_key = match_key(name)[:120]
        self.look_key = look_alike_key(name)[:120]
        return name


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (CheckConstraint(one_of("kind", GROUP_KINDS), name="kind"),)

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
