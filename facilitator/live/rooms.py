"""Rooms: every live room of this process (the registry), the hub that links processes, and who
is signed in where. A room itself is in ``room``; its parts are ``outbox``, ``ordering``,
``tallies``, ``snapshots`` and ``watchdog``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from facilitator.db import Database
from facilitator.live.envelope import Kind, control, envelope_for
from facilitator.live.hub import Hub
from facilitator.live.outbox import QUEUE_LIMIT, RESYNC, Connection
from facilitator.live.room import Room, channel, message_for
from facilitator.services.access import open_sessions, owners_of_open
from facilitator.services.commands import Event, Result
from facilitator.services.scope import out_of_reach

__all__ = ["QUEUE_LIMIT", "RESYNC", "Connection", "Live", "Room", "channel", "message_for"]

RELEASES_KEPT = 10_000  # name releases remembered per process (see Live.released)
log = logging.getLogger("facilitator.live")
PROCESSES = "processes"  # the hub channel every process listens to (a session ended, …)
SWEEP_EVERY = 60.0  # seconds between two checks of this process's staff sockets against the DB


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
        #: How many networks wait at a meeting's door after guessing codes (the join guard's
        #: count, set by the app): the console's gates carry it.
        self.held_at: Callable[[int], Awaitable[int]] | None = None
        #: Mail was written with a change (the record, at a close): the app's mail rounds are
        #: woken so it goes now, not at the next round.
        self.mail_written: Callable[[], None] = lambda: None
        self._control: asyncio.Task[None] | None = None
        self._sweeping: asyncio.Task[None] | None = None
        #: Reach rechecks under way: each reads the database, which must not hold the listener
        #: (a sign-out behind it would wait).
        self._rechecks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start the hub and listen for what every process must act on."""
        await self.hub.start(self.stats)
        listening = asyncio.Event()
        self._control = asyncio.create_task(self._listen(listening))
        await listening.wait()
        self._sweeping = asyncio.create_task(self._sweep_now_and_then())

    async def _listen(self, listening: asyncio.Event) -> None:
        async with self.hub.subscribe(PROCESSES) as subscription:
            listening.set()
            async for message in subscription:
                if message.kind is Kind.BEAT and message.seq < 0:
                    # Redis came back (here or in the process that says so): a control message
                    # may have been lost meanwhile.
                    self._later(self._sweep())
                if message.kind is not Kind.CONTROL:
                    continue
                try:
                    if message.event == "session_ended":
                        self._close_session(int(message.text))
                    elif message.event == "held_changed":
                        self._touch_gates(int(message.text))
                    elif message.event == "reach_changed":
                        self._later(self._recheck_reach(int(message.text)))
                except ValueError:  # one bad word (another version?) must not end the listener
                    log.warning("live.bad_control", extra={"what": message.event})

    def release(self, person_id: int) -> None:
        """A name was released: sign that person's phones out of every room of this process."""
        self.released[person_id] = time.monotonic()
        self.released.move_to_end(person_id)
        while len(self.released) > RELEASES_KEPT:
            self.released.popitem(last=False)
        for room in list(self.rooms.values()):
            room.sign_out(person_id)

    async def _held(self, meeting_id: int) -> int:
        return await self.held_at(meeting_id) if self.held_at is not None else 0

    async def held_changed(self, meeting_id: int) -> None:
        """More (or no) networks wait at this meeting's door: its consoles are told, in
        whichever process they are."""
        await self.hub.publish(PROCESSES, control("held_changed", str(meeting_id)))

    def _touch_gates(self, meeting_id: int) -> None:
        room = self.rooms.get(meeting_id)
        if room is not None:
            room.gates.touch()

    def released_since(self, person_id: int | None, moment: float) -> bool:
        """Whether this person's name was released after ``moment`` (a monotonic time)."""
        seen = self.released.get(person_id) if person_id is not None else None
        return seen is not None and seen >= moment

    async def enter(self, meeting_id: int, connection: Connection) -> Room:
        """Put a socket in its meeting's room, starting the room for the first one."""
        async with self._lock:
            room = self.rooms.get(meeting_id)
            if room is None:
                room = Room(
                    meeting_id,
                    self.hub,
                    self.db,
                    on_release=self.release,
                    held=self._held,
                )
                await room.start()
                self.rooms[meeting_id] = room
            room.add(connection)
        if connection.session_id is not None:
            self.by_session.setdefault(connection.session_id, set()).add(connection)
        return room

    async def leave(self, room: Room, connection: Connection) -> None:
        """Take a socket out of its room, stopping the room after the last one."""
        if connection.session_id is not None:
            sockets = self.by_session.get(connection.session_id, set())
            sockets.discard(connection)
            if not sockets:
                self.by_session.pop(connection.session_id, None)
        async with self._lock:
            room.discard(connection)
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
        await self.hub.publish(channel(event.meeting_id), envelope_for(event))
        if event.type == "meeting_closed":
            self.mail_written()

    async def tell(self, events: list[Event]) -> None:
        """Tell the rooms about events logged outside a meeting command (the network's values
        changed: one event in each open meeting)."""
        for event in events:
            await self.hub.publish(channel(event.meeting_id), envelope_for(event))

    async def stats_everywhere(self) -> dict[str, Any]:
        """``stats`` summed over every process that shares the hub (``processes`` says how
        many answered); fan-out times are the slowest process's."""
        return summed(await self.hub.every_process(self.stats()))

    def stats(self) -> dict[str, Any]:
        """How this process's live rooms are holding, in numbers only (no names, no ids)."""
        fanouts = sorted(t for room in self.rooms.values() for t in room.fanouts)
        writer = self.db.group_commit
        return {
            "rooms": len(self.rooms),
            "sockets": sum(len(room.connections) for room in self.rooms.values()),
            # Sockets the server hooks reach past ASGI for (every one, under uvicorn).
            "sockets_direct": sum(
                1 for room in self.rooms.values() for c in room.connections if c.direct
            ),
            "sockets_abortable": sum(
                1 for room in self.rooms.values() for c in room.connections if c.abort
            ),
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

    async def end_session(self, session_id: int) -> None:
        """Logout: close every socket that session opened, here at once and in every other
        process as the hub tells it."""
        self._close_session(session_id)
        await self.hub.publish(PROCESSES, control("session_ended", str(session_id)))

    def _close_session(self, session_id: int) -> None:
        for connection in self.by_session.pop(session_id, set()):
            connection.close(4401)

    async def reach_changed(self, user_id: int) -> None:
        """A staff user's groups or role changed: their consoles and walls of meetings no
        longer within reach close (their commands are refused already; now they hear nothing),
        in whichever process they are, this one too as the hub hands it back."""
        await self.hub.publish(PROCESSES, control("reach_changed", str(user_id)))

    def _later(self, recheck: Coroutine[Any, Any, None]) -> None:
        """Run a recheck (or a sweep) beside the listener, kept until it ends."""
        task = asyncio.create_task(recheck)
        self._rechecks.add(task)
        task.add_done_callback(self._rechecked)

    async def _sweep(self) -> None:
        """What a lost control message would have said, read from the database: the staff
        sockets here of sessions ended elsewhere close, and each of their users' reach is
        checked again. After Redis comes back, and every ``SWEEP_EVERY`` (a Redis that hung
        and answers again reconnects no one)."""
        if not self.by_session:
            return
        owners = await owners_of_open(self.db, set(self.by_session))
        for session_id in set(self.by_session) - set(owners):
            self._close_session(session_id)
        for user_id in set(owners.values()):
            # Their sessions with sockets here are known already: no read of them again.
            await self._recheck_reach(user_id, {s for s, u in owners.items() if u == user_id})

    async def _sweep_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            self._later(self._sweep())

    def _rechecked(self, task: asyncio.Task[None]) -> None:
        self._rechecks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The database was away: the user's commands are still refused, each checked.
            log.warning("live.recheck_failed", extra={"error": str(task.exception())})

    async def _recheck_reach(self, user_id: int, sessions: set[int] | None = None) -> None:
        """Close this process's sockets of the user's sessions (``sessions``, else read) in
        meetings out of reach."""
        if not self.by_session:  # no staff socket here: nothing to read
            return
        if sessions is None:
            sessions = await open_sessions(self.db, user_id)
        watched = self.meetings_watched(sessions)
        if not watched:
            return
        for meeting_id in await out_of_reach(self.db, user_id, watched):
            self.leave_meeting(meeting_id, sessions)

    async def close(self) -> None:
        """Stop every room and the hub (the server is shutting down)."""
        for task in (self._control, self._sweeping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for task in self._rechecks:
            task.cancel()
        await asyncio.gather(*self._rechecks, return_exceptions=True)
        for room in list(self.rooms.values()):
            await room.stop()
        self.rooms.clear()
        await self.hub.close()


def summed(figures: list[dict[str, Any]]) -> dict[str, Any]:
    """Several processes' ``Live.stats`` as one: counts added, times the worst."""
    total: dict[str, Any] = {"processes": len(figures)}
    for one in figures:
        for name, value in one.items():
            if isinstance(value, dict):
                inner = total.setdefault(name, {})
                for key, number in value.items():
                    worst = name == "fanout_ms"
                    if number is None:
                        inner.setdefault(key, None)
                    elif inner.get(key) is None:
                        inner[key] = number
                    else:
                        inner[key] = max(inner[key], number) if worst else inner[key] + number
            else:
                total[name] = total.get(name, 0) + value
    return total


def _ms(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def _retrieved(task: asyncio.Task[Result]) -> None:
    """Mark a shielded command's failure as seen: its sender, if still there, has its own copy."""
    if not task.cancelled():
        task.exception()
