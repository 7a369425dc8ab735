"""Ordering: broadcasts arrive in any order (maybe twice) and leave in sequence order; a gap
waits briefly, then is filled from the database; the ring keeps recent events for catch-up."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

RING = 1024  # recent events kept per room, so a reconnecting screen catches up without the DB
GAP_WAIT = 1.0  # how long an out-of-order event waits for the ones before it

T = TypeVar("T")


class Sequencer(Generic[T]):
    """Holds what came early until what comes before it is in."""

    def __init__(self) -> None:
        self.last_seq = 0
        self._pending: dict[int, T] = {}

    @property
    def waiting(self) -> bool:
        """Whether something came early and waits for a gap to close."""
        return bool(self._pending)

    def start_at(self, seq: int) -> list[tuple[int, T]]:
        """The room read the log up to ``seq``: what came meanwhile is either in that read or
        follows it. Returns what may go out now."""
        self.last_seq = max(self.last_seq, seq)
        for stale in [n for n in self._pending if n <= self.last_seq]:
            del self._pending[stale]
        return self._ready()

    def accept(self, seq: int, item: T) -> list[tuple[int, T]]:
        """Take one numbered item; returns the items now in order (none for a duplicate)."""
        if seq <= self.last_seq:
            return []
        self._pending[seq] = item
        return self._ready()

    def _ready(self) -> list[tuple[int, T]]:
        ready = []
        while self.last_seq + 1 in self._pending:
            self.last_seq += 1
            ready.append((self.last_seq, self._pending.pop(self.last_seq)))
        return ready


class GapFiller:
    """Once armed, waits ``GAP_WAIT`` and then runs ``refill`` (which reads the missing events)."""

    def __init__(self, refill: Callable[[], Awaitable[None]]) -> None:
        self._refill = refill
        self._task: asyncio.Task[None] | None = None

    def arm(self) -> None:
        """Start waiting, unless already waiting."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            await asyncio.sleep(GAP_WAIT)
            await self._refill()
        finally:
            self._task = None

    async def stop(self) -> None:
        """Stop waiting (the room is closing)."""
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Ring(Generic[T]):
    """The last ``RING`` events of a room, each with its number."""

    def __init__(self, size: int = RING) -> None:
        self._items: deque[tuple[int, T]] = deque(maxlen=size)
        self.floor = 0  # every event after this number is held

    def start_at(self, seq: int) -> None:
        """Nothing before ``seq`` is held."""
        self.floor = max(self.floor, seq)

    def add(self, seq: int, item: T) -> None:
        """Keep an event (the oldest falls out once full)."""
        if len(self._items) == self._items.maxlen:
            self.floor = self._items[0][0]
        self._items.append((seq, item))

    def reaches(self, after_seq: int) -> bool:
        """Whether every event after ``after_seq`` is still held."""
        return after_seq >= self.floor

    def since(self, after_seq: int, last_seq: int) -> list[T] | None:
        """The events after ``after_seq``, oldest first; ``None`` when out of reach."""
        if after_seq > last_seq or after_seq < self.floor:
            return None
        return [item for seq, item in self._items if seq > after_seq]
