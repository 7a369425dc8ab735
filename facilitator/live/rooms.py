"""Rooms: the sockets watching one meeting in this process, and the ordered stream they get.

Each broadcast arrives here already encoded and is handed to every socket as the same string.
A socket that cannot keep up does not hold up the rest: its bounded queue collapses to "resync"
and it gets a fresh snapshot. Opener tallies are coalesced: the wall sees at most ten a second,
phones two, and the first one at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from facilitator.db import Database
from facilitator.flow import Role
from facilitator.live.hub import Hub
from facilitator.live.messages import encode, server_event, server_tally
from facilitator.services.actors import Actor
from facilitator.services.commands import Event, Result
from facilitator.services.state import events_since, tally_now

log = logging.getLogger(__name__)

RELEASES_KEPT = 10_000  # name releases remembered per process (see Live.released)
RING = 1024  # recent events kept per room, so a reconnecting screen catches up without the DB
QUEUE_LIMIT = 256  # messages waiting for one socket before it is switched to a resync
GAP_WAIT = 1.0  # how long an out-of-order event waits for the ones before it
TALLY_INTERVAL = {True: 0.1, False: 0.5}  # seconds between tallies: wall and console / phones
RESYNC: None = None  # a queue entry that means "send this socket a fresh snapshot"
SPREAD_SLICE = 200  # screens handed a tally per turn of the event loop
FANOUTS_KEPT = 100  # recent fan-out times kept per room
STUCK_AFTER = 10.0  # seconds one send may wait on a phone that reads nothing before it is dropped
WATCH_EVERY = 2.0  # how often a room looks for such phones


def channel(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


def message_for(event: Event) -> dict[str, Any]:
    """What the room is told about an event: its actor is never sent (the opener is anonymous),
    and an opener answer travels as the tally it produced."""
    if event.type == "opener_tally":
        return server_tally(event.seq, event.payload["tally"], event.payload["respondents"])
    return server_event(event.seq, event.type, event.payload, event.at.isoformat())


class Outbox:
    """One socket's waiting messages: a deque and at most one waiter. A broadcast touches every
    socket's outbox, so it is kept lighter than ``asyncio.Queue``."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[str | None] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: str | None) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> str | None:
        return self._items.popleft()

    def clear(self) -> None:
        self._items.clear()

    async def get(self) -> str | None:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class Connection:
    """One socket's outbox and who is behind it."""

    __slots__ = (
        "abort",
        "actor",
        "busy",
        "closing",
        "direct",
        "lang",
        "opened_at",
        "overflows",
        "queue",
        "role",
        "sending_since",
        "session_id",
    )

    def __init__(
        self,
        role: Role,
        actor: Actor,
        lang: str,
        *,
        session_id: int | None = None,
        abort: Callable[[], None] | None = None,
    ) -> None:
        self.role = role
        self.actor = actor
        self.lang = lang
        self.session_id = session_id
        self.queue = Outbox()
        self.overflows = 0
        self.closing: int | None = None
        #: When this screen's sender was recognised (a name released after it stops it).
        self.opened_at = time.monotonic()
        #: When the send in progress began (None when idle): a send that never ends means a
        #: phone that stopped reading.
        self.sending_since: float | None = None
        #: Drops the connection at once, unsent data and all (set by the socket endpoint).
        self.abort = abort
        #: Sends a text at once, without waking a task, when the socket can take it without
        #: waiting; False when it could not. Set by the socket endpoint once the welcome is out.
        self.direct: Callable[[str], bool] | None = None
        #: The sender task holds a message it has not finished sending: later ones queue.
        self.busy = False

    @property
    def fast(self) -> bool:
        """Screens that show the tally as it moves (the wall, the console)."""
        return self.role is not Role.PARTICIPANT

    def offer(self, text: str) -> None:
        # The common case, a socket keeping up: written now, in order, with no task to wake;
        # a broadcast then costs about what a bare websockets broadcast does.
        if (
            self.direct is not None
            and not self.busy
            and not self.queue
            and self.closing is None
            and self.direct(text)
        ):
            return
        if len(self.queue) >= QUEUE_LIMIT:
            # A slow reader: drop what it has not read; a snapshot replaces all of it.
            self.overflows += 1
            self.queue.clear()
            self.queue.put_nowait(RESYNC)
            return
        self.queue.put_nowait(text)

    def is_closing(self) -> bool:
        """Whether the server decided to close this socket (checked between awaits)."""
        return self.closing is not None

    def close(self, code: int, *, drop_queued: bool = True) -> None:
        """Close the socket: the receiver stops taking commands (it checks ``closing``) and the
        sender closes when it reaches the marker. A logout drops what is still queued, so a
        signed-out screen is told nothing more; a flood is told why it is cut off first."""
        self.closing = code
        if drop_queued or len(self.queue) >= QUEUE_LIMIT:
            self.queue.clear()
        self.queue.put_nowait(RESYNC)

    def is_hopeless(self, now: float) -> bool:
        return self.sending_since is not None and now - self.sending_since > STUCK_AFTER


class Room:
    def __init__(
        self,
        meeting_id: int,
        hub: Hub,
        db: Database,
        on_release: Callable[[int], None] | None = None,
    ) -> None:
        self.meeting_id = meeting_id
        #: Told of every name released here, to stop that person's phones in every room.
        self.on_release = on_release
        self.hub = hub
        self.db = db
        self.connections: set[Connection] = set()
        self.ring: deque[tuple[int, bool, str]] = deque(maxlen=RING)
        self.ring_floor = 0  # the ring holds every event after this number
        self.last_seq = 0
        self.tally_text: str | None = None
        self._pending: dict[int, tuple[bool, str]] = {}
        self._tally_sent = {True: 0.0, False: 0.0}
        self._tally_timer: dict[bool, asyncio.TimerHandle | None] = {True: None, False: None}
        self._spreading: dict[bool, tuple[asyncio.Handle, list[Connection], str, int] | None] = {
            True: None,
            False: None,
        }
        self._gap_task: asyncio.Task[None] | None = None
        #: Sequence number -> person, for events that release a name: on delivery, that
        #: person's phones in this room are signed out.
        self._releases: dict[int, int] = {}
        self._pump: asyncio.Task[None] | None = None
        self._snapshot: tuple[int, str] | None = None
        self._snapshot_lock = asyncio.Lock()
        self._watch: asyncio.TimerHandle | None = None
        self.dropped = 0  # phones dropped for reading nothing
        #: Seconds each recent event took to hand to every socket (for Live.stats).
        self.fanouts: deque[float] = deque(maxlen=FANOUTS_KEPT)

    async def start(self) -> None:
        """Subscribe first, then read where the meeting stands: nothing falls in between."""
        subscribed = asyncio.Event()
        self._pump = asyncio.create_task(self._run(subscribed))
        await subscribed.wait()
        seq, tally = await tally_now(self.db, self.meeting_id)
        self.last_seq = self.ring_floor = max(self.last_seq, seq)
        if tally is not None and self.tally_text is None:
            self.tally_text = encode(server_tally(seq, tally[0], tally[1]))
        # Broadcasts that came while we read are either in the snapshot read or follow it.
        for stale in [n for n in self._pending if n <= self.last_seq]:
            del self._pending[stale]
            self._releases.pop(stale, None)
        while self.last_seq + 1 in self._pending:
            self.last_seq += 1
            self._deliver(self.last_seq, *self._pending.pop(self.last_seq))
        self._watch = asyncio.get_running_loop().call_later(WATCH_EVERY, self._drop_hopeless)

    async def stop(self) -> None:
        for task in (self._pump, self._gap_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for timer in [*self._tally_timer.values(), self._watch]:
            if timer is not None:
                timer.cancel()
        for spreading in self._spreading.values():
            if spreading is not None:
                spreading[0].cancel()

    def _drop_hopeless(self) -> None:
        """Drop the phones stuck in one send for too long: they read nothing, and each holds a
        buffer of unsent data. Back on a working network, a phone reconnects and catches up."""
        now = time.monotonic()
        for connection in self.connections:
            if connection.is_hopeless(now) and connection.abort is not None:
                log.info("dropping a screen that has read nothing for %.0f s", STUCK_AFTER)
                self.dropped += 1
                connection.sending_since = None  # once
                connection.abort()
        self._watch = asyncio.get_running_loop().call_later(WATCH_EVERY, self._drop_hopeless)

    async def _run(self, subscribed: asyncio.Event) -> None:
        async with self.hub.subscribe(channel(self.meeting_id)) as subscription:
            subscribed.set()
            async for text in subscription:
                self.receive(text)

    def receive(self, text: str) -> None:
        """Take one broadcast (any order, maybe twice) and pass it on in sequence order."""
        head = json.loads(text)
        if "seq" not in head:  # outside the meeting's log (the network's values changed)
            self._snapshot = None  # the shared snapshot shows the old values: read it anew
            for connection in self.connections:
                connection.offer(text)
            return
        seq = int(head["seq"])
        if seq <= self.last_seq:
            return
        self._pending[seq] = (head["type"] == "tally", text)
        if head.get("event") == "name_released":
            self._releases[seq] = int(head["payload"]["person"]["id"])
        while self.last_seq + 1 in self._pending:
            self.last_seq += 1
            self._deliver(self.last_seq, *self._pending.pop(self.last_seq))
        if self._pending and self._gap_task is None:
            self._gap_task = asyncio.create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        """An event published out of order waits briefly; then the missing ones come from the DB."""
        try:
            await asyncio.sleep(GAP_WAIT)
            if self._pending:
                for event in await events_since(self.db, self.meeting_id, self.last_seq):
                    self.receive(encode(message_for(event)))
        finally:
            self._gap_task = None

    def _deliver(self, seq: int, is_tally: bool, text: str) -> None:
        if is_tally:
            # Tallies stay out of the ring: only the newest matters, and a thousand phones
            # answering would otherwise push every screen's last number out of reach.
            self.tally_text = text
            for fast in (True, False):
                self._schedule_tally(fast)
            return
        if len(self.ring) == self.ring.maxlen:
            self.ring_floor = self.ring[0][0]
        self.ring.append((seq, is_tally, text))
        started = time.perf_counter()
        for fast in (True, False):
            self._finish_spread(fast)
        for connection in self.connections:
            connection.offer(text)
        self.fanouts.append(time.perf_counter() - started)
        if self._releases:
            released = self._releases.pop(seq, None)
            if released is not None:
                if self.on_release is not None:
                    self.on_release(released)  # this room and every other one
                else:
                    self.sign_out(released)

    def sign_out(self, person_id: int) -> None:
        """A facilitator released this person's name: the phones that held it were just told
        why; now they are closed (after what they were told) and stop being heard. Every
        process's room does this for its own sockets, as each receives the event."""
        for connection in self.connections:
            if connection.role is Role.PARTICIPANT and connection.actor.person_id == person_id:
                connection.close(4401, drop_queued=False)

    def phones_connected(self) -> set[int]:
        """The people with a phone connected to this room in this process."""
        return {
            c.actor.person_id
            for c in self.connections
            if c.role is Role.PARTICIPANT and c.actor.person_id is not None
        }

    def _schedule_tally(self, fast: bool) -> None:
        if self._tally_timer[fast] is not None:
            return  # a flush is already due; it will carry the newest tally
        wait = self._tally_sent[fast] + TALLY_INTERVAL[fast] - time.monotonic()
        if wait <= 0:
            self._flush_tally(fast)
        else:
            loop = asyncio.get_running_loop()
            self._tally_timer[fast] = loop.call_later(wait, self._flush_tally, fast)

    def _flush_tally(self, fast: bool) -> None:
        self._tally_timer[fast] = None
        self._tally_sent[fast] = time.monotonic()
        if self.tally_text is None:
            return
        self._finish_spread(fast)
        targets = [c for c in self.connections if c.fast is fast]
        self._spread(fast, targets, self.tally_text, 0)

    def _spread(self, fast: bool, targets: list[Connection], text: str, start: int) -> None:
        """Hand a tally to a slice of screens per turn of the loop: two thousand phones at
        once would hold every acknowledgement waiting behind them for tens of milliseconds."""
        end = start + SPREAD_SLICE
        for connection in targets[start:end]:
            connection.offer(text)
        if end < len(targets):
            handle = asyncio.get_running_loop().call_soon(self._spread, fast, targets, text, end)
            self._spreading[fast] = (handle, targets, text, end)
        else:
            self._spreading[fast] = None

    def _finish_spread(self, fast: bool) -> None:
        """Give the rest of a tally being spread now: what follows must not overtake it."""
        spreading = self._spreading[fast]
        if spreading is not None:
            handle, targets, text, start = spreading
            handle.cancel()
            self._spreading[fast] = None
            for connection in targets[start:]:
                connection.offer(text)

    async def snapshot_json(self, read: Callable[[], Awaitable[dict[str, Any]]]) -> str:
        """The meeting's snapshot, encoded once for every screen that needs it at this point
        of the log: a hall of phones joining at once costs one read, not one each."""
        async with self._snapshot_lock:
            cached = self._snapshot
            if cached is not None and cached[0] == self.last_seq:
                return cached[1]
            seq = self.last_seq
            text = encode(await read())
            self._snapshot = (seq, text)
            return text

    def catch_up(self, after_seq: int) -> list[str] | None:
        """What a screen that saw ``after_seq`` missed, from memory; ``None`` if out of reach."""
        if after_seq > self.last_seq or after_seq < self.ring_floor:
            return None
        missed = [text for seq, _tally, text in self.ring if seq > after_seq]
        if self.tally_text is not None:
            missed.append(self.tally_text)
        return missed


class Live:
    """Every room of this process, the hub that links processes, and who is signed in where."""

    def __init__(self, hub: Hub, db: Database) -> None:
        self.hub = hub
        self.db = db
        self.rooms: dict[int, Room] = {}
        self.by_session: dict[int, set[Connection]] = {}
        #: Person -> when a name release was seen here (newest last, bounded): a phone token
        #: serves every meeting, so a release stops that person's sockets in every room, and
        #: any socket recognised before it (even one that joined a room a moment later).
        self.released: OrderedDict[int, float] = OrderedDict()
        self._lock = asyncio.Lock()

    def release(self, person_id: int) -> None:
        """A name was released: sign that person's phones out of every room of this process."""
        self.released[person_id] = time.monotonic()
        self.released.move_to_end(person_id)
        while len(self.released) > RELEASES_KEPT:
            self.released.popitem(last=False)
        for room in list(self.rooms.values()):
            room.sign_out(person_id)

    def released_since(self, person_id: int | None, moment: float) -> bool:
        """Whether this person's name was released after ``moment`` (a monotonic time)."""
        seen = self.released.get(person_id) if person_id is not None else None
        return seen is not None and seen >= moment

    async def enter(self, meeting_id: int, connection: Connection) -> Room:
        async with self._lock:
            room = self.rooms.get(meeting_id)
            if room is None:
                room = Room(meeting_id, self.hub, self.db, on_release=self.release)
                await room.start()
                self.rooms[meeting_id] = room
            room.connections.add(connection)
        if connection.session_id is not None:
            self.by_session.setdefault(connection.session_id, set()).add(connection)
        return room

    async def leave(self, room: Room, connection: Connection) -> None:
        if connection.session_id is not None:
            sockets = self.by_session.get(connection.session_id, set())
            sockets.discard(connection)
            if not sockets:
                self.by_session.pop(connection.session_id, None)
        async with self._lock:
            room.connections.discard(connection)
            if not room.connections and self.rooms.get(room.meeting_id) is room:
                del self.rooms[room.meeting_id]
                await room.stop()

    async def commit_and_tell(self, command: Awaitable[Result]) -> Result:
        """Await a command and tell the room, even if whoever sent it goes away in between
        (a phone whose Wi-Fi drops mid-answer): a committed change must reach the screens,
        and the phone's resend would be a replay, which is not told again."""

        async def both() -> Result:
            result = await command
            await self.publish(result)
            return result

        task = asyncio.ensure_future(both())
        task.add_done_callback(_retrieved)
        return await asyncio.shield(task)

    async def publish(self, result: Result) -> None:
        """Tell the room about a committed change (a replayed command changed nothing)."""
        if result.replayed:
            return
        event = result.event
        await self.hub.publish(channel(event.meeting_id), encode(message_for(event)))

    async def broadcast_outside_log(self, meeting_ids: list[int], message: str) -> None:
        """A message that is no meeting event (the network's values changed) to some rooms."""
        for meeting_id in meeting_ids:
            await self.hub.publish(channel(meeting_id), message)

    def stats(self) -> dict[str, Any]:
        """How this process's live rooms are holding, in numbers only (no names, no ids)."""
        fanouts = sorted(t for room in self.rooms.values() for t in room.fanouts)
        writer = self.db.group_commit
        return {
            "rooms": len(self.rooms),
            "sockets": sum(len(room.connections) for room in self.rooms.values()),
            "dropped_for_reading_nothing": sum(room.dropped for room in self.rooms.values()),
            "recent_fanouts": len(fanouts),
            "fanout_ms": {
                "p50": _ms(fanouts, 0.5),
                "p99": _ms(fanouts, 0.99),
                "max": _ms(fanouts, 1.0),
            },
            "group_commit": {"transactions": writer.batches, "commands": writer.commands},
        }

    def phones_connected(self, meeting_id: int) -> set[int]:
        """The people whose phone is in this meeting's room, in this process."""
        room = self.rooms.get(meeting_id)
        return room.phones_connected() if room is not None else set()

    def meetings_watched(self, session_ids: set[int]) -> set[int]:
        """The meetings these staff sessions have sockets in, in this process."""
        return {
            room.meeting_id
            for room in self.rooms.values()
            if any(c.session_id in session_ids for c in room.connections)
        }

    def leave_meeting(self, meeting_id: int, session_ids: set[int]) -> None:
        """Close these sessions' sockets in one meeting (no longer within their reach)."""
        room = self.rooms.get(meeting_id)
        for connection in list(room.connections) if room is not None else []:
            if connection.session_id in session_ids:
                connection.close(1008)

    def end_session(self, session_id: int) -> None:
        """Logout: close every socket that session opened in this process."""
        for connection in self.by_session.pop(session_id, set()):
            connection.close(4401)

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.stop()
        self.rooms.clear()


def _ms(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def _retrieved(task: asyncio.Task[Result]) -> None:
    """Mark a shielded command's failure as seen: its sender, if still there, has its own copy."""
    if not task.cancelled():
        task.exception()
