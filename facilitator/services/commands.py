"""The one path every meeting command takes.

Lock the meeting's sequence, replay a resent client message id, check role, stage and the
sender's place in the meeting, apply the change and append the numbered event, all in one
transaction. An error anywhere rolls everything back, the sequence number included.

The prologue (``open_command``) and the epilogue (``log_event``) are plain statements over a
connection, written once: ``run`` (one command, one transaction, an async body) calls them
through its session's connection, and ``run_batched`` (a hall's answers, many to one commit in
the group-commit writer) calls them directly. The rules they apply are the flow's.
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
    GroupStaff,
    Meeting,
    MeetingEvent,
    Network,
    Person,
    StaffSession,
    StaffUser,
)
from facilitator.db.prepared import Prepared
from facilitator.errors import NotFound
from facilitator.flow import Action, Role, Stage
from facilitator.localtime import local_day
from facilitator.services.actors import Actor
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
    #: A join answered again that stored the new phone's token: the person is now this phone's.
    claimed: bool = False


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

# Built once: a statement object reused keeps its cache key, so Core skips straight to the
# compiled form (building them per command cost more than executing them). On SQLite they run
# on the driver's cursor, compiled once: SQLAlchemy's execution machinery around each statement
# was most of the group-commit writer's time in a hall's vote (``db.prepared``).
_EVENTS = cast(Table, MeetingEvent.__table__)
_NUMBER = Prepared(
    update(cast(Table, Meeting.__table__))
    .where(Meeting.id == bindparam("m"))
    .values(last_seq=Meeting.last_seq + 1)
    .returning(Meeting.last_seq, Meeting.stage, Meeting.group_id)
)
# What the prologue checks, in one statement after the number (on PostgreSQL each statement is a
# round trip, and a hall's answers queue behind them one by one). Not in the UPDATE's RETURNING:
# an UPDATE that waited for the meeting's lock keeps the snapshot it began with, blind to the
# event another process's batch just committed. ``msg`` and ``p`` (the sender's person) may be
# null: then no event and no person match.
_FACTS = Prepared(
    select(
        Group.network_id,
        select(_EVENTS.c.id)
        .where(_EVENTS.c.meeting_id == bindparam("m"), _EVENTS.c.client_msg_id == bindparam("msg"))
        .scalar_subquery(),
        select(Person.network_id).where(Person.id == bindparam("p")).scalar_subquery(),
        select(Attendance.id)
        .where(Attendance.meeting_id == bindparam("m"), Attendance.person_id == bindparam("p"))
        .exists(),
    ).where(Group.id == bindparam("g"))
)
# Only to replay a resent message: its row is read through Core, which makes the JSON and the
# datetime of it.
_STORED = select(_EVENTS).where(_EVENTS.c.id == bindparam("e"))
_STAFF = Prepared(
    select(
        Group.network_id,
        StaffUser.network_id,
        StaffUser.active,
        StaffUser.role,
        select(GroupStaff.id)
        .where(GroupStaff.user_id == bindparam("u"), GroupStaff.group_id == bindparam("g"))
        .exists(),
        select(StaffSession.id)
        .where(StaffSession.id == bindparam("s"), StaffSession.revoked_at.is_(None))
        .exists(),
    )
    .select_from(Group)
    .outerjoin(StaffUser, StaffUser.id == bindparam("u"))
    .where(Group.id == bindparam("g"))
)
_LOGGED = ("meeting_id", "seq", "type", "payload", "actor", "action", "created_at", "client_msg_id")
_LOG = Prepared(insert(_EVENTS), column_keys=_LOGGED)


@dataclass(frozen=True)
class Opened:
    """A command let in by the prologue: its number, and the meeting's stage, group and network."""

    seq: int
    stage: Stage
    group_id: int
    network_id: int


def open_command(
    connection: Connection,
    meeting_id: int,
    actor: Actor,
    action: Action,
    msg_id: str | None,
    same_request: ReplayCheck | None = None,
) -> Opened:
    """The prologue of every meeting command, on either write path: number the event (which
    locks the meeting row on engines with row locks, so commands on one meeting never
    interleave), answer a resent message id with its stored event, check the sender, then the
    stage. Plain statements on the caller's connection, in the caller's transaction."""
    numbered = _NUMBER.first(connection, {"m": meeting_id})
    if numbered is None:
        raise NotFound("meeting.not_found")
    seq, stage, group_id = numbered
    phone = actor.person_id if actor.role is Role.PARTICIPANT else None
    facts = {"m": meeting_id, "msg": msg_id, "p": phone, "g": group_id}
    network_id, stored_id, person_network, joined = _FACTS.one(connection, facts)
    if stored_id is not None:
        row = MeetingEvent(**connection.execute(_STORED, {"e": stored_id}).one()._mapping)
        raise _Replay(replay_of(row, actor, action, same_request))
    # Staff of this network within reach of the group; participants who are people of it and
    # (but to join) present.
    if actor.is_staff:
        _check_staff(connection, actor, group_id)
    elif phone is not None:
        flow.check_phone(flow.PhoneFacts(person_network, bool(joined)), network_id, action)
    else:
        flow.check_newcomer(actor.role, action)
    flow.check_stage(Stage(stage), action)
    return Opened(seq, Stage(stage), group_id, int(network_id))


def _check_staff(connection: Connection, actor: Actor, group_id: int) -> int:
    facts = {"u": actor.user_id, "g": group_id, "s": actor.session_id}
    network_id, user_network, active, role, looks_after, session_live = _STAFF.one(
        connection, facts
    )
    signed_in = actor.session_id is None or bool(session_live)
    staff = (
        None
        if user_network is None
        else flow.StaffFacts(user_network, bool(active), role, bool(looks_after), signed_in)
    )
    flow.check_staff(staff, actor.role, network_id)
    return int(network_id)


def log_event(connection: Connection, event: Event, action: Action, msg_id: str | None) -> Event:
    """The epilogue of every meeting command: append its numbered event to the log."""
    _LOG.count(
        connection,
        {
            "meeting_id": event.meeting_id,
            "seq": event.seq,
            "type": event.type,
            "payload": event.payload,
            "actor": event.actor,
            "action": action.value,
            "created_at": event.at,
            "client_msg_id": msg_id,
        },
    )
    return event


def _event(meeting_id: int, opened: Opened, change: Change, actor: Actor, now: datetime) -> Event:
    return Event(
        meeting_id, opened.seq, change.type, change.payload, change.actor or actor.key, now
    )


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
            opened = await session.run_sync(
                lambda s: open_command(
                    s.connection(), meeting_id, actor, action, msg_id, same_request
                )
            )
            meeting = await session.get_one(Meeting, meeting_id)
            network = await session.get_one(Network, opened.network_id)
            now = db.now()
            context = Context(session, db, meeting, network, actor, now, local_today(network, now))
            event = _event(meeting_id, opened, await body(context), actor, now)
            await session.run_sync(lambda s: log_event(s.connection(), event, action, msg_id))
            return Result(event)
    except _Replay as replay:
        return replay.result


def replay_of(
    row: MeetingEvent, actor: Actor, action: Action, same_request: ReplayCheck | None
) -> Result:
    """The stored answer to a resent message id, if the same sender sent the same command."""
    if actor.user_id is None and actor.person_id is None and same_request is not None:
        mine = same_request(row)
    else:
        mine = row.actor == actor.key
    flow.check_resend(row.action == action.value, mine)
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


async def run_batched(
    db: Database,
    meeting_id: int,
    actor: Actor,
    action: Action,
    body: BatchBody,
    *,
    client_msg_id: str | None = None,
    same_request: ReplayCheck | None = None,
) -> Result:
    """``run`` for the commands a whole hall sends at once (a participant's opener answer, a
    phone joining).

    The same prologue and epilogue, in the group-commit writer's next batch: many answers share
    one transaction and one fsync, each in its own savepoint, and the result comes back only
    after the commit.
    """
    msg_id = check_msg_id(client_msg_id)
    flow.authorize(actor.role, action)
    if not actor.is_staff and actor.person_id is None:
        # Refused before it takes a place in a batch (the prologue would refuse it there too).
        flow.check_newcomer(actor.role, action)

    def work(connection: Connection, memo: dict[Any, Any]) -> Result:
        opened = open_command(connection, meeting_id, actor, action, msg_id, same_request)
        now = db.now()
        batch = BatchContext(
            connection, memo, meeting_id, opened.seq, opened.network_id, actor, now
        )
        event = _event(meeting_id, opened, body(batch), actor, now)
        return Result(log_event(connection, event, action, msg_id))

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


async def check_staff(session: AsyncSession, actor: Actor, group_id: int) -> int:
    """The actor is an active staff user of the group's network, with the role it claims, and
    the group is within their reach (``flow.check_staff``); returns the network."""
    return await session.run_sync(lambda s: _check_staff(s.connection(), actor, group_id))


async def append_event(
    session: AsyncSession,
    meeting: Meeting,
    change: Change,
    action: Action,
    now: datetime,
    client_msg_id: str | None = None,
) -> Event:
    """Log an event outside ``run`` (a new meeting's first event), through the same epilogue."""
    meeting.last_seq += 1
    actor = change.actor or "system"
    event = Event(meeting.id, meeting.last_seq, change.type, change.payload, actor, now)
    await session.run_sync(lambda s: log_event(s.connection(), event, action, client_msg_id))
    return event
