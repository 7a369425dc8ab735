"""A room: the sockets watching one meeting in this process, and the ordered stream they get.

Each broadcast arrives here already encoded and is handed to every socket as the same string.
A socket that cannot keep up does not hold up the rest: its bounded queue collapses to "resync"
and it gets a fresh snapshot (``outbox``). The parts: ordering and the ring (``ordering``), the
tally coalescer (``tallies``), the snapshot cache (``snapshots``), the watchdog for phones that
read nothing (``watchdog``); every room of the process is in the registry (``rooms``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from facilitator.db import Database
from facilitator.flow import Role
from facilitator.live.envelope import Envelope, Kind, envelope_for, message_for
from facilitator.live.gates import CONSOLES, GatesCoalescer
from facilitator.live.hub import Hub
from facilitator.live.messages import encode, server_tally
from facilitator.live.ordering import GapFiller, Ring, Sequencer
from facilitator.live.outbox import Connection
from facilitator.live.snapshots import SHARE_EVENTS, SnapshotCache
from facilitator.live.tallies import TallyCoalescer
from facilitator.live.watchdog import Watchdog
from facilitator.services.state import EVENTS_NOT_FOR_PHONES, events_since, gates, tally_now

__all__ = ["Room", "channel", "message_for"]

CATCH_UP = 500  # events read a page while a room catches up from the log
FANOUTS_KEPT = 100  # recent fan-out times kept per room
NOT_FOR_PHONES = EVENTS_NOT_FOR_PHONES
# Events that change nothing the console's gates show.
GATES_UNCHANGED = frozenset({"joined", "marked_present", "agenda_focus", "agenda_timer"})


def channel(meeting_id: int) -> str:
    """The hub channel of one meeting."""
    return f"meeting:{meeting_id}"


class Room:
    """One meeting's sockets in this process and the ordered stream they are handed."""

    def __init__(
        self,
        meeting_id: int,
        hub: Hub,
        db: Database,
        on_release: Callable[[int], None] | None = None,
        held: Callable[[int], Awaitable[int]] | None = None,
    ) -> None:
        self.meeting_id = meeting_id
        #: Told of every name released here, to stop that person's phones in every room.
        self.on_release = on_release
        self.hub = hub
        self.db = db
        self.connections: set[Connection] = set()
        #: The screens that are not phones (consoles and walls): a few, beside a hall.
        self.screens: set[Connection] = set()
        self._order: Sequencer[Envelope] = Sequencer()
        self._gap = GapFiller(self._fill_gap)
        self.ring: Ring[Envelope] = Ring()
        self.tallies = TallyCoalescer(self.screens)
        self.snapshots = SnapshotCache()
        self.gates = GatesCoalescer(
            self.screens,
            lambda: gates(self.db, self.meeting_id),
            (lambda: held(meeting_id)) if held is not None else None,
        )
        self.watchdog = Watchdog(self.connections)
        #: Sequence number -> person, for events that release a name: on delivery, that
        #: person's phones in this room are signed out.
        self._releases: dict[int, int] = {}
        #: A beat told of events not seen here (lost between processes): read them.
        self._behind = False
        self._pump: asyncio.Task[None] | None = None
        #: Seconds each recent event took to hand to every socket (for Live.stats).
        self.fanouts: deque[float] = deque(maxlen=FANOUTS_KEPT)
        #: The last event phones are told (they are told no joins), and how many such events
        #: came before the shared snapshot was read and since: a hall joining moves neither.
        self._phone_seq = 0
        self._phone_events = 0
        self._phone_events_at_snapshot = 0

    @property
    def last_seq(self) -> int:
        """The last event handed on, in order."""
        return self._order.last_seq

    @property
    def tally_text(self) -> str | None:
        """The newest tally, encoded."""
        return self.tallies.text

    @property
    def dropped(self) -> int:
        """Phones dropped for reading nothing."""
        return self.watchdog.dropped

    def add(self, connection: Connection) -> None:
        """A socket joins the room (its welcome is sent by the socket's own task)."""
        self.connections.add(connection)
        if connection.role is not Role.PARTICIPANT:
            self.screens.add(connection)
        if connection.role in CONSOLES:
            self.gates.touch()  # a console's first gates carry the names shown with answers

    def discard(self, connection: Connection) -> None:
        """A socket leaves the room."""
        self.connections.discard(connection)
        self.screens.discard(connection)

    async def start(self) -> None:
        """Subscribe first, then read where the meeting stands: nothing falls in between."""
        subscribed = asyncio.Event()
        self._pump = asyncio.create_task(self._run(subscribed))
        await subscribed.wait()
        seq, tally = await tally_now(self.db, self.meeting_id)
        floor = max(self.last_seq, seq)
        self.ring.start_at(floor)
        if tally is not None and self.tallies.text is None:
            self.tallies.text = encode(server_tally(seq, tally[0], tally[1]))
        # Broadcasts that came while we read are either in the snapshot read or follow it.
        for stale in [n for n in self._releases if n <= floor]:
            del self._releases[stale]
        for _number, envelope in self._order.start_at(floor):
            self._deliver(envelope)
        self.watchdog.start()

    async def stop(self) -> None:
        """Unsubscribe and cancel every timer."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self._gap.stop()
        await self.gates.stop()
        self.tallies.stop()
        self.watchdog.stop()

    async def _run(self, subscribed: asyncio.Event) -> None:
        async with self.hub.subscribe(channel(self.meeting_id)) as subscription:
            subscribed.set()
            async for envelope in subscription:
                self.receive(envelope)

    def receive(self, envelope: Envelope) -> None:
        """Take one broadcast (any order, maybe twice) and pass it on in sequence order."""
        if envelope.kind is Kind.BEAT:  # another process's log reaches this far
            if envelope.seq < 0 or envelope.seq > self.last_seq:
                self._behind = True
                self._gap.arm()
            return
        if envelope.seq <= self.last_seq:
            return
        if envelope.released is not None:
            self._releases[envelope.seq] = envelope.released
        for _number, ready in self._order.accept(envelope.seq, envelope):
            self._deliver(ready)
        if self._order.waiting:
            self._gap.arm()

    async def _fill_gap(self) -> None:
        """An event published out of order waited (or a beat said there are more); now the
        missing ones come from the DB."""
        if self._order.waiting or self._behind:
            self._behind = False
            # Page by page: a room far behind (a long outage of Redis in a hall's opener)
            # reads until the log has no more, not one page and then waits for news.
            while True:
                page = await events_since(self.db, self.meeting_id, self.last_seq, CATCH_UP)
                for event in page:
                    self.receive(envelope_for(event))
                if len(page) < CATCH_UP:
                    break

    def _deliver(self, envelope: Envelope) -> None:
        if envelope.kind is Kind.TALLY:
            # Tallies stay out of the ring: only the newest matters, and a thousand phones
            # answering would otherwise push every screen's last number out of reach.
            self.tallies.update(envelope.text)
            self.gates.touch()  # the names shown with answers
            return
        self.ring.add(envelope.seq, envelope)
        if envelope.released is not None:
            # A phone arriving later must not be handed this after its snapshot: the person's
            # next phone would read its own release as news and sign itself out.
            self.snapshots.void()
        started = time.perf_counter()
        if envelope.event in NOT_FOR_PHONES:
            targets = self.screens
        else:
            targets = self.connections
            self._phone_seq = envelope.seq
            self._phone_events += 1
        text, phones = envelope.text, envelope.for_phones
        for connection in targets:
            connection.offer(phones if connection.role is Role.PARTICIPANT else text)
        self.fanouts.append(time.perf_counter() - started)
        if envelope.event not in GATES_UNCHANGED:
            self.gates.touch()
        if self._releases:
            released = self._releases.pop(envelope.seq, None)
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

    async def fresh(
        self, phone: bool, read: Callable[[], Awaitable[dict[str, Any]]]
    ) -> tuple[str, list[str]]:
        """A snapshot for a screen with nothing to catch up from, and the events after it:
        the snapshot is shared by every screen arriving while fewer than ``SHARE_EVENTS``
        events came after it, so a hall joining costs one read and one encoding, not one each."""
        while True:
            shared = await self.snapshots.get(self._shareable, self._snapshot_point, read)
            missed = self._since(shared.seq, phone)
            if missed is not None:
                return (shared.phones if phone else shared.full), missed
            self.snapshots.void()  # out of the ring's reach meanwhile: read a new one

    def _shareable(self, seq: int) -> bool:
        # While the ring holds every event after it and phones were told few since: joins
        # change no phone's copy, and a console gets them from the ring after the snapshot.
        told = self._phone_events - self._phone_events_at_snapshot
        return self.ring.reaches(seq) and told <= SHARE_EVENTS

    def _snapshot_point(self) -> int:
        """Where the log stands as a shared snapshot is read."""
        self._phone_events_at_snapshot = self._phone_events
        return self.last_seq

    def _since(self, after_seq: int, phone: bool) -> list[str] | None:
        if phone and self._phone_seq <= after_seq and self.ring.reaches(after_seq):
            # Only joins since (or nothing): a phone arriving in a hall costs no scan.
            return [] if after_seq <= self.last_seq else None
        held = self.ring.since(after_seq, self.last_seq)
        if held is None:
            return None
        if not phone:
            return [e.text for e in held]
        return [e.for_phones for e in held if e.event not in NOT_FOR_PHONES]

    def catch_up(self, after_seq: int, phone: bool = False) -> list[str] | None:
        """What a screen that saw ``after_seq`` missed, from memory; ``None`` if out of reach."""
        missed = self._since(after_seq, phone)
        if missed is not None and not phone and self.tallies.text is not None:
            missed.append(self.tallies.text)
        return missed
