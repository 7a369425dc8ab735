"""Publish / subscribe per room behind a tiny interface, chosen by URL scheme.

``memory://`` serves one process and passes each ``Envelope`` through as it is; ``redis://``
(``redis_hub``) links several processes, sending ``envelope.pack()`` and handing on
``Envelope.unpack(...)``. Either way the handlers only publish and subscribe.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from facilitator.live.envelope import Envelope


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Envelope]: ...


class Hub(Protocol):
    async def start(self, figures: Callable[[], Stats]) -> None:
        """Connect; ``figures`` tells how this process's rooms hold (``every_process``)."""
        ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, message: Envelope) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]: ...

    async def every_process(self, mine: Stats) -> list[Stats]:
        """This process's figures (``mine``) beside every other live process's latest."""
        ...


Stats = dict[str, Any]


class _QueueSubscription:
    def __init__(self, queue: asyncio.Queue[Envelope]) -> None:
        self._queue = queue

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        while True:
            yield await self._queue.get()


class LocalSubscribers:
    """This process's subscribers by channel: a put is a queue put per subscriber (one per
    room, not per socket)."""

    def __init__(self) -> None:
        self._queues: defaultdict[str, set[asyncio.Queue[Envelope]]] = defaultdict(set)

    def put(self, channel: str, message: Envelope) -> None:
        for queue in self._queues.get(channel, ()):
            queue.put_nowait(message)

    def put_all(self, message: Envelope) -> None:
        """The same message to every subscriber of every channel."""
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(message)

    def channels(self) -> Iterable[str]:
        return list(self._queues)

    def has(self, channel: str) -> bool:
        return channel in self._queues

    def has_others(self, channel: str) -> bool:
        """Whether the channel still has subscribers (asked as one leaves, after it left)."""
        return bool(self._queues.get(channel))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        queue: asyncio.Queue[Envelope] = asyncio.Queue()
        self._queues[channel].add(queue)
        try:
            yield _QueueSubscription(queue)
        finally:
            self._queues[channel].discard(queue)
            if not self._queues[channel]:
                del self._queues[channel]


class MemoryHub:
    """In-process hub: one process's rooms."""

    def __init__(self) -> None:
        self._local = LocalSubscribers()

    async def start(self, figures: Callable[[], Stats]) -> None:
        pass

    async def close(self) -> None:
        pass

    async def publish(self, channel: str, message: Envelope) -> None:
        self._local.put(channel, message)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        return self._local.subscribe(channel)

    async def every_process(self, mine: Stats) -> list[Stats]:
        return [mine]


def hub_for(url: str) -> Hub:
    """The hub for a ``FACILITATOR_BROADCAST_URL``."""
    if url.startswith("memory://"):
        return MemoryHub()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from facilitator.live.redis_hub import RedisHub  # only loaded where Redis is used

        return RedisHub(url)
    raise ValueError(
        f"no broadcast backend for {url!r}: use memory:// (one process) or redis://host:port/db"
    )
