"""Load clients: many phones per process, reading everything and answering commands."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


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
            elif kind in ("event", "tally"):
                phone.last_seq = max(phone.last_seq, message["seq"])
            elif kind == "ack":
                started = phone.sent.pop(message["id"], None)
                if started is not None:
                    phone.acks.append(time.perf_counter() - started)
            elif kind == "error":
                phone.errors += 1
    except Exception:  # the socket went away: reconnects are the driver's business
        return


async def open_phone(url: str, phone: Phone, meeting_id: int) -> None:
    phone.welcomed.clear()
    phone.ws = await connect(
        f"{url}/ws/m/{meeting_id}?face=phone", compression=None, max_size=2**22, open_timeout=60
    )
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


async def worker_main(
    url: str, meeting_id: int, tokens: list[str], blockers: list[int], pipe: Connection
) -> None:
    phones = [Phone(token) for token in tokens]
    rng = random.Random(tokens[0] if tokens else "x")
    for chunk in range(0, len(phones), 50):  # connect in waves, as a hall does
        await asyncio.gather(*(open_phone(url, p, meeting_id) for p in phones[chunk : chunk + 50]))
    pipe.send({"connected": len(phones)})
    loop = asyncio.get_running_loop()
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
                assert p.ws is not None
                await p.ws.close()
            start = time.perf_counter()

            async def back(p: Phone, window: float = command["window"]) -> None:
                await asyncio.sleep(rng.uniform(0, window))
                await open_phone(url, p, meeting_id)

            await asyncio.gather(*(back(p) for p in phones))
            pipe.send({"all_in_sync_after": time.perf_counter() - start})
        elif command["do"] == "stop":
            for p in phones:
                if p.ws is not None:
                    await p.ws.close()
            pipe.send({"stopped": True})
            return


def worker(
    url: str, meeting_id: int, tokens: list[str], blockers: list[int], pipe: Connection
) -> None:
    asyncio.run(worker_main(url, meeting_id, tokens, blockers, pipe))
