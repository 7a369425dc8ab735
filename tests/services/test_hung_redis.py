"""A Redis that hangs (its sockets open, nothing answering) costs a command's answer nothing and
a sign-in or a join one timeout at most, not one each; when it answers again the other process's
rooms catch up. Real redis-server, stopped with SIGSTOP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from facilitator.flow import Role, Stage
from facilitator.http.join_guard import JoinGuard
from facilitator.http.join_limits import limits_for
from facilitator.live.rooms import Connection, Live
from facilitator.services import access, lifecycle
from facilitator.services.actors import Actor
from tests.support.meetings import new_meeting
from tests.support.redis_server import RedisServer
from tests.support.world import World


async def until(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within time"
        await asyncio.sleep(0.05)


async def test_a_hung_redis_holds_no_answer_and_the_other_process_catches_up_after(
    two: tuple[Live, Live], world: World, redis_server: RedisServer
) -> None:
    a, b = two
    meeting_id = await new_meeting(a.db, world)
    there = Connection(Role.PROJECTOR, Actor.projector(), "he")
    room = await b.enter(meeting_id, there)
    await asyncio.sleep(0.1)  # b's subscription is in Redis
    first = await a.commit_and_tell(lifecycle.start(a.db, meeting_id, world.staff))
    await until(lambda: room.last_seq == first.event.seq, 5)

    redis_server.pause()
    took = []
    last = first
    for stage in (Stage.OPENER, Stage.REVIEW, Stage.OPENER):
        began = time.monotonic()
        last = await a.commit_and_tell(lifecycle.move(a.db, meeting_id, world.staff, stage))
        took.append(time.monotonic() - began)
    # Each answer under the socket timeout of 2 s (one wait for Redis would show), with room
    # for a loaded machine's commit.
    assert max(took) < 1.5, took

    redis_server.resume()
    await until(lambda: room.last_seq == last.event.seq, 10)
    seen = []
    while not there.queue.empty():
        item = there.queue.get_nowait()
        assert isinstance(item, str)  # no resync: the room read what it missed from the log
        seen.append(json.loads(item)["seq"])
    assert seen == list(range(first.event.seq, last.event.seq + 1))


async def test_a_hung_redis_costs_the_limits_one_timeout_not_one_a_call(
    redis_server: RedisServer,
) -> None:
    limits = limits_for(redis_server.url, JoinGuard())
    try:
        assert await limits.login.allow("ip:1")
        redis_server.pause()
        began = time.monotonic()
        assert await limits.login.allow("ip:1")  # waits out the timeout once, then counts here
        first = time.monotonic() - began
        began = time.monotonic()
        for n in range(20):
            assert await limits.suggest.allow(f"ip:{n}")
            assert not await limits.door.locked(f"ip:{n}")
        rest = time.monotonic() - began
        assert first < 3.0, first
        assert rest < 0.5, rest  # before: 2 s a call, 80 s in all
    finally:
        redis_server.resume()
        await limits.close()


async def test_a_sign_out_lost_while_redis_hung_reaches_the_other_process_once_it_answers(
    two: tuple[Live, Live], world: World, redis_server: RedisServer
) -> None:
    a, b = two
    meeting_id = await new_meeting(a.db, world)
    assert world.staff.user_id is not None
    token = await access.start_session(a.db, world.staff.user_id)
    identity = await access.staff_for(a.db, token)
    assert identity is not None
    console = Connection(Role.FACILITATOR, world.staff, "he", session_id=identity.session_id)
    await b.enter(meeting_id, console)

    redis_server.pause()
    ended = await access.end_session(a.db, token)
    assert ended == identity.session_id
    await a.end_session(ended)  # its word to b is lost: Redis answers nothing
    await asyncio.sleep(2.5)  # the send waits out its 2 s and gives up
    assert console.closing is None
    redis_server.resume()
    # Once a's sends go through again, b is told to look, and finds the session ended.
    await until(lambda: console.closing == 4401, 10)
