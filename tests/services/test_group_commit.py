"""Opener answers through the group-commit writer: many answers share one transaction, a refusal
rolls back only itself, nothing is answered before its commit, and the tally the writer keeps in
memory always equals a recount, even when another process writes in between."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, select, text
from sqlalchemy.pool import Pool

from facilitator.db import Database
from facilitator.db.models import OpenerResponse
from facilitator.errors import Forbidden, NotFound
from facilitator.flow import Stage
from facilitator.services import joining, lifecycle, opener, state
from facilitator.services.actors import Actor
from facilitator.services.commands import Result
from tests.support.meetings import new_meeting
from tests.support.races import released_together
from tests.support.world import Clock, World


async def opener_room(db: Database, world: World, present: int) -> tuple[int, list[int]]:
    """A meeting in the opener with the first ``present`` people of the world joined."""
    mid = await new_meeting(db, world)
    for pid in world.people[:present]:
        await joining.join(db, mid, person_id=pid)
    await lifecycle.start(db, mid, world.staff)
    await lifecycle.move(db, mid, world.staff, Stage.OPENER)
    return mid, [b["id"] for b in (await state.snapshot(db, mid))["blockers"]]


async def recount(db: Database, mid: int) -> tuple[dict[str, int], int]:
    async with db.read() as session:
        return await opener.tally(session, mid), await opener.respondents(session, mid)


def skip_unless_sqlite(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("holds SQLite's write lock from outside")


async def test_answers_sent_together_share_transactions_and_all_hold(
    db: Database, world: World
) -> None:
    mid, blockers = await opener_room(db, world, present=6)
    before = db.group_commit.batches
    sends = [
        opener.respond(
            db,
            mid,
            Actor.participant(pid),
            sorted({blockers[(pid + round_) % 9], blockers[(pid * 3 + round_ + 1) % 9]}),
            client_msg_id=f"a{round_}-{pid}",
        )
        for round_ in range(5)
        for pid in world.people
    ]
    results: list[Result] = await asyncio.gather(*sends)

    assert db.group_commit.batches - before < len(sends)  # they did share
    seqs = sorted(r.event.seq for r in results)
    assert seqs == list(range(seqs[0], seqs[0] + len(sends)))  # one number each, no gap
    last = max(results, key=lambda r: r.event.seq).event.payload
    tally, people = await recount(db, mid)
    assert (last["tally"], last["respondents"]) == (tally, people) == (tally, 6)
    # Each person's final answer is the one from the last round they sent.
    expected = Counter(
        str(b)
        for pid in world.people
        for b in {blockers[(pid + 4) % 9], blockers[(pid * 3 + 5) % 9]}
    )
    assert tally == dict(expected)


async def test_a_refusal_rolls_back_only_itself(db: Database, world: World) -> None:
    mid, blockers = await opener_room(db, world, present=3)
    absent = world.people[5]  # never joined
    outcomes = await asyncio.gather(
        opener.respond(db, mid, Actor.participant(world.people[0]), [blockers[0]]),
        opener.respond(db, mid, Actor.participant(absent), [blockers[0]]),
        opener.respond(db, mid, Actor.participant(world.people[1]), [999_999]),
        opener.respond(db, mid, Actor.participant(world.people[2]), [blockers[0], blockers[1]]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], Forbidden)
    assert outcomes[1].key == "participant.not_joined"
    assert isinstance(outcomes[2], NotFound)
    assert outcomes[2].key == "opener.unknown_blocker"
    good = [o for o in outcomes if isinstance(o, Result)]
    assert [r.event.seq for r in good] == [good[0].event.seq, good[0].event.seq + 1]
    assert good[1].event.payload == {
        "tally": {str(blockers[0]): 2, str(blockers[1]): 1},
        "respondents": 2,
    }
    assert await recount(db, mid) == ({str(blockers[0]): 2, str(blockers[1]): 1}, 2)


async def test_a_resend_in_the_same_batch_is_a_replay(db: Database, world: World) -> None:
    mid, blockers = await opener_room(db, world, present=2)
    phone = Actor.participant(world.people[0])
    first, again = await asyncio.gather(
        opener.respond(db, mid, phone, [blockers[2]], client_msg_id="same"),
        opener.respond(db, mid, phone, [blockers[2]], client_msg_id="same"),
    )
    assert (first.replayed, again.replayed) == (False, True)
    assert first.event.seq == again.event.seq
    # Someone else reusing that id is refused, not answered with another person's event.
    with pytest.raises(Forbidden):
        await opener.respond(
            db, mid, Actor.participant(world.people[1]), [blockers[2]], client_msg_id="same"
        )
    assert await recount(db, mid) == ({str(blockers[2]): 1}, 1)


async def test_the_kept_tally_notices_another_process(
    db: Database, db_url: str, clock: Clock, world: World
) -> None:
    other = Database(db_url, clock=clock)
    try:
        mid, blockers = await opener_room(db, world, present=6)
        for n, pid in enumerate(world.people * 2):
            writer = other if n % 3 == 1 else db
            result = await opener.respond(
                writer, mid, Actor.participant(pid), [blockers[n % 9]] if n % 4 else []
            )
            tally, people = await recount(db, mid)
            assert result.event.payload == {"tally": tally, "respondents": people}
    finally:
        await other.dispose()


async def test_nothing_is_answered_when_the_batch_cannot_commit(
    db_url: str, clock: Clock, world: World, db: Database
) -> None:
    skip_unless_sqlite(db)
    mid, blockers = await opener_room(db, world, present=2)
    impatient = Database(db_url, clock=clock, busy_timeout_ms=50)
    path = db_url.split("///", 1)[1]
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        phone = Actor.participant(world.people[0])
        with pytest.raises(Exception, match="locked"):
            await opener.respond(impatient, mid, phone, [blockers[0]], client_msg_id="m1")
        blocker.execute("ROLLBACK")
        assert await recount(db, mid) == ({}, 0)
        # The phone resends the same message and it lands once.
        result = await opener.respond(impatient, mid, phone, [blockers[0]], client_msg_id="m1")
        assert not result.replayed
        assert result.event.payload == {"tally": {str(blockers[0]): 1}, "respondents": 1}
        async with db.read() as session:
            rows = await session.scalar(
                select(func.count()).where(OpenerResponse.meeting_id == mid)
            )
        assert rows == 1
    finally:
        blocker.close()
        await impatient.dispose()


async def test_closing_the_database_first_answers_everything_already_sent(
    db: Database, db_url: str, clock: Clock, world: World
) -> None:
    mid, blockers = await opener_room(db, world, present=3)
    closing = Database(db_url, clock=clock)
    sends = [
        asyncio.create_task(opener.respond(closing, mid, Actor.participant(pid), [blockers[0]]))
        for pid in world.people[:3]
    ]
    await asyncio.sleep(0)  # all three are waiting for the writer
    await closing.dispose()
    results = await asyncio.gather(*sends)
    assert sorted(r.event.payload["respondents"] for r in results) == [1, 2, 3]
    assert await recount(db, mid) == ({str(blockers[0]): 3}, 3)
    with pytest.raises(RuntimeError, match="closed"):
        await opener.respond(closing, mid, Actor.participant(world.people[0]), [])


async def test_a_half_known_answer_leaves_the_last_one_standing(db: Database, world: World) -> None:
    mid, blockers = await opener_room(db, world, present=2)
    phone = Actor.participant(world.people[0])
    await opener.respond(db, mid, phone, [blockers[1]])
    # Its known blocker's row is written before the unknown one is noticed: the refusal takes
    # that row back, and the earlier answer it had removed, within its savepoint only.
    outcomes = await asyncio.gather(
        opener.respond(db, mid, phone, [blockers[0], 999_999]),
        opener.respond(db, mid, Actor.participant(world.people[1]), [blockers[0]]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], NotFound)
    assert isinstance(outcomes[1], Result)
    assert await recount(db, mid) == ({str(blockers[0]): 1, str(blockers[1]): 1}, 2)


async def test_an_answer_in_a_batch_makes_few_statements_of_few_texts(
    db: Database, world: World
) -> None:
    """On PostgreSQL each statement is a round trip, and each new text one more (asyncpg
    prepares it): a hall's answers go only as fast as these allow."""
    mid, blockers = await opener_room(db, world, present=6)
    await opener.respond(db, mid, Actor.participant(world.people[0]), [blockers[0]])
    texts: list[str] = []

    def seen(*args: Any) -> None:
        texts.append(args[2])

    sends = [
        opener.respond(db, mid, Actor.participant(pid), [blockers[(pid + round_) % 9]])
        for round_ in range(4)
        for pid in world.people
    ]
    # On SQLite the answers' statements run on the driver's cursor, past the engine's events
    # (``db.prepared``): SQLite's own trace sees them.
    traced: list[str] = []

    def trace(dbapi_connection: Any, *_: Any) -> None:
        if hasattr(dbapi_connection, "set_trace_callback"):  # the writer's sqlite3 connection
            dbapi_connection.set_trace_callback(traced.append)

    def untrace(dbapi_connection: Any, *_: Any) -> None:
        if hasattr(dbapi_connection, "set_trace_callback"):
            dbapi_connection.set_trace_callback(None)

    batches = db.group_commit.batches
    event.listen(Engine, "before_cursor_execute", seen)
    event.listen(Pool, "checkout", trace)
    event.listen(Pool, "checkin", untrace)
    try:
        await asyncio.gather(*sends)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
        event.remove(Pool, "checkout", trace)
        event.remove(Pool, "checkin", untrace)
    made = db.group_commit.batches - batches
    # A savepoint and its release, the number, the checks, the old answer out, the new one in,
    # and the event: 7, and one BEGIN a batch on SQLite (and its COMMIT, in SQLite's trace).
    if db.is_sqlite:
        answers = [t for t in traced if not t.startswith(("BEGIN", "COMMIT"))]
        assert 5 * len(sends) <= len(answers) <= 7 * len(sends)
    else:
        assert len(texts) <= 7 * len(sends) + made
        assert len(set(texts)) <= 8  # the savepoints are not numbered


def _touch_in_order(first: int, then: int) -> Callable[[Connection, dict[Any, Any]], int]:
    def work(connection: Connection, _memo: dict[Any, Any]) -> int:
        for meeting_id in (first, then):
            connection.execute(
                text("UPDATE meetings SET title = title WHERE id = :m"), {"m": meeting_id}
            )
        return then

    return work


async def test_a_command_that_loses_a_deadlock_runs_again_in_the_next_batch(
    db: Database, other_db: Database, third_db: Database, world: World
) -> None:
    """Two processes' batches that lock two rows in opposite orders (as a join's new
    organization can, after each batch's meeting): PostgreSQL refuses one of them; it runs
    again once the other has committed, and both senders get their answer."""
    one, two = await new_meeting(db, world), await new_meeting(db, world, group=world.other_group)

    async def hold(session: Any) -> None:
        await session.execute(
            text("UPDATE meetings SET title = title WHERE id IN (:a, :b)"), {"a": one, "b": two}
        )

    answers = await released_together(
        third_db,
        hold,
        db.group_commit.submit(_touch_in_order(one, two)),
        other_db.group_commit.submit(_touch_in_order(two, one)),
    )
    assert answers == [two, one]
    if not db.is_sqlite:  # SQLite's one writer never deadlocks: nothing to run again there
        assert db.group_commit.batches + other_db.group_commit.batches == 3
