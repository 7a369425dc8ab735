"""Rooms of two processes linked through a real redis-server: every event reaches both, a
message Redis drops is read from the meeting's log, and a sign-out reaches every process.

Each "process" here is a ``Live`` with its own ``Database`` and its own hub (its own Redis
connections and origin), as two ``serve`` processes would have; tests/scale runs the real ones.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from facilitator.flow import Role, Stage
from facilitator.live.envelope import Envelope
from facilitator.live.hub import hub_for
from facilitator.live.outbox import RESYNC
from facilitator.live.redis_hub import RedisHub
from facilitator.live.rooms import Connection, Live, channel
from facilitator.services import lifecycle, network, overview
from facilitator.services.actors import Actor
from facilitator.services.commands import Result
from facilitator.services.network import ValueWords
from tests.support.meetings import new_meeting, seqs
from tests.support.redis_server import RedisServer
from tests.support.world import World


def connected(live: Live) -> asyncio.Event:
    assert isinstance(live.hub, RedisHub)
    return live.hub.connected


def wall() -> Connection:
    return Connection(Role.PROJECTOR, Actor.projector(), "he")


def seqs_seen(connection: Connection) -> list[int]:
    seen = []
    while not connection.queue.empty():
        item = connection.queue.get_nowait()
        assert item is not RESYNC
        seen.append(int(json.loads(item)["seq"]))
    return seen


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within time")


def commit_on(live: Live, command: Awaitable[Result]) -> Awaitable[Result]:
    return live.commit_and_tell(command)


async def test_an_event_committed_in_one_process_reaches_the_other_once(
    two: tuple[Live, Live], world: World
) -> None:
    a, b = two
    meeting_id = await new_meeting(a.db, world)
    here, there = wall(), wall()
    await a.enter(meeting_id, here)
    await b.enter(meeting_id, there)
    await asyncio.sleep(0.1)  # b's subscription is in Redis
    result = await commit_on(a, lifecycle.start(a.db, meeting_id, world.staff))
    await until(lambda: not there.queue.empty())
    await asyncio.sleep(0.1)  # nothing more comes: a's own copy is not handed back again
    assert seqs_seen(here) == [result.event.seq]
    assert seqs_seen(there) == [result.event.seq]


async def test_a_message_redis_drops_is_read_from_the_log_after_the_next_beat(
    two: tuple[Live, Live], world: World
) -> None:
    a, b = two
    meeting_id = await new_meeting(a.db, world)
    there = wall()
    room = await b.enter(meeting_id, there)
    # Committed in process a, and the publish to Redis lost on the way (a's own rooms still
    # hear it, in memory): only the beat a sends each second says there is more.
    lost = await lifecycle.start(a.db, meeting_id, world.staff)
    assert isinstance(a.hub, RedisHub)
    a.hub._local.put(channel(meeting_id), _envelope(lost))
    a.hub._written[channel(meeting_id)] = (lost.event.seq, asyncio.get_running_loop().time())
    await until(lambda: room.last_seq == lost.event.seq, seconds=6)
    assert seqs_seen(there) == [lost.event.seq]


async def test_a_restart_of_redis_mid_meeting_leaves_no_gap(
    two: tuple[Live, Live], world: World, redis_server: RedisServer
) -> None:
    a, b = two
    meeting_id = await new_meeting(a.db, world)
    there = wall()
    room = await b.enter(meeting_id, there)
    await asyncio.sleep(0.1)
    first = await commit_on(a, lifecycle.start(a.db, meeting_id, world.staff))
    await until(lambda: room.last_seq == first.event.seq)
    redis_server.stop()
    # While Redis is away, a meeting goes on in process a: every change is committed and
    # answered, none reaches b through Redis.
    during = await commit_on(a, lifecycle.move(a.db, meeting_id, world.staff, Stage.OPENER))
    assert during.event.seq == first.event.seq + 1
    redis_server.start()
    await asyncio.wait_for(connected(b).wait(), 10)
    await until(lambda: room.last_seq == during.event.seq, seconds=6)
    after = await commit_on(a, lifecycle.move(a.db, meeting_id, world.staff, Stage.REVIEW))
    await until(lambda: room.last_seq == after.event.seq)
    assert seqs_seen(there) == [first.event.seq, during.event.seq, after.event.seq]


async def test_a_sign_out_in_one_process_closes_the_sessions_sockets_in_the_other(
    two: tuple[Live, Live], world: World
) -> None:
    a, b = two
    meeting_id = await new_meeting(a.db, world)
    console = Connection(Role.FACILITATOR, world.staff, "he", session_id=77)
    other = Connection(Role.FACILITATOR, world.staff, "he", session_id=78)
    await b.enter(meeting_id, console)
    await b.enter(meeting_id, other)
    await a.end_session(77)
    await until(lambda: console.closing is not None)
    assert console.closing == 4401
    assert other.closing is None


def _envelope(result: Result) -> Envelope:
    from facilitator.live.envelope import envelope_for

    return envelope_for(result.event)


async def test_a_values_change_is_an_event_in_every_open_meeting_and_reaches_every_process(
    two: tuple[Live, Live], world: World
) -> None:
    a, b = two
    open_one = await new_meeting(a.db, world)
    called_off = await new_meeting(a.db, world, group=world.other_group)
    await lifecycle.cancel(a.db, called_off, world.staff)
    closed_log = await seqs(a.db, called_off)
    there = wall()
    room = await b.enter(open_one, there)
    await asyncio.sleep(0.1)
    value_id = (await overview.network_lists(a.db, world.network))["values"][0]["id"]
    change = await network.update_value(
        a.db, world.network, value_id, ValueWords("אמון", ["מקשיבים"])
    )
    # Every meeting still open logs it (the world's other meetings too); a closed record keeps
    # the values it was held under.
    assert open_one in [e.meeting_id for e in change.events]
    assert called_off not in [e.meeting_id for e in change.events]
    assert await seqs(a.db, called_off) == closed_log
    await a.tell(change.events)
    mine = next(e for e in change.events if e.meeting_id == open_one)
    await until(lambda: room.last_seq == mine.seq)
    told = json.loads(there.queue.get_nowait())
    assert (told["seq"], told["event"]) == (mine.seq, "values_changed")
    assert told["payload"]["values"][0]["he"]["title"] == "אמון"


async def test_the_live_figures_add_up_every_process(two: tuple[Live, Live], world: World) -> None:
    a, b = two
    meeting_id = await new_meeting(a.db, world)
    await a.enter(meeting_id, wall())
    for _ in range(3):
        await b.enter(meeting_id, wall())
    await asyncio.sleep(1.5)  # each process writes its figures every beat
    seen = await a.stats_everywhere()
    assert (seen["processes"], seen["rooms"], seen["sockets"]) == (2, 2, 4)
    assert set(seen["fanout_ms"]) == {"p50", "p99", "max"}
    alone = await Live(hub_for("memory://"), a.db).stats_everywhere()
    assert (alone["processes"], alone["sockets"]) == (1, 0)
