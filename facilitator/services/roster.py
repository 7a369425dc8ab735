"""The group's roster in the room: what a joining phone is offered, who came without a phone,
and a guest the facilitator puts on the roster.

A join code reaches the roster of its own group (organizations first, then a chosen one's
people) and, only once two characters are typed, a few of the network's other people whose name
holds them: a code never lists the whole network. Archived and merged people and organizations
are never offered. Names only: nothing says who holds a name or how to reach anyone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    Group,
    GroupMember,
    Meeting,
    MeetingEvent,
    Organization,
    ParticipantToken,
    Person,
)
from facilitator.errors import NotFound
from facilitator.flow import Action
from facilitator.names import match_key
from facilitator.services import audit
from facilitator.services.actors import Actor
from facilitator.services.commands import Change, Context, Event, Result, run
from facilitator.services.views import people_views, person_view
from facilitator.validate import positive_id

JSON = dict[str, Any]

#: The roster's organizations offered at once (a group's roster is tens of people, not more).
MAX_ORGANIZATIONS = 60
#: The roster people offered at once, for an organization or for what was typed.
MAX_PEOPLE = 50
#: The network's other people offered for what was typed.
MAX_OTHERS = 10
#: The rest of the network is searched only once this many characters of a name are typed.
NETWORK_AFTER = 2
#: A merge of a merge of …: followed this far, never round a loop.
MAX_MERGE_HOPS = 20


def _live_person() -> ColumnElement[bool]:
    return and_(Person.archived_at.is_(None), Person.merged_into_id.is_(None))


def _live_organization() -> ColumnElement[bool]:
    return and_(Organization.archived_at.is_(None), Organization.merged_into_id.is_(None))


async def final_person(session: AsyncSession, person: Person) -> Person:
    """The person a merged person now lives on as (the end of the merge chain)."""
    return await session.run_sync(final_person_on, person)


def final_person_on(session: Session, person: Person) -> Person:
    """``final_person`` in a synchronous session (the group-commit writer's)."""
    seen = {person.id}
    for _ in range(MAX_MERGE_HOPS):
        if person.merged_into_id is None or person.merged_into_id in seen:
            return person
        target = session.get(Person, person.merged_into_id)
        if target is None:
            return person
        seen.add(target.id)
        person = target
    return person


def final_organization_on(session: Session, org: Organization) -> Organization:
    """The organization a merged one now lives on as."""
    seen = {org.id}
    for _ in range(MAX_MERGE_HOPS):
        if org.merged_into_id is None or org.merged_into_id in seen:
            return org
        target = session.get(Organization, org.merged_into_id)
        if target is None:
            return org
        seen.add(target.id)
        org = target
    return org


def _entry(name: str, organization: str) -> JSON:
    return {"name": name, "organization": organization}


async def join_listing(
    db: Database, meeting_id: int, organization_id: int | None, typed: str
) -> JSON:
    """What a phone joining this meeting is offered.

    With nothing asked: the organizations of the group's roster, each with how many of its
    people are on it. With ``organization_id``: that organization's roster people, narrowed by
    ``typed``. With only ``typed``: the roster people whose name holds it and, from two
    characters on, a few of the network's other people whose name holds it (``others``).
    """
    key = match_key(typed)[:120]
    answer: JSON = {"organizations": [], "people": [], "others": []}
    async with db.read() as session:
        found = (
            await session.execute(
                select(Group.network_id, Group.id)
                .join(Meeting, Meeting.group_id == Group.id)
                .where(Meeting.id == meeting_id)
            )
        ).first()
        if found is None:
            return answer
        network_id, group_id = found
        on_roster = select(GroupMember.person_id).where(GroupMember.group_id == group_id)
        # People without an organization cannot be picked: joining names one.
        known = (
            select(Person.name, Organization.name)
            .join(Organization, Organization.id == Person.organization_id)
            .where(Person.network_id == network_id, _live_person(), _live_organization())
        )
        if organization_id is None and not key:
            rows = await session.execute(
                select(Organization.id, Organization.name, func.count(Person.id))
                .join(Person, Person.organization_id == Organization.id)
                .where(
                    Person.network_id == network_id,
                    Person.id.in_(on_roster),
                    _live_person(),
                    _live_organization(),
                )
                .group_by(Organization.id, Organization.name)
                .order_by(Organization.name)
                .limit(MAX_ORGANIZATIONS)
            )
            answer["organizations"] = [
                {"id": oid, "name": name, "people": count} for oid, name, count in rows
            ]
            return answer
        mine = known.where(Person.id.in_(on_roster))
        if organization_id is not None:
            mine = mine.where(Organization.id == organization_id)
        if key:
            mine = mine.where(Person.name_key.contains(key, autoescape=True))
        picked = await session.execute(
            mine.order_by(Organization.name, Person.name).limit(MAX_PEOPLE)
        )
        answer["people"] = [_entry(name, org) for name, org in picked]
        if organization_id is None and len(key) >= NETWORK_AFTER:
            starts = Person.name_key.startswith(key, autoescape=True)
            others = await session.execute(
                known.where(
                    Person.id.not_in(on_roster), Person.name_key.contains(key, autoescape=True)
                )
                .order_by(case((starts, 0), else_=1), Person.name)
                .limit(MAX_OTHERS)
            )
            answer["others"] = [_entry(name, org) for name, org in others]
    return answer


async def _person_here(ctx: Context, person_id: int) -> Person:
    """A person of the meeting's network (a merged one stands for whom they were merged into)."""
    person = await ctx.session.get(Person, positive_id(person_id, "person"))
    flow.check_person_here(None if person is None else person.network_id, ctx.network.id)
    assert person is not None
    return await final_person(ctx.session, person)


async def attendance_count(ctx: Context) -> int:
    count = await ctx.session.scalar(
        select(func.count()).where(Attendance.meeting_id == ctx.meeting.id)
    )
    return int(count or 0)


async def mark_present(
    db: Database, meeting_id: int, actor: Actor, person_id: int, *, client_msg_id: str | None = None
) -> Result:
    """The facilitator records that a person came without a phone: attendance like a join's,
    with who marked it; every screen counts them at once."""
    positive_id(person_id, "person")

    async def body(ctx: Context) -> Change:
        person = await _person_here(ctx, person_id)
        here = await ctx.session.scalar(
            select(Attendance.id).where(
                Attendance.meeting_id == ctx.meeting.id, Attendance.person_id == person.id
            )
        )
        flow.check_mark_present(here is not None, person.name)
        ctx.session.add(
            Attendance(
                meeting_id=ctx.meeting.id,
                person_id=person.id,
                joined_at=ctx.now,
                marked_by_user_id=ctx.actor.user_id,
            )
        )
        await ctx.session.flush()
        payload = {
            "person": await person_view(ctx.session, person.id),
            "attendance": await attendance_count(ctx),
            "no_phone": True,
        }
        return Change("marked_present", payload)

    return await run(db, meeting_id, actor, Action.MARK_PRESENT, body, client_msg_id=client_msg_id)


async def add_to_roster(
    db: Database, meeting_id: int, actor: Actor, person_id: int, *, client_msg_id: str | None = None
) -> Result:
    """Put a guest (someone who came but was not expected) on the meeting's group roster, with
    its audit entry, in the command's one transaction."""
    positive_id(person_id, "person")

    async def body(ctx: Context) -> Change:
        person = await _person_here(ctx, person_id)
        group_id = ctx.meeting.group_id
        there = await ctx.session.scalar(
            select(GroupMember.id).where(
                GroupMember.group_id == group_id, GroupMember.person_id == person.id
            )
        )
        flow.check_roster_add(there is not None, person.name)
        ctx.session.add(GroupMember(group_id=group_id, person_id=person.id, added_at=ctx.now))
        audit.record(
            ctx.session, ctx.network.id, ctx.actor.user_id, "group.member_add", "group", group_id,
            after={"member": person.name, "person_id": person.id}, at=ctx.now,
        )  # fmt: skip
        await ctx.session.flush()
        view = await person_view(ctx.session, person.id)
        return Change("roster_added", {"person": view, "group_id": group_id})

    return await run(db, meeting_id, actor, Action.ADD_TO_ROSTER, body, client_msg_id=client_msg_id)


async def attendance_panel(db: Database, meeting_id: int) -> JSON:
    """For staff only: the group's roster (each member present or not), who came though not on
    it (guests), and who was marked present and holds no phone."""
    async with db.read() as session:
        group_id = await session.scalar(select(Meeting.group_id).where(Meeting.id == meeting_id))
        if group_id is None:
            raise NotFound("meeting.not_found")
        members = list(
            await session.scalars(
                select(Person.id)
                .join(GroupMember, GroupMember.person_id == Person.id)
                .outerjoin(Organization, Organization.id == Person.organization_id)
                .where(GroupMember.group_id == group_id, _live_person())
                .order_by(Organization.name, Person.name)
            )
        )
        present = dict(
            (
                await session.execute(
                    select(Attendance.person_id, Attendance.marked_by_user_id).where(
                        Attendance.meeting_id == meeting_id
                    )
                )
            ).all()
        )
        with_phone = set(
            await session.scalars(
                select(ParticipantToken.person_id).where(
                    ParticipantToken.person_id.in_(list(present)),
                    ParticipantToken.revoked_at.is_(None),
                )
            )
        )
        views = await people_views(session, members)
    expected = set(members)
    return {
        "roster": [{**views[pid], "present": pid in present} for pid in members],
        "guests": sorted(pid for pid in present if pid not in expected),
        "no_phone": sorted(
            pid for pid, marked in present.items() if marked is not None and pid not in with_phone
        ),
    }


async def marked_event(session: AsyncSession, meeting_id: int, person_id: int) -> Event | None:
    """The event that marked this person present, if the facilitator did (a phone that joins
    later as them gets it back, as a join twice gets its first join)."""
    return await first_event_naming(
        session, meeting_id, person_id, MeetingEvent.type == "marked_present"
    )


async def first_event_naming(
    session: AsyncSession, meeting_id: int, person_id: int, *which: ColumnElement[bool]
) -> Event | None:
    """The first of this meeting's events of the kind ``which`` selects whose payload names
    this person (a few per meeting: staff let people in by hand)."""
    rows = await session.scalars(
        select(MeetingEvent)
        .where(MeetingEvent.meeting_id == meeting_id, *which)
        .order_by(MeetingEvent.seq)
    )
    for row in rows:
        if row.payload.get("person", {}).get("id") == person_id:
            return Event.of(row)
    return None
