"""The prebuilt statements that run on the driver's cursor on SQLite (``db.prepared``) store the
very bytes Core stores: a datetime in SQLAlchemy's SQLite format to the microsecond, JSON as the
engine's serializer writes it, a Boolean as 0 or 1. Each is checked against the same statement
run through ``Connection.execute`` on the same database, and read back through the ORM."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, bindparam, event, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from facilitator.db import Database
from facilitator.db.models import Blocker, MeetingEvent, OpenerResponse
from facilitator.db.prepared import Prepared
from facilitator.flow import Stage
from facilitator.services import commands, joining, lifecycle, opener, state
from facilitator.services.actors import Actor
from tests.support.meetings import new_meeting
from tests.support.world import Clock, World

# Moments whose ISO form ("T"), str() ("+00:00") or a whole second's shorter form sorts and
# reads otherwise than SQLAlchemy's SQLite format.
MOMENT = datetime(2026, 3, 2, 9, 30, 5, 123456, UTC)
SQLITE_MOMENT = "2026-03-02 09:30:05.123456"
WHOLE_SECOND = datetime(2026, 3, 2, 9, 31, tzinfo=UTC)
SQLITE_WHOLE_SECOND = "2026-03-02 09:31:00.000000"

_EVENT_COLUMNS = text(
    "SELECT meeting_id, seq, type, payload, actor, action, created_at, client_msg_id"
    " FROM meeting_events WHERE id = :e"
)
_ANSWER_COLUMNS = text(
    "SELECT meeting_id, blocker_id, anonymous, created_at FROM opener_responses"
    " WHERE meeting_id = :m AND person_id = :p ORDER BY blocker_id"
)


async def _event_id(db: Database, meeting_id: int, seq: int) -> int:
    async with db.read() as session:
        return await session.scalar(
            select(MeetingEvent.id).where(
                MeetingEvent.meeting_id == meeting_id, MeetingEvent.seq == seq
            )
        )


def _stored(connection: Connection, statement: Any, **params: Any) -> list[tuple[Any, ...]]:
    """Rows as the database holds them: a text query, so no type converts what it reads."""
    return [tuple(row) for row in connection.execute(statement, params)]


async def test_an_answer_and_a_join_store_what_core_stores(
    db: Database, world: World, clock: Clock
) -> None:
    mid = await new_meeting(db, world)
    clock.now = MOMENT
    # A new phone's join: its event's payload carries the Hebrew name it typed.
    joined = await joining.join(db, mid, name="דנה לוי", organization="עמותה")
    person = int(joined.event.payload["person"]["id"])
    await lifecycle.start(db, mid, world.staff)
    await lifecycle.move(db, mid, world.staff, Stage.OPENER)
    blockers = [b["id"] for b in (await state.snapshot(db, mid))["blockers"]]
    clock.now = WHOLE_SECOND
    answered = await opener.respond(
        db, mid, Actor.participant(person), blockers[:3], anonymous=False
    )
    events = [
        (await _event_id(db, mid, result.event.seq), result.event) for result in (joined, answered)
    ]

    def core_copies(connection: Connection) -> list[tuple[Any, Any]]:
        """Each event again, and the answer's rows for another person, through Core."""
        pairs: list[tuple[Any, Any]] = []
        for event_id, logged in events:
            fast = _stored(connection, _EVENT_COLUMNS, e=event_id)[0]
            copy = connection.execute(
                commands._LOG.statement,
                {
                    "meeting_id": logged.meeting_id,
                    "seq": logged.seq + 1000,
                    "type": logged.type,
                    "payload": logged.payload,
                    "actor": logged.actor,
                    "action": fast[5],
                    "created_at": logged.at,
                    "client_msg_id": fast[7],
                },
            ).inserted_primary_key[0]
            core = _stored(connection, _EVENT_COLUMNS, e=copy)[0]
            pairs.append((fast[:1] + fast[2:], core[:1] + core[2:]))  # all but the number
        connection.execute(
            opener._ANSWER.statement,
            {
                "m": mid,
                "p": world.people[0],
                "ids": blockers[:3],
                "n": world.network,
                "anonymous": False,
                "at": WHOLE_SECOND,
            },
        )
        pairs.append(
            (
                _stored(connection, _ANSWER_COLUMNS, m=mid, p=person),
                _stored(connection, _ANSWER_COLUMNS, m=mid, p=world.people[0]),
            )
        )
        return pairs

    for fast, core in await db.group_commit.submit(lambda c, _memo: core_copies(c)):
        assert fast == core
    if db.is_sqlite:  # SQLAlchemy's own format, which sorts as time does
        async with db.read() as session:
            stored = await session.execute(_ANSWER_COLUMNS, {"m": mid, "p": person})
            assert {(row.anonymous, row.created_at) for row in stored} == {(0, SQLITE_WHOLE_SECOND)}
    # And back through the ORM, as every reader sees them.
    async with db.read() as session:
        rows = (
            await session.scalars(select(MeetingEvent).where(MeetingEvent.id == events[0][0]))
        ).all()
        assert rows[0].payload["person"]["name"] == "דנה לוי"
        assert rows[0].created_at == MOMENT
        answers = (
            await session.scalars(select(OpenerResponse).where(OpenerResponse.person_id == person))
        ).all()
        assert {(a.blocker_id, a.anonymous, a.created_at) for a in answers} == {
            (b, False, WHOLE_SECOND) for b in blockers[:3]
        }


async def test_a_staff_command_stores_its_moment_in_the_same_format(
    db: Database, world: World, clock: Clock
) -> None:
    """The other write path (one command, one transaction, on the async driver) too."""
    mid = await new_meeting(db, world)
    clock.now = MOMENT
    started = await lifecycle.start(db, mid, world.staff)
    async with db.read() as session:
        moment = await session.scalar(
            text("SELECT created_at FROM meeting_events WHERE meeting_id = :m AND seq = :s"),
            {"m": mid, "s": started.event.seq},
        )
    assert moment == (SQLITE_MOMENT if db.is_sqlite else MOMENT.replace(tzinfo=None))


async def test_on_sqlite_the_answer_s_statements_skip_sqlalchemy_s_execution(
    db: Database, world: World
) -> None:
    """Only the savepoints and the batch's BEGIN go through ``Connection.execute``; on other
    engines everything does (and the same answer comes out)."""
    mid = await new_meeting(db, world)
    for pid in world.people[:2]:
        await joining.join(db, mid, person_id=pid)
    await lifecycle.start(db, mid, world.staff)
    await lifecycle.move(db, mid, world.staff, Stage.OPENER)
    blockers = [b["id"] for b in (await state.snapshot(db, mid))["blockers"]]
    # The first answer counts the tally through Core; the writer keeps it for the next.
    await opener.respond(db, mid, Actor.participant(world.people[1]), blockers[:1])
    texts: list[str] = []

    def seen(*args: Any) -> None:
        texts.append(args[2])

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        result = await opener.respond(db, mid, Actor.participant(world.people[0]), blockers[:2])
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert result.event.payload["tally"] == {str(blockers[0]): 2, str(blockers[1]): 1}
    statements = [t for t in texts if "SAVEPOINT" not in t and not t.startswith("BEGIN")]
    assert (statements == []) == db.is_sqlite


async def test_an_expanding_list_of_any_length_answers_as_core_does(
    db: Database, world: World
) -> None:
    ids = Prepared(
        select(Blocker.id)
        .where(
            Blocker.id.in_(bindparam("ids", expanding=True)), Blocker.network_id == bindparam("n")
        )
        .order_by(Blocker.id)
    )
    async with db.read() as session:
        known = list(await session.scalars(select(Blocker.id).order_by(Blocker.id)))

    def both(connection: Connection) -> list[tuple[Any, Any]]:
        answers = []
        for chosen in ([], known[:1], known[:3], [*known[:2], 999_999], known[:1]):
            params = {"ids": chosen, "n": world.network}
            core = [tuple(row) for row in connection.execute(ids.statement, params)]
            answers.append((ids.rows(connection, params), core))
        return answers

    for fast, core in await db.group_commit.submit(lambda c, _memo: both(c)):
        assert fast == core


async def test_errors_are_the_ones_core_raises(db: Database, world: World) -> None:
    """A caller catching SQLAlchemy's IntegrityError still catches it; a missing parameter is
    refused before the database sees the statement, as Core refuses it."""
    mid = await new_meeting(db, world)
    logged = {
        "meeting_id": mid,
        "seq": 1,  # the meeting's first event already has it
        "type": "x",
        "payload": {},
        "actor": "system",
        "action": None,
        "created_at": MOMENT,
        "client_msg_id": None,
    }
    with pytest.raises(IntegrityError):
        await db.group_commit.submit(lambda c, _memo: commands._LOG.count(c, logged))
    facts = {"m": mid, "msg": None, "p": None}  # no group
    with pytest.raises(StatementError, match="A value is required for bind parameter 'g'"):
        await db.group_commit.submit(lambda c, _memo: commands._FACTS.one(c, facts))
    # A value its type refuses (a naive moment): Core's StatementError around it, not bare.
    naive = {**logged, "seq": 99, "created_at": MOMENT.replace(tzinfo=None)}
    with pytest.raises(StatementError):
        await db.group_commit.submit(lambda c, _memo: commands._LOG.count(c, naive))


async def test_a_statement_compiled_without_a_callers_keys_runs_them_on_core(
    db: Database, world: World
) -> None:
    """``insert(table)`` names no columns: compiled once without keys it would be ``DEFAULT
    VALUES`` and drop the row's values on SQLite alone. Keys it does not read go to Core."""
    mid = await new_meeting(db, world)
    log = Prepared(insert(MeetingEvent.__table__))
    row = {
        "meeting_id": mid, "seq": 50, "type": "x", "payload": {"n": 1}, "actor": "system",
        "action": None, "created_at": MOMENT, "client_msg_id": "k-1",
    }  # fmt: skip
    await db.group_commit.submit(lambda c, _memo: log.count(c, row))
    async with db.read() as session:
        stored = await session.scalar(
            select(MeetingEvent).where(MeetingEvent.meeting_id == mid, MeetingEvent.seq == 50)
        )
    assert stored is not None
    assert stored.client_msg_id == "k-1"
    assert stored.payload == {"n": 1}
