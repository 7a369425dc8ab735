"""The one path every meeting command takes.

Lock the meeting's sequence, replay a resent client message id, check role, stage and the
sender's place in the meeting, apply the change and append the numbered event, all in one
transaction. An error anywhere rolls everything back, the sequence number included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    Group,
    Meeting,
    MeetingEvent,
    Network,
    Person,
    StaffUser,
)
from facilitator.errors import Forbidden, NotFound
from facilitator.flow import Action, Role, Stage
from facilitator.localtime import local_day
from facilitator.services.actors import Actor
from facilitator.services.scope import scope_in
from facilitator.validate import client_msg_id as check_msg_id


@dataclass(frozen=True)
class Event:
    """One entry of a meeting's log, as clients receive it."""

    meeting_id: int
    seq: int
    type: str
    payload: dict[str, Any]
    actor: str
    at: datetime

    @classmethod
    def of(cls, row: MeetingEvent) -> Event:
        return cls(row.meeting_id, row.seq, row.type, row.payload, row.actor, row.created_at)


@dataclass(frozen=True)
class Result:
    event: Event
    #: True when the client message id was seen before: nothing changed this time.
    replayed: bool = False


@dataclass
class Change:
    """What a command did: the event to log. ``actor`` overrides the sender's key (a new joiner)."""

    type: str
    payload: dict[str, Any]
    actor: str | None = None


@dataclass
class Context:
    """What a command's body gets: the open transaction and the facts already checked."""

    session: AsyncSession
    db: Database
    meeting: Meeting
    network: Network
    actor: Actor
    now: datetime
    today: date
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def stage(self) -> Stage:
        return Stage(self.meeting.stage)

    @property
    def day(self) -> date:
        """The day the meeting happens: the day it started, else the day it is scheduled."""
        return meeting_day(self.meeting, self.network)


Body = Callable[[Context], Awaitable[Change]]


class _Replay(Exception):
    def __init__(self, result: Result) -> None:
        self.result = result


def local_today(network: Network, now: datetime) -> date:
    """The date it is now where the network meets."""
    return local_day(now, network.timezone)


def meeting_day(meeting: Meeting, network: Network) -> date:
    """Due dates are judged against the day the meeting really runs, not the one planned."""
    if meeting.started_at is not None:
        return local_today(network, meeting.started_at)
    return meeting.scheduled_on


ReplayCheck = Callable[[MeetingEvent], bool]


async def run(
    db: Database,
    meeting_id: int,
    actor: Actor,
    action: Action,
    body: Body,
    *,
    client_msg_id: str | None = None,
    same_request: ReplayCheck | None = None,
) -> Result:
    """Run one meeting command in one transaction and return its event.

    ``same_request`` tells, for a sender with no identity yet (a phone joining), whether a stored
    event answers this very request; everyone else is matched by who they are.
    """
    msg_id = check_msg_id(client_msg_id)
    flow.authorize(actor.role, action)
    try:
        async with db.write() as session:
            # Taking the next number first also locks the meeting row on engines with row locks,
            # so commands on one meeting never interleave.
            seq = (
                await session.execute(
                    update(Meeting)
                    .where(Meeting.id == meeting_id)
                    .values(last_seq=Meeting.last_seq + 1)
                    .returning(Meeting.last_seq)
                )
            ).scalar_one_or_none()
            if seq is None:
                raise NotFound("meeting.not_found")
            if msg_id is not None:
                await _raise_replay(session, meeting_id, msg_id, actor, action, same_request)
            meeting = await session.get_one(Meeting, meeting_id)
            network = await network_of_group(session, meeting.group_id)
            await _check_sender(session, network, meeting, actor, action)
            flow.check_stage(Stage(meeting.stage), action)
            now = db.now()
            context = Context(session, db, meeting, network, actor, now, local_today(network, now))
            change = await body(context)
            row = MeetingEvent(
                meeting_id=meeting_id,
                seq=seq,
                type=change.type,
                payload=change.payload,
                actor=change.actor or actor.key,
                action=action.value,
                created_at=now,
                client_msg_id=msg_id,
            )
            session.add(row)
            await session.flush()
            return Result(Event.of(row))
    except _Replay as replay:
        return replay.result


async def _raise_replay(
    session: AsyncSession,
    meeting_id: int,
    msg_id: str,
    actor: Actor,
    action: Action,
    same_request: ReplayCheck | None,
) -> None:
    row = (
        await session.execute(
            select(MeetingEvent).where(
                MeetingEvent.meeting_id == meeting_id, MeetingEvent.client_msg_id == msg_id
            )
        )
    ).scalar_one_or_none()
    if row is not None:
        raise _Replay(_replay_of(row, actor, action, same_request))


def _replay_of(
    row: MeetingEvent, actor: Actor, action: Action, same_request: ReplayCheck | None
) -> Result:
    """The stored answer to a resent message id, if the same sender sent the same command."""
    if row.action != action.value:
        raise Forbidden("input.msg_id_reused")
    if actor.user_id is None and actor.person_id is None and same_request is not None:
        mine = same_request(row)
    else:
        mine = row.actor == actor.key
    if not mine:
        raise Forbidden("input.msg_id_reused")
    return Result(Event.of(row), replayed=True)


@dataclass
class BatchContext:
    """What a batched command's body gets: the writer's connection and the facts checked."""

    connection: Connection
    memo: dict[Any, Any]
    meeting_id: int
    seq: int
    network_id: int
    actor: Actor
    now: datetime


BatchBody = Callable[[BatchContext], Change]

# Built once: a statement object reused keeps its cache key, so each run skips straight to the
# compiled form (building them per command cost more than executing them).
_EVENTS = cast(Table, MeetingEvent.__table__)
_NUMBER = (
    update(cast(Table, Meeting.__table__))
    .where(Meeting.id == bindparam("m"))
    .values(last_seq=Meeting.last_seq + 1)
    .returning(Meeting.last_seq, Meeting.stage, Meeting.group_id)
)
_STORED = select(_EVENTS).where(
    _EVENTS.c.meeting_id == bindparam("m"), _EVENTS.c.client_msg_id == bindparam("msg")
)
_PLACE = select(
    Person.network_id,
    select(Group.network_id).where(Group.id == bindparam("g")).scalar_subquery(),
    select(Attendance.id)
    .where(Attendance.meeting_id == bindparam("m"), Attendance.person_id == bindparam("p"))
    .exists(),
).where(Person.id == bindparam("p"))
_LOG = insert(_EVENTS)


async def run_batched(
    db: Database,
    meeting_id: int,
    actor: Actor,
    action: Action,
    body: BatchBody,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """``run`` for the commands a whole hall sends at once (a participant's opener answer).

    The same checks in the same order, as a few Core statements in the group-commit writer's
    next batch: many answers share one transaction and one fsync, each in its own savepoint,
    and the result comes back only after the commit.
    """
    msg_id = check_msg_id(client_msg_id)
    flow.authorize(actor.role, action)
    person_id = actor.person_id
    if actor.role is not Role.PARTICIPANT or person_id is None:
        raise Forbidden("role.forbidden", role=actor.role.value, action=action.value)

    def work(connection: Connection, memo: dict[Any, Any]) -> Result:
        numbered = connection.execute(_NUMBER, {"m": meeting_id}).first()
        if numbered is None:
            raise NotFound("meeting.not_found")
        seq, stage, group_id = numbered
        if msg_id is not None:
            stored = connection.execute(_STORED, {"m": meeting_id, "msg": msg_id}).first()
            if stored is not None:
                raise _Replay(_replay_of(MeetingEvent(**stored._mapping), actor, action, None))
        place = connection.execute(_PLACE, {"m": meeting_id, "p": person_id, "g": group_id}).first()
        if place is None or place[0] != place[1]:
            raise Forbidden("participant.unknown")
        if not place[2]:
            raise Forbidden("participant.not_joined")
        flow.check_stage(Stage(stage), action)
        now = db.now()
        change = body(BatchContext(connection, memo, meeting_id, seq, place[1], actor, now))
        event = Event(meeting_id, seq, change.type, change.payload, change.actor or actor.key, now)
        connection.execute(
            _LOG,
            {
                "meeting_id": meeting_id,
                "seq": seq,
                "type": event.type,
                "payload": event.payload,
                "actor": event.actor,
                "action": action.value,
                "created_at": now,
                "client_msg_id": msg_id,
            },
        )
        return Result(event)

    try:
        return await db.group_commit.submit(work, order=meeting_id)
    except _Replay as replay:
        return replay.result


async def network_of_group(session: AsyncSession, group_id: int) -> Network:
    network = (
        await session.execute(
            select(Network).join(Group, Group.network_id == Network.id).where(Group.id == group_id)
        )
    ).scalar_one()
    return network


async def _check_sender(
    session: AsyncSession, network: Network, meeting: Meeting, actor: Actor, action: Action
) -> None:
    """Staff of this network; participants who are people of it and (but to join) present."""
    if actor.is_staff:
        await check_staff(session, actor, network.id, meeting.group_id)
        return
    if actor.role is Role.PARTICIPANT and actor.person_id is not None:
        person = await session.get(Person, actor.person_id)
        if person is None or person.network_id != network.id:
            raise Forbidden("participant.unknown")
        if action is not Action.JOIN:
            present = await session.scalar(
                select(Attendance.id).where(
                    Attendance.meeting_id == meeting.id, Attendance.person_id == actor.person_id
                )
            )
            if present is None:
                raise Forbidden("participant.not_joined")
    elif action is not Action.JOIN:
        raise Forbidden("role.forbidden", role=actor.role.value, action=action.value)


async def check_staff(session: AsyncSession, actor: Actor, network_id: int, group_id: int) -> None:
    """The actor is an active staff user of this network, with the role it claims, and the
    group is within their reach (``services.scope``: a facilitator's own groups only)."""
    user = await session.get(StaffUser, actor.user_id) if actor.user_id else None
    if user is None or not user.active or user.network_id != network_id:
        raise Forbidden("staff.not_in_network")
    if user.role != actor.role.value:
        raise Forbidden("staff.role_changed")
    reach = await scope_in(session, network_id, user.id, Role(user.role))
    if not reach.sees(group_id):
        raise Forbidden("scope.not_yours")


async def append_event(
    session: AsyncSession,
    meeting: Meeting,
    change: Change,
    action: Action,
    now: datetime,
    client_msg_id: str | None = None,
) -> Event:
    """Log an event outside ``run`` (a new meeting's first event)."""
    meeting.last_seq += 1
    row = MeetingEvent(
        meeting_id=meeting.id,
        seq=meeting.last_seq,
        type=change.type,
        payload=change.payload,
        actor=change.actor or "system",
        action=action.value,
        created_at=now,
        client_msg_id=client_msg_id,
    )
    session.add(row)
    await session.flush()
    return Event.of(row)
