"""The hub across processes: Redis pub/sub (``FACILITATOR_BROADCAST_URL=redis://…``).

Pub/sub is at most once, so nothing depends on it arriving. This process's own rooms get a
publish at once, in memory, whatever Redis does. Other processes get it through Redis, and two
things make up for any it drops: every second this process sends each channel it wrote to
lately a *beat* with its newest number, and when the connection to Redis comes back every room
is told to look. A room that sees a number it has not got reads the missing events from the
meeting's log in the database (``Room.receive``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from facilitator.live.envelope import Envelope, beat
from facilitator.live.hub import LocalSubscribers, Stats, Subscription

log = logging.getLogger("facilitator.hub")

STATS_KEPT = 5  # seconds a process's figures stand for it after its last word (it stopped)
BEAT_EVERY = 1.0  # seconds between beats of a channel this process wrote to
BEAT_FOR = 30.0  # how long after its last write a channel keeps getting beats
RETRY_MAX = 2.0  # the longest wait between two tries to reach Redis again
SEND_QUEUE = 10_000  # messages waiting for Redis, at most (a hall's burst is a few thousand)
SEND_BATCH = 500  # messages sent in one round trip, at most
PREFIX = "facilitator:"  # every channel's name in Redis starts so (one Redis, several apps)
# The processes that wrote figures, each scored by when (a sorted set; its name is a key, not
# a channel).
FIGURES_OF = PREFIX + "stats-by"
FORGET_AFTER = 3600  # seconds after its last figures a process's name is dropped from the set
DRAIN_FOR = 1.0  # seconds a closing process gives what waits for Redis (a sign-out, say)


class RedisHub:
    """Rooms of several processes linked through one Redis."""

    def __init__(self, url: str) -> None:
        # Bounded (the listener, the sender, the beats, the figures): a hung Redis must not
        # pile up a connection per waiting call; a call waits its turn for one instead.
        self._redis: redis.Redis = redis.Redis.from_pool(
            redis.BlockingConnectionPool.from_url(
                url,
                max_connections=16,
                timeout=2,
                socket_connect_timeout=2,
                socket_timeout=2,
                health_check_interval=10,
            )
        )
        self._local = LocalSubscribers()
        #: Who sent a message: a process skips its own, which it handed on in memory already.
        self._origin = secrets.token_hex(6)
        #: Channel -> (newest number published here, when): what the beats tell.
        self._written: dict[str, tuple[int, float]] = {}
        self._pubsub: Any = None  # the connected PubSub while there is one
        self._tasks: list[asyncio.Task[None]] = []
        #: What waits for Redis, in order. Bounded: while Redis hangs the newest are dropped
        #: (and counted), and the beats tell the other processes once it answers again.
        self._outgoing: asyncio.Queue[tuple[str, str]] = asyncio.Queue(SEND_QUEUE)
        self.dropped = 0
        #: A send failed since the last that went through: the other processes may have missed
        #: anything (control messages too), so they are told to look once one goes through.
        self._unsent = False
        self.connected = asyncio.Event()
        #: This process's figures, written beside the others' each beat (set by ``Live``).
        self.figures: Callable[[], Stats] | None = None

    async def start(self, figures: Callable[[], Stats]) -> None:
        """Connect in the background: the app serves (one process's rooms) while Redis is away."""
        self.figures = figures
        self._tasks = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._beat()),
            asyncio.create_task(self._send_in_order()),
        ]

    async def close(self) -> None:
        # What this process said last (a sign-out just before a restart) still goes out.
        if self.connected.is_set() and not self._outgoing.empty():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outgoing.join(), DRAIN_FOR)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._redis.aclose()

    async def publish(self, channel: str, message: Envelope) -> None:
        self._local.put(channel, message)
        if message.seq > 0:
            self._written[channel] = (message.seq, time.monotonic())
        # Handed to the sender, never awaited here: a command's answer does not wait on Redis
        # (away or hung), and the beats tell the other processes once it answers again.
        if self.connected.is_set():
            self._queue(channel, message)
        else:
            self._unsent = True

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        first = not self._local.has(channel)
        try:
            async with self._local.subscribe(channel) as subscription:
                if first and self._pubsub is not None:
                    with contextlib.suppress(RedisError, OSError):
                        await self._pubsub.subscribe(PREFIX + channel)
                yield subscription
        finally:
            if not self._local.has(channel) and self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(PREFIX + channel)
                    # A room for it opened while that was on its way, and its subscribe may
                    # have reached Redis first: subscribe again (twice is harmless).
                    if self._local.has(channel) and self._pubsub is not None:
                        await self._pubsub.subscribe(PREFIX + channel)

    async def every_process(self, mine: Stats) -> list[Stats]:
        """Every process writes its figures each beat under its own key, which lapses soon
        after it stops, and its name in one sorted set; this reads them all (``mine`` fresh).
        A name whose figures lapsed is passed over, and dropped from the set an hour later."""
        others: list[Stats] = []
        try:
            await self._write_figures(mine)
            members = await self._redis.zrange(FIGURES_OF, 0, -1)
            origins = sorted(o.decode() if isinstance(o, bytes) else str(o) for o in members)
            texts = await self._redis.mget([f"{PREFIX}stats:{o}" for o in origins])
            others = [
                json.loads(text)
                for origin, text in zip(origins, texts, strict=True)
                if text is not None and origin != self._origin
            ]
        except (RedisError, OSError) as error:
            log.warning("hub.stats_failed", extra={"error": str(error)})
        return [mine, *others]

    async def _write_figures(self, figures: Stats) -> None:
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(f"{PREFIX}stats:{self._origin}", json.dumps(figures), ex=STATS_KEPT)
            pipe.zadd(FIGURES_OF, {self._origin: now})
            pipe.zremrangebyscore(FIGURES_OF, "-inf", now - FORGET_AFTER)
            await pipe.execute()

    def _queue(self, channel: str, message: Envelope) -> None:
        try:
            self._outgoing.put_nowait((PREFIX + channel, f"{self._origin} {message.pack()}"))
        except asyncio.QueueFull:
            self.dropped += 1
            self._unsent = True
            if self.dropped % SEND_QUEUE == 1:  # a line now and then, not one per message
                log.warning("hub.send_queue_full", extra={"dropped": self.dropped})

    async def _send_in_order(self) -> None:
        """Publish what waits, in order, as many as are waiting in one round trip."""
        while True:
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty() and len(batch) < SEND_BATCH:
                batch.append(self._outgoing.get_nowait())
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for name, data in batch:
                        pipe.publish(name, data)
                    await pipe.execute()
            except (RedisError, OSError) as error:
                # Committed already; the other processes' rooms catch up from the beats.
                log.warning("hub.publish_failed", extra={"lost": len(batch), "error": str(error)})
                self._unsent = True
            else:
                self._unsent = False
            finally:
                for _ in batch:
                    self._outgoing.task_done()

    def _tell_to_look(self) -> None:
        """Sends were lost (Redis hung, or the queue overflowed): every channel here is told
        to look, as a reconnect tells this process's own rooms, so once this goes through the
        other processes read what they missed (their staff sockets checked again too); and the
        beats start their time again."""
        now = time.monotonic()
        for channel, (seq, _at) in self._written.items():
            self._written[channel] = (seq, now)
        for channel in self._local.channels():
            self._queue(channel, beat(-1))

    async def _listen(self) -> None:
        """Hold a subscription to every channel this process has rooms for, reconnecting."""
        wait = 0.1
        ever_connected = False
        while True:
            pubsub: Any = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                names = {PREFIX + c for c in self._local.channels()} | {PREFIX + "-"}
                await pubsub.subscribe(*names)
                self._pubsub = pubsub  # from now on a new room subscribes itself
                late = {PREFIX + c for c in self._local.channels()} - names
                if late:
                    await pubsub.subscribe(*late)
                self.connected.set()
                if ever_connected:
                    log.info("hub.reconnected")
                # Rooms that were open while Redis was away may have missed anything: look.
                self._local.put_all(beat(-1))
                ever_connected, wait = True, 0.1
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._receive(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                log.warning("hub.disconnected", extra={"error": str(error), "retry_s": wait})
            finally:
                self._pubsub = None
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(wait)
            wait = min(RETRY_MAX, wait * 2)

    def _receive(self, channel: bytes, data: bytes) -> None:
        origin, _, packed = data.decode().partition(" ")
        if origin == self._origin:
            return
        try:
            envelope = Envelope.unpack(packed)
        except (ValueError, KeyError):
            log.warning("hub.bad_message", extra={"channel": channel.decode(errors="replace")})
            return
        self._local.put(channel.decode().removeprefix(PREFIX), envelope)

    async def _beat(self) -> None:
        """Tell the other processes, each second, how far each channel written here reaches:
        a room that missed the last event of a burst learns it within a second."""
        while True:
            await asyncio.sleep(BEAT_EVERY)
            now = time.monotonic()
            if self.figures is not None and self.connected.is_set():
                with contextlib.suppress(RedisError, OSError):
                    await self._write_figures(self.figures())
            if self._unsent and self.connected.is_set() and self._outgoing.empty():
                self._tell_to_look()  # each second until one goes through
            for channel, (seq, at) in list(self._written.items()):
                # Kept while Redis is away or sends fail: told once they go through again.
                if now - at > BEAT_FOR and self.connected.is_set() and not self._unsent:
                    del self._written[channel]
                elif self.connected.is_set():
                    self._queue(channel, beat(seq))
