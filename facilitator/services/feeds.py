"""Calendar feeds: a secret link per person or group that a calendar app can subscribe to.
Only the link's hash is stored; revoking it stops it at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import (
    CalendarFeed,
    Commitment,
    Group,
    Network,
    Organization,
    Person,
    StaffUser,
)
from facilitator.errors import Forbidden, Invalid, NotFound
from facilitator.flow import CommitmentStatus, Role
from facilitator.localtime import local_day
from facilitator.services.access import StaffIdentity, digest, new_token
from facilitator.services.scope import scope_in
from facilitator.validate import positive_id

KINDS = ("person", "group")


@dataclass(frozen=True)
class FeedEvent:
    commitment_id: int
    due: date
    text: str
    owner: str
    organization: str | None
    group: str


async def create_feed(
    db: Database, staff: StaffIdentity, kind: str, target_id: int, groups: list[int]
) -> str:
    """A new secret link; returns the token (shown once, never stored in the clear). A person's
    feed spans every group, so only backbone staff make those; a facilitator makes feeds for
    the groups they look after."""
    if kind not in KINDS:
        raise Invalid("feed.bad_kind")
    if kind == "person" and staff.role is not Role.BACKBONE:
        raise Forbidden("feed.person_backbone_only")
    target = positive_id(target_id, kind)
    network_id, user_id = staff.network_id, staff.user_id
    token = new_token()
    async with db.write() as session:
        if kind == "group":
            group = await session.get(Group, target)
            if group is None or group.network_id != network_id or target not in groups:
                raise NotFound("group.not_found")
        else:
            person = await session.get(Person, target)
            if person is None or person.network_id != network_id:
                raise NotFound("person.not_found")
        session.add(
            CalendarFeed(
                network_id=network_id,
                token_hash=digest(token),
                kind=kind,
                target_id=target,
                created_by=user_id,
                created_at=db.now(),
            )
        )
    return token


async def revoke_feed(db: Database, staff: StaffIdentity, feed_id: int) -> None:
    """Backbone staff revoke any link of the network; a facilitator the links they made."""
    async with db.write() as session:
        feed = await session.get(CalendarFeed, positive_id(feed_id, "feed"))
        if feed is None or feed.network_id != staff.network_id or not _mine(staff, feed):
            raise NotFound("feed.not_found")
        if feed.revoked_at is None:
            feed.revoked_at = db.now()


def _mine(staff: StaffIdentity, feed: CalendarFeed) -> bool:
    return staff.role is Role.BACKBONE or feed.created_by == staff.user_id


async def list_feeds(db: Database, staff: StaffIdentity) -> list[dict[str, Any]]:
    network_id = staff.network_id
    async with db.read() as session:
        feeds = [
            f
            for f in await session.scalars(
                select(CalendarFeed)
                .where(CalendarFeed.network_id == network_id)
                .order_by(CalendarFeed.id.desc())
            )
            if _mine(staff, f)
        ]
        people = {
            p.id: p.name
            for p in await session.scalars(select(Person).where(Person.network_id == network_id))
        }
        groups = {
            g.id: g.name
            for g in await session.scalars(select(Group).where(Group.network_id == network_id))
        }
        timezone = (await session.get_one(Network, network_id)).timezone
    return [
        {
            "id": f.id,
            "kind": f.kind,
            "target": (people if f.kind == "person" else groups).get(f.target_id, "—"),
            "created_at": local_day(f.created_at, timezone).isoformat(),
            "revoked": f.revoked_at is not None,
        }
        for f in feeds
    ]


async def feed_events(db: Database, token: str) -> tuple[str, list[FeedEvent]] | None:
    """The feed's name and its open commitments, or ``None`` for an unknown or revoked link."""
    if not token or len(token) > 200:
        return None
    async with db.read() as session:
        feed = await session.scalar(
            select(CalendarFeed).where(CalendarFeed.token_hash == digest(token))
        )
        if feed is None or feed.revoked_at is not None:
            return None
        # A link shows only what its maker may still see: a deactivated maker's links stop, a
        # facilitator's stop showing a group they no longer look after.
        maker = await session.get(StaffUser, feed.created_by)
        if maker is None or not maker.active or maker.network_id != feed.network_id:
            return None
        reach = await scope_in(session, feed.network_id, maker.id, Role(maker.role))
        if feed.kind == "person":
            which = Commitment.owner_person_id == feed.target_id
            if reach.groups is not None:
                which = which & Commitment.group_id.in_(sorted(reach.groups))
            name = await session.scalar(select(Person.name).where(Person.id == feed.target_id))
        else:
            if not reach.sees(feed.target_id):
                return None
            which = Commitment.group_id == feed.target_id
            name = await session.scalar(select(Group.name).where(Group.id == feed.target_id))
        return name or "", await _open_commitments(session, feed.network_id, which)


async def person_events(db: Database, person_id: int) -> tuple[str, list[FeedEvent]]:
    """A person's own open commitments in every group of their network (a phone's download,
    authorised by the phone's token before this is called)."""
    async with db.read() as session:
        person = await session.get_one(Person, person_id)
        which = Commitment.owner_person_id == person.id
        return person.name, await _open_commitments(session, person.network_id, which)


async def made_at(db: Database, person_id: int, meeting_id: int) -> list[FeedEvent]:
    """A person's open commitments made at one meeting (the record mail's calendar file)."""
    async with db.read() as session:
        person = await session.get_one(Person, person_id)
        which = and_(
            Commitment.owner_person_id == person.id, Commitment.origin_meeting_id == meeting_id
        )
        return await _open_commitments(session, person.network_id, which)


async def _open_commitments(
    session: AsyncSession, network_id: int, which: ColumnElement[bool]
) -> list[FeedEvent]:
    rows = (
        await session.execute(
            select(Commitment, Person, Organization, Group)
            .join(Person, Person.id == Commitment.owner_person_id)
            .outerjoin(Organization, Organization.id == Person.organization_id)
            .join(Group, Group.id == Commitment.group_id)
            .where(
                Commitment.status == CommitmentStatus.OPEN.value,
                Group.network_id == network_id,
                which,
            )
            .order_by(Commitment.due_on, Commitment.id)
        )
    ).all()
    return [
        FeedEvent(c.id, c.due_on, c.text, p.name, o.name if o else None, g.name)
        for c, p, o, g in rows
    ]
