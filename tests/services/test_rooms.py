"""The room's fan-out in-process: ordering, coalesced tallies, slow readers, catch-up."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.websockets import WebSocket

from facilitator.db import Database
from facilitator.flow import Role
from facilitator.http import socket as live_socket
from facilitator.http.identity import Who
from facilitator.live import gates, outbox, snapshots, watchdog
from facilitator.live.envelope import Envelope, Kind, ack_for, beat, control, envelope_for
from facilitator.live.hub import MemoryHub
from facilitator.live.messages import Ack, encode, server_event, server_tally
from facilitator.live.rooms import QUEUE_LIMIT, RESYNC, Connection, Live, Room, channel
from facilitator.services import lifecycle, state
from facilitator.services.actors import Actor
from facilitator.services.commands import Event, Result
from tests.support.meetings import new_meeting
from tests.support.world import World


def phone() -> Connection:
    return Connection(Role.PARTICIPANT, Actor.participant(1), "he")


def wall() -> Connection:
    return Connection(Role.PROJECTOR, Actor.projector(), "he")


def drain(connection: Connection) -> list[dict[str, object] | None]:
    out: list[dict[str, object] | None] = []
    while not connection.queue.empty():
        item = connection.queue.get_nowait()
        out.append(None if item is RESYNC else json.loads(item))
    return out


def event(seq: int, kind: str = "agenda_focus") -> Envelope:
    text = encode(server_event(seq, kind, {"n": seq}, "2026-03-02T09:00:00+00:00"))
    return Envelope(Kind.EVENT, seq, kind, None, text)


def tally(seq: int, n: int) -> Envelope:
    return Envelope(Kind.TALLY, seq, "", None, encode(server_tally(seq, {"1": n}, n)))


def add(room: Room, *connections: Connection) -> None:
    for connection in connections:
        room.add(connection)


async def started_room(db: Database, world: World) -> tuple[Room, MemoryHub, int]:
    meeting_id = await new_meeting(db, world)
    hub = MemoryHub()
    room = Room(meeting_id, hub, db)
    await room.start()
    return room, hub, meeting_id


async def test_events_reach_screens_in_order_even_when_published_out_of_order(
    db: Database, world: World
) -> None:
    room, hub, meeting_id = await started_room(db, world)
    screen = wall()
    add(room, screen)
    start = room.last_seq
    for seq in (start + 2, start + 1, start + 3, start + 3):  # late, early, and a duplicate
        await hub.publish(channel(meeting_id), event(seq))
    await asyncio.sleep(0.05)
    assert [m["seq"] for m in drain(screen) if m] == [start + 1, start + 2, start + 3]
    await room.stop()


async def test_tallies_are_coalesced_first_at_once_and_phones_get_none(
    db: Database, world: World
) -> None:
    room, hub, meeting_id = await started_room(db, world)
    screen, hall = wall(), [phone() for _ in range(3)]
    add(room, screen, *hall)
    start = room.last_seq
    for n in range(1, 31):  # thirty answers within about 0.3 s
        await hub.publish(channel(meeting_id), tally(start + n, n))
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # let the last coalesced flush out
    to_wall = [m for m in drain(screen) if m]
    assert to_wall[0]["respondents"] == 1  # the first tally goes out at once
    assert to_wall[-1]["respondents"] == 30  # and the last one is never lost
    assert len(to_wall) <= 6  # ~10 a second for the wall
    assert all(drain(p) == [] for p in hall)  # a phone draws no tally: it is sent none
    # Nor when it comes back, though the wall's catch-up ends with the newest one.
    assert room.catch_up(start + 1, phone=True) == []
    assert room.catch_up(start + 1) == [room.tally_text]
    await room.stop()


async def test_a_slow_reader_is_switched_to_a_snapshot_and_holds_no_one_up(
    db: Database, world: World
) -> None:
    room, hub, meeting_id = await started_room(db, world)
    stuck, healthy = phone(), phone()
    add(room, stuck, healthy)
    start = room.last_seq
    for n in range(1, QUEUE_LIMIT + 50):
        await hub.publish(channel(meeting_id), event(start + n))
        if n % 50 == 0:
            await asyncio.sleep(0)
            drain(healthy)
    await asyncio.sleep(0.05)
    backlog = drain(stuck)
    assert None in backlog  # told to resync instead of piling up
    assert len(backlog) < QUEUE_LIMIT
    assert stuck.overflows >= 1
    assert healthy.overflows == 0
    await room.stop()


async def test_catch_up_from_memory_or_not_at_all(db: Database, world: World) -> None:
    room, hub, meeting_id = await started_room(db, world)
    start = room.last_seq
    for n in range(1, 6):
        await hub.publish(channel(meeting_id), event(start + n))
    await hub.publish(channel(meeting_id), tally(start + 6, 2))
    await hub.publish(channel(meeting_id), event(start + 7))
    await asyncio.sleep(0.05)
    missed = room.catch_up(start + 3)
    assert missed is not None
    seqs = [json.loads(m)["seq"] for m in missed]
    assert seqs == [start + 4, start + 5, start + 7, start + 6]  # the latest tally last
    assert room.catch_up(start + 7) == [room.tally_text]
    assert room.catch_up(start - 1) is None  # from before the room's memory: snapshot
    assert room.catch_up(start + 99) is None  # a number from the future: snapshot
    await room.stop()


async def test_a_phone_stuck_in_one_send_is_dropped_and_the_rest_are_not(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watchdog, "WATCH_EVERY", 0.02)
    room, _hub, _meeting_id = await started_room(db, world)
    dropped: list[str] = []
    stuck, busy, idle = phone(), phone(), phone()
    stuck.abort = lambda: dropped.append("stuck")
    busy.abort = lambda: dropped.append("busy")
    idle.abort = lambda: dropped.append("idle")
    now = time.monotonic()
    stuck.sending_since = now - outbox.STUCK_AFTER - 1  # has read nothing for too long
    busy.sending_since = now  # a send under way, as every send briefly is
    add(room, stuck, busy, idle)
    await asyncio.sleep(0.1)
    assert dropped == ["stuck"]  # once, though the room looked several times
    assert room.dropped == 1
    await room.stop()


async def test_a_committed_change_reaches_the_room_though_its_sender_left(
    db: Database, world: World
) -> None:
    meeting_id = await new_meeting(db, world)
    live = Live(MemoryHub(), db)
    screen = wall()
    await live.enter(meeting_id, screen)
    gate = asyncio.Event()

    async def command_under_way() -> Result:
        await gate.wait()
        return await lifecycle.start(db, meeting_id, world.staff)

    sender = asyncio.create_task(live.commit_and_tell(command_under_way()))
    await asyncio.sleep(0)
    sender.cancel()  # the phone's socket closed while its command ran
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await sender
    for _ in range(200):  # the command commits, then the room is told
        if not screen.queue.empty():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    told = [m for m in drain(screen) if m]
    assert [m["event"] for m in told] == ["stage_changed"]
    await live.close()


def console(world: World) -> Connection:
    return Connection(Role.FACILITATOR, world.staff, "he")


def test_an_envelope_crosses_a_process_boundary_as_one_string() -> None:
    sent = Envelope(Kind.EVENT, 7, "name_released", 42, '{"type":"event","seq":7}')
    assert Envelope.unpack(sent.pack()) == sent
    assert Envelope.unpack(beat(-1).pack()) == beat(-1)
    ended = control("session_ended", "12")
    assert Envelope.unpack(ended.pack()) == ended
    # Where the event names people, the phones' copy travels with it.
    named = Envelope(Kind.EVENT, 8, "commitment_confirmed", None, '{"n":"רות"}\n', '{"n":1}')
    assert Envelope.unpack(named.pack()) == named
    assert named.for_phones == '{"n":1}'
    assert sent.for_phones == sent.text


AT = datetime(2026, 1, 5, tzinfo=UTC)


def test_phones_are_told_no_ones_name() -> None:
    owner = {"id": 4, "name": "רות לוי", "organization": "עיריית דלת", "organization_id": 2}
    payload = {
        "commitment": {"id": 9, "text": "להכין טיוטה", "owner": owner},
        "reopened": [{"id": 3, "owner": owner, "review": None}],
        "agenda": [{"id": 1, "title": "תקציב", "presenter": "רות לוי", "minutes": 10}],
        "person": owner,
    }
    event = Event(1, 12, "commitment_confirmed", payload, "user:1", AT)
    full, phones = envelope_for(event).text, envelope_for(event).for_phones
    assert "רות לוי" in full
    assert "רות לוי" not in phones
    assert "עיריית דלת" not in phones
    told = json.loads(phones)["payload"]
    assert told["commitment"] == {"id": 9, "text": "להכין טיוטה", "owner": {"id": 4}}
    assert told["reopened"][0]["owner"] == {"id": 4}
    assert told["agenda"] == [{"id": 1, "title": "תקציב", "minutes": 10}]
    assert told["person"] == {"id": 4}
    # An event that names no one is encoded once, for every screen.
    plain = Event(1, 13, "stage_changed", {"stage": "agenda"}, "user:1", AT)
    assert envelope_for(plain).phone_text is None


async def test_phones_are_not_told_who_arrived_and_the_wall_is(db: Database, world: World) -> None:
    room, hub, meeting_id = await started_room(db, world)
    hall, screen = phone(), wall()
    add(room, hall, screen)
    start = room.last_seq
    kinds = ["joined", "marked_present", "opener_action", "stage_changed"]
    for n, kind in enumerate(kinds, start=1):
        await hub.publish(channel(meeting_id), event(start + n, kind))
    await asyncio.sleep(0.05)
    # Names of who came and the facilitator's notes are the console's and the wall's to draw.
    assert [m["event"] for m in drain(hall) if m] == ["stage_changed"]
    assert [m["event"] for m in drain(screen) if m] == kinds
    # Catching up from the ring is the same: a phone misses no event it draws.
    assert [json.loads(t)["event"] for t in room.catch_up(start, phone=True) or []] == [
        "stage_changed"
    ]
    await room.stop()


async def test_a_hall_arriving_shares_one_snapshot_and_the_events_after_it(
    db: Database, world: World
) -> None:
    room, hub, meeting_id = await started_room(db, world)
    reads = 0

    async def read() -> dict[str, object]:
        nonlocal reads
        reads += 1
        return await state.snapshot(db, meeting_id)

    start = room.last_seq
    welcomes = []
    hall = snapshots.SHARE_EVENTS + 50  # more joins than events a snapshot is shared across
    for n in range(1, hall + 1):  # each phone's join an event before its welcome
        await hub.publish(channel(meeting_id), event(start + n, "joined"))
        await asyncio.sleep(0)
        welcomes.append(await room.fresh(True, read))
    assert reads == 1
    snapshot, after = welcomes[-1]
    assert "attendance" not in json.loads(snapshot)  # a phone never draws it
    assert after == []  # and is told no joins
    full, joins = await room.fresh(False, read)  # the console: the same read, and the joins
    assert reads == 1
    assert "attendance" in json.loads(full)
    # Read as the first phone came (its own join in it), then every join after it.
    assert [json.loads(t)["seq"] for t in joins] == list(range(start + 2, start + hall + 1))
    for n in range(hall + 1, hall + snapshots.SHARE_EVENTS + 2):  # what phones draw: re-read
        await hub.publish(channel(meeting_id), event(start + n, "stage_changed"))
    await asyncio.sleep(0)
    await room.fresh(True, read)
    assert reads == 2
    await room.stop()


async def test_a_phone_arriving_after_a_release_is_not_handed_it_as_news(
    db: Database, world: World
) -> None:
    room, hub, meeting_id = await started_room(db, world)

    async def read() -> dict[str, object]:
        return await state.snapshot(db, meeting_id)

    start = room.last_seq
    await room.fresh(True, read)  # a snapshot shared from here
    released = event(start + 1, "name_released")
    await hub.publish(
        channel(meeting_id), Envelope(Kind.EVENT, start + 1, "name_released", 9, released.text)
    )
    await asyncio.sleep(0.05)
    # The person's next phone: a snapshot read after the release, not the release after it.
    _snapshot, after = await room.fresh(True, read)
    assert after == []
    await room.stop()


async def settled(room: Room, readings: int) -> None:
    """Until the gates were read that many times (a busy machine reads late, not more)."""
    for _ in range(500):
        if room.gates.readings >= readings:
            return
        await asyncio.sleep(0.01)


async def test_a_burst_of_events_costs_the_console_one_reading_of_the_gates(
    db: Database, world: World
) -> None:
    room, hub, meeting_id = await started_room(db, world)
    desk, hall = console(world), phone()
    add(room, desk, hall)
    await settled(room, 1)  # its first gates, as a console comes in
    for _ in range(500):
        if any(m and m["type"] == "gates" for m in drain(desk)):
            break
        await asyncio.sleep(0.01)
    readings = room.gates.readings
    start = room.last_seq
    for n in range(1, 21):
        await hub.publish(channel(meeting_id), event(start + n, "commitment_added"))
    await settled(room, readings + 1)
    await asyncio.sleep(gates.GATES_DELAY * 3)  # and no second reading follows
    told = [m for m in drain(desk) if m and m["type"] == "gates"]
    assert room.gates.readings == readings + 1
    assert len(told) == 1
    assert told[0]["gates"] == [{"key": "gate.no_commitment", "params": {}}]
    assert told[0]["named_answers"] == {}
    assert not [m for m in drain(hall) if m and m["type"] == "gates"]  # phones draw none
    await room.stop()


async def test_a_change_outside_the_log_during_a_shared_read_is_not_lost(
    db: Database, world: World
) -> None:
    room, _hub, meeting_id = await started_room(db, world)
    values = ["old"]
    reading = asyncio.Event()
    go_on = asyncio.Event()

    async def slow_read() -> dict[str, object]:
        seen = values[-1]
        reading.set()
        await go_on.wait()
        return {**await state.snapshot(db, meeting_id), "values": seen}

    first = asyncio.create_task(room.fresh(True, slow_read))
    await reading.wait()
    values.append("new")
    room.snapshots.void()  # the network's values changed while the read was under way
    go_on.set()
    await first

    async def read() -> dict[str, object]:
        return {**await state.snapshot(db, meeting_id), "values": values[-1]}

    later, _after = await room.fresh(True, read)
    assert json.loads(later)["values"] == "new"
    await room.stop()


def test_an_ack_says_whether_its_event_follows_on_the_senders_screen() -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    answered = Event(1, 5, "opener_tally", {"tally": {"2": 1}, "respondents": 1}, "p:1", at)
    moved = Event(1, 6, "stage_changed", {"stage": "agenda"}, "u:1", at)
    assert ack_for("a", answered, False, phone=True).follows is False  # phones get no tally
    assert ack_for("a", answered, False, phone=False).follows is True
    assert ack_for("b", moved, True, phone=True) == Ack("b", 6, True, True)


async def test_a_screen_resynced_gets_the_newest_tally_after_its_snapshot_and_a_phone_none(
    db: Database, world: World
) -> None:
    room, hub, meeting_id = await started_room(db, world)
    start = room.last_seq
    await hub.publish(channel(meeting_id), tally(start + 1, 3))
    await asyncio.sleep(0.05)
    # What a socket that fell behind is sent again (``_fresh``): the shared snapshot can be
    # many answers older than the tally, which never enters the ring it catches up from.
    scope = {
        "type": "websocket",
        "path": "/",
        "headers": [],
        "state": {"app": SimpleNamespace(db=db)},
    }
    websocket = WebSocket(scope, _never, _never)
    screen = Who(Role.PROJECTOR, Actor.projector(), world.network)
    sent = await live_socket._fresh(websocket, room, screen, None)
    assert sent[-1] == room.tally_text
    phone_of = Who(Role.PARTICIPANT, Actor.participant(world.people[0]), world.network)
    welcome, *after = await live_socket._fresh(websocket, room, phone_of, None)
    assert "tally" not in json.loads(welcome)["snapshot"]
    assert not [m for m in after if json.loads(m)["type"] == "tally"]
    await room.stop()


async def _never(*_args: object) -> Any:
    raise AssertionError("nothing is received or sent here")
