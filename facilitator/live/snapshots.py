"""The snapshot cache: a room's snapshot read once and encoded once per face, then shared with
every screen that arrives while few events have come after it (they get those events from the
ring after it): a hall of phones joining costs one read, not one each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from facilitator.live.messages import encode
from facilitator.services.state import for_phones

SHARE_EVENTS = 256  # events phones draw after a snapshot before a screen arriving gets a fresh one


@dataclass(frozen=True, slots=True)
class Shared:
    """One snapshot as of event ``seq``: for the console and the wall, and for phones."""

    seq: int
    full: str
    phones: str


class SnapshotCache:
    """The newest shared snapshot of one room."""

    def __init__(self) -> None:
        self._cached: Shared | None = None
        self._lock = asyncio.Lock()
        #: Bumped by every ``void``: a read that began before one is out of date when it ends.
        self._generation = 0
        self.reads = 0  # how many times it was read (for tests and stats)

    def void(self) -> None:
        """What it shows changed outside the log (the network's values, a released name): read
        it anew, even if a read is under way now (it may have read the old)."""
        self._cached = None
        self._generation += 1

    async def get(
        self,
        usable: Callable[[int], bool],
        last_seq: Callable[[], int],
        read: Callable[[], Awaitable[dict[str, Any]]],
    ) -> Shared:
        """The shared snapshot if ``usable`` (given its number) says it still is, else a fresh
        one as of ``last_seq()``; screens arriving together wait for the first one's read."""
        async with self._lock:
            cached = self._cached
            if cached is not None and usable(cached.seq):
                return cached
            while True:
                generation, seq = self._generation, last_seq()
                data = await read()
                self.reads += 1
                if generation == self._generation:
                    break
            shared = Shared(seq, encode(data), encode(for_phones(data)))
            self._cached = shared
            return shared
