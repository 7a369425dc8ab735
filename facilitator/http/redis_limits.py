"""The shared limits in Redis: the same rules as ``join_guard`` and ``RateLimiter``, kept where
every process counts in one place. Each rule is one Lua script (atomic, on Redis's own clock, so
processes on machines whose clocks differ still agree), and every key expires with its window.

Keys (all under ``facilitator:limit:``): ``rate:{name}:{key}`` (sliding window, a sorted set of
tries), ``wrong:{address}`` (distinct wrong codes by when last tried), ``held:{meeting}`` and
``heldcode:{meeting}`` (addresses waiting at a door, the code each typed), ``letin:{address}``
(the codes a facilitator let it in with), ``pace:address:{address}`` and ``pace:meeting:{id}``
(token buckets of joins by name).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.exceptions import RedisError

from facilitator.http.join_guard import WIDER_FACTOR, JoinGuard, wider_key
from facilitator.http.join_limits import MemoryDoor, MemoryLimiter

log = logging.getLogger("facilitator.limits")
T = TypeVar("T")


AWAY_FOR = 5.0  # seconds the limits count alone after Redis failed them, before trying again


class Reach:
    """Whether Redis answered lately. Redis down or hung: each process keeps its own count
    meanwhile (N processes grant N times the tries for that while) rather than refusing every
    sign-in and join, and after one failure it does not ask again for a few seconds, so a hung
    Redis costs one timeout, not one per sign-in and per join."""

    def __init__(self) -> None:
        self._away_until = 0.0

    def away(self) -> bool:
        return time.monotonic() < self._away_until

    def failed(self, error: Exception) -> None:
        if not self.away():
            log.warning("limits.redis_away", extra={"error": str(error), "retry_s": AWAY_FOR})
        self._away_until = time.monotonic() + AWAY_FOR

    async def either(
        self, shared: Callable[[], Awaitable[T]], alone: Callable[[], Awaitable[T]]
    ) -> T:
        if self.away():
            return await alone()
        try:
            return await shared()
        except (RedisError, OSError) as error:
            self.failed(error)
            return await alone()


PREFIX = "facilitator:limit:"
LET_IN_KEPT = 12 * 3600  # seconds a facilitator's "let in" holds for that address and code

# The clock of every script: Redis's own, in seconds.
_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"

_SLIDING = (
    _NOW
    + """
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return 1
"""
)

_COUNT = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
return redis.call('ZCARD', KEYS[1])
"""
)

# A wrong code: the same typo twice counts once; at the cap the oldest gives way (still locked,
# and the window moves on), so a guesser costs bounded memory.
_WRONG = (
    _NOW
    + """
local window, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= cap then
  redis.call('ZPOPMIN', KEYS[1], 1)
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return 1
"""
)

# KEYS: held (address by when it knocked), heldcode (address -> code). ARGV: address, code,
# window, most. Returns 1 when newly held.
_HOLD = (
    _NOW
    + """
local window = tonumber(ARGV[3])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)) do
  redis.call('HDEL', KEYS[2], gone)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local new = not redis.call('ZSCORE', KEYS[1], ARGV[1])
if new and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
redis.call('EXPIRE', KEYS[2], math.ceil(window))
if new then return 1 end
return 0
"""
)

# KEYS: held, heldcode. ARGV: window, let-in key prefix, how long a let-in holds. Every address
# held lately may join with the code it typed; returns how many.
_LET_IN = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local held = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, address in ipairs(held) do
  local code = redis.call('HGET', KEYS[2], address)
  if code then
    redis.call('SADD', ARGV[2] .. address, code)
    redis.call('EXPIRE', ARGV[2] .. address, tonumber(ARGV[3]))
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
return #held
"""
)

# Two token buckets (the address's, the meeting's) at once: the wait until both have one, and
# when that is now, one spent from each. ARGV: rate and burst of each.
_PACE = (
    _NOW
    + """
local function level(key, rate, burst)
  local kept = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(kept[1]) or burst, tonumber(kept[2]) or now
  return math.min(burst, tokens + math.max(0, now - at) * rate)
end
local function wait(tokens, rate)
  if tokens >= 1 then return 0 end
  return (1 - tokens) / rate
end
local r1, b1, r2, b2 = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local mine, room = level(KEYS[1], r1, b1), level(KEYS[2], r2, b2)
local w = math.max(wait(mine, r1), wait(room, r2))
if w == 0 then mine, room = mine - 1, room - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(mine), 'at', tostring(now))
redis.call('HSET', KEYS[2], 'tokens', tostring(room), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(b1 / r1) + 1)
redis.call('EXPIRE', KEYS[2], math.ceil(b2 / r2) + 1)
return tostring(w)
"""
)


class RedisLimiter:
    """At most ``limit`` tries per ``window`` seconds per key, counted in Redis."""

    def __init__(
        self, client: redis.Redis, name: str, limit: int, window: float, reach: Reach | None = None
    ) -> None:
        self._script: Any = client.register_script(_SLIDING)
        self._name = name
        self.limit = limit
        self.window = window
        self._alone = MemoryLimiter(limit, window)  # while Redis is away
        self._reach = reach or Reach()

    async def allow(self, key: str) -> bool:
        async def shared() -> bool:
            # Each try is its own member: two at the same microsecond both count.
            tried = await self._script(
                keys=[f"{PREFIX}rate:{self._name}:{key}"],
                args=[self.window, self.limit, secrets.token_hex(8)],
            )
            return bool(tried)

        return await self._reach.either(shared, lambda: self._alone.allow(key))


class RedisDoor:
    """``JoinGuard``'s rules (and its numbers, from ``rules``) with the counts in Redis."""

    def __init__(self, client: redis.Redis, rules: JoinGuard, reach: Reach | None = None) -> None:
        self._redis = client
        self.rules = rules
        self._count: Any = client.register_script(_COUNT)
        self._wrong: Any = client.register_script(_WRONG)
        self._hold: Any = client.register_script(_HOLD)
        self._let_in: Any = client.register_script(_LET_IN)
        self._pace: Any = client.register_script(_PACE)
        self._lookups = RedisLimiter(client, "lookups", 10, 60, reach)

    async def locked(self, address: str) -> bool:
        wider = wider_key(address)
        if await self._codes(address) >= self.rules.wrong_codes:
            return True
        return wider is not None and (
            await self._codes(wider) >= self.rules.wrong_codes * WIDER_FACTOR
        )

    async def _codes(self, key: str) -> int:
        return int(await self._count(keys=[f"{PREFIX}wrong:{key}"], args=[self.rules.wrong_window]))

    async def may_look_up(self, address: str) -> bool:
        return await self._lookups.allow(address)

    async def wrong(self, address: str, code: str) -> None:
        window, cap = self.rules.wrong_window, self.rules.wrong_codes
        await self._wrong(keys=[f"{PREFIX}wrong:{address}"], args=[code, window, cap])
        wider = wider_key(address)
        if wider is not None:
            await self._wrong(
                keys=[f"{PREFIX}wrong:{wider}"], args=[code, window, cap * WIDER_FACTOR]
            )

    async def admitted(self, address: str, code: str) -> bool:
        return bool(await self._redis.sismember(f"{PREFIX}letin:{address}", code))

    async def hold(self, address: str, meeting_id: int, code: str) -> bool:
        keys = [f"{PREFIX}held:{meeting_id}", f"{PREFIX}heldcode:{meeting_id}"]
        return bool(
            await self._hold(keys=keys, args=[address, code, self.rules.wrong_window, 1000])
        )

    async def held(self, meeting_id: int) -> int:
        return int(
            await self._count(keys=[f"{PREFIX}held:{meeting_id}"], args=[self.rules.wrong_window])
        )

    async def let_in(self, meeting_id: int) -> int:
        keys = [f"{PREFIX}held:{meeting_id}", f"{PREFIX}heldcode:{meeting_id}"]
        args = [self.rules.wrong_window, f"{PREFIX}letin:", LET_IN_KEPT]
        return int(await self._let_in(keys=keys, args=args))

    async def wait_for_name(self, address: str, meeting_id: int) -> float:
        r = self.rules
        keys = [f"{PREFIX}pace:address:{address}", f"{PREFIX}pace:meeting:{meeting_id}"]
        args = [r.address_rate, r.address_burst, r.meeting_rate, r.meeting_burst]
        return float(await self._pace(keys=keys, args=args))


class SharedOrAlone:
    """A ``RedisDoor`` that falls back to this process's own door while Redis is away."""

    def __init__(self, client: redis.Redis, rules: JoinGuard, reach: Reach | None = None) -> None:
        self._reach = reach or Reach()
        # One breaker for the door's own lookups too: counted in one place while Redis is away.
        self.shared = RedisDoor(client, rules, self._reach)
        self.alone = MemoryDoor(rules)

    async def locked(self, address: str) -> bool:
        return await self._reach.either(
            lambda: self.shared.locked(address), lambda: self.alone.locked(address)
        )

    async def may_look_up(self, address: str) -> bool:
        # Its limiter counts in memory itself while Redis is away (the same breaker): one count.
        return await self.shared.may_look_up(address)

    async def wrong(self, address: str, code: str) -> None:
        await self._reach.either(
            lambda: self.shared.wrong(address, code), lambda: self.alone.wrong(address, code)
        )

    async def admitted(self, address: str, code: str) -> bool:
        return await self._reach.either(
            lambda: self.shared.admitted(address, code), lambda: self.alone.admitted(address, code)
        )

    async def hold(self, address: str, meeting_id: int, code: str) -> bool:
        return await self._reach.either(
            lambda: self.shared.hold(address, meeting_id, code),
            lambda: self.alone.hold(address, meeting_id, code),
        )

    async def held(self, meeting_id: int) -> int:
        return await self._reach.either(
            lambda: self.shared.held(meeting_id), lambda: self.alone.held(meeting_id)
        )

    async def let_in(self, meeting_id: int) -> int:
        return await self._reach.either(
            lambda: self.shared.let_in(meeting_id), lambda: self.alone.let_in(meeting_id)
        )

    async def wait_for_name(self, address: str, meeting_id: int) -> float:
        return await self._reach.either(
            lambda: self.shared.wait_for_name(address, meeting_id),
            lambda: self.alone.wait_for_name(address, meeting_id),
        )
