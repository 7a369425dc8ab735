"""Load clients: many phones per process, reading everything and answering commands; on
command, a few of them stop reading (slow readers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.protocol import State

# A slow reader's socket holds little, so that what it does not read backs up in the server:
# a small receive buffer (Linux doubles it) and a Wi-Fi-sized segment (on loopback the 64 KiB
# segments let the server's kernel take megabytes for one socket before the server notices).
SLOW_RCVBUF = 4096
PHONE_MSS = 1460
TCP_ESTABLISHED = 1
POKE_EVERY = 1.0  # seconds between the pings that tell a stalled phone whether it was dropped


@dataclass
class Phone:
    token: str
    ws: ClientConnection | None = None
    last_seq: int = 0
    sent: dict[str, float] = field(default_factory=dict)
    acks: list[float] = field(default_factory=list)
    errors: int = 0
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None
    slow: bool = False
    dropped_after: float | None = None  # a stalled phone: seconds from its stall to the drop


async def _read(phone: Phone) -> None:
    assert phone.ws is not None
    try:
        async for raw in phone.ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "welcome":
                snapshot = message.get("snapshot")
                if snapshot:
                    phone.last_seq = max(phone.last_seq, snapshot["meeting"]["last_seq"])
                phone.welcomed.set()
            elif kind == "event":  # as a phone's page does (it is sent no tally)
                phone.last_seq = max(phone.last_seq, message["seq"])
            elif kind == "ack":
                started = phone.sent.pop(message["id"], None)
                if started is not None:
                    phone.acks.append(time.perf_counter() - started)
            elif kind == "error":
                phone.errors += 1
    except Exception:  # the socket went away: reconnects are the driver's business
        return


async def slow_socket(url: str) -> socket.socket:
    """A connected TCP socket that takes in little once nobody reads it."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, PHONE_MSS)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    return sock


async def open_phone(url: str, phone: Phone, meeting_id: int) -> None:
    phone.welcomed.clear()
    uri = f"{url}/ws/m/{meeting_id}?face=phone"
    if phone.slow:
        # max_queue=1: the library stops reading the socket once one message waits unread;
        # no keepalive pings, whose unanswered pongs would make the phone hang up by itself.
        phone.ws = await connect(
            uri,
            sock=await slow_socket(url),
            compression=None,
            max_size=2**22,
            max_queue=1,
            ping_interval=None,
            open_timeout=60,
        )
    else:
        phone.ws = await connect(uri, compression=None, max_size=2**22, open_timeout=60)
    hello: dict[str, Any] = {"type": "hello", "token": phone.token}
    if phone.last_seq:
        hello["last_seq"] = phone.last_seq
    await phone.ws.send(json.dumps(hello))
    phone.reader = asyncio.create_task(_read(phone))
    await asyncio.wait_for(phone.welcomed.wait(), 120)


async def vote(phone: Phone, blockers: list[int], window: float, rng: random.Random) -> None:
    """Three answers at random moments within the window (each replaces the last)."""
    moments = sorted(rng.uniform(0, window) for _ in range(3))
    start = time.perf_counter()
    for n, moment in enumerate(moments):
        await asyncio.sleep(max(0.0, start + moment - time.perf_counter()))
        picks = sorted(rng.sample(blockers, 2))
        msg_id = f"v{n}-{rng.random():.12f}"
        phone.sent[msg_id] = time.perf_counter()
        assert phone.ws is not None
        await phone.ws.send(json.dumps({"type": "respond_opener", "id": msg_id, "blockers": picks}))


async def hang_up(phone: Phone) -> None:
    assert phone.ws is not None
    if phone.slow:
        phone.ws.transport.abort()  # a closing handshake would wait behind all it never read
    else:
        await phone.ws.close()


async def stall(url: str, phones: list[Phone], meeting_id: int) -> None:
    """These phones come back as slow readers (same person, same place in the log), take their
    welcome, then never read again."""
    for p in phones:
        await hang_up(p)
        p.slow = True
        await open_phone(url, p, meeting_id)
        assert p.reader is not None
        p.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await p.reader


def dropped(phone: Phone) -> bool:
    """Whether the server ended this socket: the library saw it, or TCP did (a reset)."""
    ws = phone.ws
    if ws is None or ws.state is State.CLOSED or ws.transport.is_closing():
        return True
    sock = ws.transport.get_extra_info("socket")
    try:
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]  # tcpi_state
    except OSError:
        return True
    return bool(state != TCP_ESTABLISHED)


async def watch_dropped(phones: list[Phone], started: float) -> None:
    """Notes when the server drops each stalled phone. A server that gave up on a socket sends
    its FIN behind the data the phone never read, so the phone cannot see it; a ping from the
    phone makes the server's kernel answer with a reset, which it can see."""
    while any(p.dropped_after is None for p in phones):
        for p in phones:
            if p.dropped_after is not None:
                continue
            if dropped(p):
                p.dropped_after = time.perf_counter() - started
                continue
            assert p.ws is not None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(p.ws.ping(), POKE_EVERY)
        await asyncio.sleep(POKE_EVERY)


async def worker_main(
    url: str, meeting_id: int, tokens: list[str], blockers: list[int], pipe: Connection
) -> None:
    phones = [Phone(token) for token in tokens]
    rng = random.Random(tokens[0] if tokens else "x")
    for chunk in range(0, len(phones), 50):  # connect in waves, as a hall does
        await asyncio.gather(*(open_phone(url, p, meeting_id) for p in phones[chunk : chunk + 50]))
    pipe.send({"connected": len(phones)})
    loop = asyncio.get_running_loop()
    slow: list[Phone] = []
    watcher: asyncio.Task[None] | None = None
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command["do"] == "vote":
            for p in phones:
                p.acks.clear()
                p.errors = 0
            await asyncio.gather(*(vote(p, blockers, command["window"], rng) for p in phones))
            deadline = time.perf_counter() + 60
            # Polling is right here: acks arrive on 1,000 sockets; one event per phone is waste.
            while any(p.sent for p in phones) and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            pipe.send(
                {
                    "acks": [a for p in phones for a in p.acks],
                    "unanswered": sum(len(p.sent) for p in phones),
                    "errors": sum(p.errors for p in phones),
                }
            )
        elif command["do"] == "storm":
            for p in phones:
                await hang_up(p)
            start = time.perf_counter()

            async def back(p: Phone, window: float = command["window"]) -> None:
                await asyncio.sleep(rng.uniform(0, window))
                await open_phone(url, p, meeting_id)

            await asyncio.gather(*(back(p) for p in phones))
            pipe.send({"all_in_sync_after": time.perf_counter() - start})
        elif command["do"] == "size":
            pipe.send({"phones": len(phones)})
        elif command["do"] == "stall":
            slow = phones[: command["count"]]
            await stall(url, slow, meeting_id)
            watcher = asyncio.create_task(watch_dropped(slow, time.perf_counter()))
            pipe.send({"stalled": len(slow)})
        elif command["do"] == "dropped":
            # Counted until a wall-clock deadline the driver set when the backlog was complete.
            if watcher is not None:
                await asyncio.wait({watcher}, timeout=max(0.0, command["until"] - time.time()))
            pipe.send(
                {
                    "slow": len(slow),
                    "dropped": sum(1 for p in slow if p.dropped_after is not None),
                    "dropped_after_s": [
                        p.dropped_after for p in slow if p.dropped_after is not None
                    ],
                }
            )
        elif command["do"] == "stop":
            if watcher is not None:
                watcher.cancel()
            for p in phones:
                if p.ws is not None:
                    await hang_up(p)
            pipe.send({"stopped": True})
            return


def worker(
    url: str, meeting_id: int, tokens: list[str], blockers: list[int], pipe: Connection
) -> None:
    asyncio.run(worker_main(url, meeting_id, tokens, blockers, pipe))
