"""The snapshot cache: a room's snapshot encoded once for every screen that needs it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from facilitator.live.messages import encode


class SnapshotCache:
    """The newest encoded snapshot of one room, and the point of the log it was read at."""

    def __init__(self) -> None:
        self._cached: tuple[int, str] | None = None
        self._lock = asyncio.Lock()

    def void(self) -> None:
        """What it shows changed outside the log (the network's values): read it anew."""
        self._cached = None

    async def get(
        self, last_seq: Callable[[], int], read: Callable[[], Awaitable[dict[str, Any]]]
    ) -> str:
        """The snapshot as of the room's ``last_seq()``: a hall of phones joining at once costs
        one read, not one each (they wait on the lock for the first one's read)."""
        async with self._lock:
            seq = last_seq()
            cached = self._cached
            if cached is not None and cached[0] == seq:
                return cached[1]
            text = encode(await read())
            self._cached = (seq, text)
            return text
