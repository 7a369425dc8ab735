"""The join door's and sign-in's limits behave alike in memory and in a real Redis, and in Redis
two processes count as one: what one process grants, the other no longer does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis

from facilitator.http.join_guard import JoinGuard, address_key
from facilitator.http.join_limits import Door, Limiter, MemoryDoor, MemoryLimiter
from facilitator.http.redis_limits import PREFIX, RedisDoor, RedisLimiter, SharedOrAlone
from tests.support.redis_server import RedisServer, redis_or_skip

Make = Callable[[JoinGuard], Door]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    redis_or_skip()
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_server.url)
    await connection.flushdb()
    try:
        yield connection
    finally:
        await connection.aclose()


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> Make:
    if request.param == "memory":
        return MemoryDoor
    connection: redis.Redis = request.getfixturevalue("client")
    return lambda rules: RedisDoor(connection, rules)


async def test_a_hall_typing_the_same_typo_is_not_locked_out(make: Make) -> None:
    door = make(JoinGuard(wrong_codes=5))
    for _ in range(20):
        await door.wrong("hall", "AAAAAA")
    for code in ("CCCCCC", "DDDDDD", "EEEEEE"):
        await door.wrong("hall", code)
    assert not await door.locked("hall")
    await door.wrong("hall", "FFFFFF")
    assert await door.locked("hall")
    assert not await door.locked("elsewhere")


async def test_guesses_are_forgotten_after_the_window(make: Make) -> None:
    door = make(JoinGuard(wrong_codes=2, wrong_window=0.2))
    await door.wrong("a", "AAAAAA")
    await door.wrong("a", "CCCCCC")
    assert await door.locked("a")
    await asyncio.sleep(0.3)
    assert not await door.locked("a")


async def test_a_held_network_is_let_in_to_that_meeting_only(make: Make) -> None:
    door = make(JoinGuard(wrong_codes=1))
    await door.wrong("venue", "AAAAAA")
    assert await door.hold("venue", 7, "CCCCCC")
    assert not await door.hold("venue", 7, "CCCCCC")  # held once, however many phones knock
    await door.hold("other", 7, "CCCCCC")
    assert await door.held(7) == 2
    assert await door.held(8) == 0
    assert not await door.admitted("venue", "CCCCCC")
    assert await door.let_in(7) == 2
    assert await door.held(7) == 0
    assert await door.admitted("venue", "CCCCCC")
    assert not await door.admitted("venue", "DDDDDD")
    assert await door.locked("venue")  # still locked for every other code


async def test_joins_by_name_keep_a_pace_per_address_and_per_meeting(make: Make) -> None:
    door = make(JoinGuard(address_burst=3, address_rate=1, meeting_burst=5, meeting_rate=0.5))
    assert [await door.wait_for_name("a", 1) for _ in range(3)] == [0, 0, 0]
    assert 0 < await door.wait_for_name("a", 1) <= 1
    assert [await door.wait_for_name("b", 1) for _ in range(2)] == [0, 0]
    assert await door.wait_for_name("c", 1) > 1  # the meeting refills at one every two seconds
    # Another meeting is not this one, and the refused try spent nothing of c's three.
    assert [await door.wait_for_name("c", 2) for _ in range(3)] == [0, 0, 0]
    assert await door.wait_for_name("c", 2) > 0


async def test_an_ipv6_site_is_locked_as_a_whole_too(make: Make) -> None:
    door = make(JoinGuard(wrong_codes=3))
    subnets = [address_key(f"2001:db8:7:{n:x}::1") for n in range(6)]
    for n, subnet in enumerate(subnets[:5]):
        for k in range(2):
            await door.wrong(subnet, f"C{n}{k}AAA")
    assert not await door.locked(subnets[0])
    await door.wrong(subnets[5], "DDDDDD")
    await door.wrong(subnets[5], "EEEEEE")
    assert await door.locked(address_key("2001:db8:7:ffff::1"))
    assert not await door.locked(address_key("2001:db8:8::1"))


async def test_a_guesser_costs_bounded_room_in_redis(client: redis.Redis) -> None:
    door = RedisDoor(client, JoinGuard(wrong_codes=5))
    for n in range(300):
        await door.wrong("guesser", f"{n:06d}")
    assert await door.locked("guesser")
    assert await client.zcard(f"{PREFIX}wrong:guesser") == 5
    assert 0 < await client.ttl(f"{PREFIX}wrong:guesser") <= 600


async def test_two_processes_share_one_count(
    client: redis.Redis, redis_server: RedisServer
) -> None:
    other = redis.Redis.from_url(redis_server.url)  # another process's own connection
    try:
        a, b = (
            RedisDoor(client, JoinGuard(wrong_codes=4)),
            RedisDoor(other, JoinGuard(wrong_codes=4)),
        )
        for code in ("AAAAAA", "CCCCCC"):
            await a.wrong("venue", code)
        for code in ("DDDDDD", "EEEEEE"):
            await b.wrong("venue", code)
        assert await a.locked("venue")
        assert await b.locked("venue")
        # Sign-in: ten tries a minute in all, however the tries are spread over processes.
        here: Limiter = RedisLimiter(client, "login", 10, 60)
        there: Limiter = RedisLimiter(other, "login", 10, 60)
        granted = [await (here if n % 2 else there).allow("ip:198.51.100.7") for n in range(16)]
        assert granted == [True] * 10 + [False] * 6
        # In memory, each process would have granted its own ten.
        mine, yours = MemoryLimiter(10, 60), MemoryLimiter(10, 60)
        alone = [await (mine if n % 2 else yours).allow("ip:198.51.100.7") for n in range(16)]
        assert alone == [True] * 16
    finally:
        await other.aclose()


async def test_with_redis_away_each_process_counts_alone_and_nothing_fails(
    tmp_path: Path,
) -> None:
    redis_or_skip()
    server = RedisServer(tmp_path)
    server.start()
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=1)
    try:
        door = SharedOrAlone(client, JoinGuard(wrong_codes=2))
        limiter = RedisLimiter(client, "login", 3, 60)
        assert await limiter.allow("ip:x")
        server.stop()
        # Sign-in and the join door still answer, from this process's own counts.
        assert [await limiter.allow("ip:x") for _ in range(4)] == [True, True, True, False]
        await door.wrong("venue", "AAAAAA")
        await door.wrong("venue", "CCCCCC")
        assert await door.locked("venue")
        assert await door.held(7) == 0
        assert await door.wait_for_name("venue", 7) == 0
    finally:
        await client.aclose()
        server.stop()
