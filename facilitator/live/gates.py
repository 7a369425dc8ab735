"""The console's gates (what blocks closing or moving on) pushed as they change: after a burst of
events, one reading of the gates and one message to each console, not one refetch per event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Set
from typing import Any

from facilitator.flow import Role
from facilitator.live.messages import Gates, encode
from facilitator.live.outbox import Connection

log = logging.getLogger(__name__)

GATES_DELAY = 0.25  # seconds a burst has to settle before the gates are read (as the console did)
CONSOLES = (Role.FACILITATOR, Role.BACKBONE)

Reading = tuple[int, list[dict[str, Any]], dict[str, list[str]]]


class GatesCoalescer:
    """Reads the gates once per burst and hands them to the room's consoles."""

    def __init__(
        self,
        connections: Set[Connection],
        read: Callable[[], Awaitable[Reading]],
        held: Callable[[], Awaitable[int]] | None = None,
    ):
        self.connections = connections
        self._read = read
        self._held = held
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.readings = 0  # how many times the gates were read (for tests and stats)

    def touch(self) -> None:
        """Something changed: the consoles get the gates after the burst settles."""
        if self._task is not None:
            self._again = True  # read once more after the reading under way
            return
        if not any(c.role in CONSOLES for c in self.connections):
            return  # nobody draws them
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            again = True
            while again:
                self._again = False
                await asyncio.sleep(GATES_DELAY)
                self.readings += 1
                try:
                    seq, gates, named = await self._read()
                except Exception:
                    log.exception("reading the gates failed")
                    again = self._again  # a change since then: try again after it settles
                    continue
                held = await self._held() if self._held is not None else 0
                text = encode(Gates(seq, gates, named, held))
                for connection in self.connections:
                    if connection.role in CONSOLES:
                        connection.offer(text)
                again = self._again
        finally:
            self._task = None

    async def stop(self) -> None:
        """Stop reading (the room is closing)."""
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
