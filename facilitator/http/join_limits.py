"""The limits every process must share, behind one awaitable interface: sign-in and suggestion
rates (``Limiter``) and the join door (``Door``: guessing, holding, the pace of new names).

In one process they live in memory (``MemoryLimiter``, ``MemoryDoor`` over ``JoinGuard``'s
rules); with ``FACILITATOR_BROADCAST_URL=redis://…`` they live in that Redis
(``redis_limits``), under the same keys, so N processes grant what one would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from facilitator.http.join_guard import JoinGuard
from facilitator.http.security import RateLimiter

LOGIN_TRIES = 10  # a minute, per address and per account
SUGGESTIONS = 600  # a minute, per address: a hall typing its organizations


class Limiter(Protocol):
    async def allow(self, key: str) -> bool:
        """Count one try for ``key``; ``False`` once it used its allowance."""
        ...


class Door(Protocol):
    """The join guard's questions (see ``join_guard``), each awaited."""

    async def locked(self, address: str) -> bool: ...

    async def may_look_up(self, address: str) -> bool: ...

    async def wrong(self, address: str, code: str) -> None: ...

    async def admitted(self, address: str, code: str) -> bool: ...

    async def hold(self, address: str, meeting_id: int, code: str) -> bool: ...

    async def held(self, meeting_id: int) -> int: ...

    async def let_in(self, meeting_id: int) -> int: ...

    async def wait_for_name(self, address: str, meeting_id: int) -> float: ...


class MemoryLimiter:
    """At most ``limit`` tries per ``window`` seconds per key, in this process."""

    def __init__(self, limit: int, window: float) -> None:
        self.rule = RateLimiter(limit, window)

    async def allow(self, key: str) -> bool:
        return self.rule.allow(key)


class MemoryDoor:
    """The join guard in this process's memory."""

    def __init__(self, guard: JoinGuard) -> None:
        self.guard = guard

    async def locked(self, address: str) -> bool:
        return self.guard.locked(address)

    async def may_look_up(self, address: str) -> bool:
        return self.guard.may_look_up(address)

    async def wrong(self, address: str, code: str) -> None:
        self.guard.wrong(address, code)

    async def admitted(self, address: str, code: str) -> bool:
        return self.guard.admitted(address, code)

    async def hold(self, address: str, meeting_id: int, code: str) -> bool:
        return self.guard.hold(address, meeting_id, code)

    async def held(self, meeting_id: int) -> int:
        return self.guard.held(meeting_id)

    async def let_in(self, meeting_id: int) -> int:
        return self.guard.let_in(meeting_id)

    async def wait_for_name(self, address: str, meeting_id: int) -> float:
        return self.guard.wait_for_name(address, meeting_id)


@dataclass
class Limits:
    """Every shared limit of the app, and what closes them (the Redis connection, if any)."""

    login: Limiter
    suggest: Limiter
    door: Door
    close: Callable[[], Awaitable[None]]


def limits_for(url: str, guard: JoinGuard) -> Limits:
    """In memory for ``memory://``; in Redis for a ``redis://`` ``FACILITATOR_BROADCAST_URL``
    (the same Redis the rooms use), with ``guard``'s numbers either way."""
    if url.startswith("memory://"):

        async def nothing() -> None:
            pass

        return Limits(
            MemoryLimiter(LOGIN_TRIES, 60),
            MemoryLimiter(SUGGESTIONS, 60),
            MemoryDoor(guard),
            nothing,
        )
    import redis.asyncio as redis  # only where Redis is used

    from facilitator.http.redis_limits import Reach, RedisLimiter, SharedOrAlone

    # Bounded: a hung Redis makes calls wait, and each waiting call would hold a connection
    # (a busy hall waits its turn for one instead).
    client = redis.Redis.from_pool(
        redis.BlockingConnectionPool.from_url(
            url, max_connections=32, timeout=2, socket_connect_timeout=2, socket_timeout=2
        )
    )
    reach = Reach()  # one Redis: when it fails one limit, all count alone for a while
    return Limits(
        RedisLimiter(client, "login", LOGIN_TRIES, 60, reach),
        RedisLimiter(client, "suggest", SUGGESTIONS, 60, reach),
        SharedOrAlone(client, guard, reach),
        client.aclose,
    )
