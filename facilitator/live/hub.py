"""Publish / subscribe per room behind a tiny interface, chosen by URL scheme.

``memory://`` serves one process and passes each ``Envelope`` through as it is. A broker backend
(Redis pub/sub, PostgreSQL LISTEN/NOTIFY) slots in here for several processes without touching
the handlers: it sends ``envelope.pack()`` and hands on ``Envelope.unpack(...)``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from facilitator.live.envelope import Envelope


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Envelope]: ...


class Hub(Protocol):
    async def publish(self, channel: str, message: Envelope) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]: ...


class _QueueSubscription:
    def __init__(self, queue: asyncio.Queue[Envelope]) -> None:
        self._queue = queue

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        while True:
            yield await self._queue.get()


class MemoryHub:
    """In-process hub: a publish is a queue put per subscriber (one per room, not per socket)."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[Envelope]]] = defaultdict(set)

    async def publish(self, channel: str, message: Envelope) -> None:
        for queue in self._subscribers.get(channel, ()):
            queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        queue: asyncio.Queue[Envelope] = asyncio.Queue()
        self._subscribers[channel].add(queue)
        try:
            yield _QueueSubscription(queue)
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]


def hub_for(url: str) -> Hub:
    """The hub for a ``FACILITATOR_BROADCAST_URL``."""
    if url.startswith("memory://"):
        return MemoryHub()
    raise ValueError(f"no broadcast backend for {url!r}: only memory:// is available")
