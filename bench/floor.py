"""The floor: a bare `websockets` server doing the same fan-out with `websockets.broadcast()`.

It speaks just enough of our protocol for the same clients: hello → welcome; a `move` from the
console → the same stage-change payload, broadcast to every socket; a `respond_opener` → ack
once the answer is stored durably (a third argument, a SQLite file: WAL, `synchronous=FULL`,
the answers waiting meanwhile written in one transaction, as ours does; without it, at once).

`python -m bench.floor join PORT DB` is the join wave's floor instead (`bench/join_wave.py`):
the same uvicorn, a bare Starlette `POST /api/join` that writes one row durably (SQLite WAL,
`synchronous=FULL`, one commit per request) and a bare socket that answers hello.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

PAYLOAD = sys.argv[2] if len(sys.argv) > 2 else "{}"
ANSWERS = sys.argv[3] if len(sys.argv) > 3 else None


class Answers:
    """The fewest a durable answer can cost: one row each, the answers that arrived while the
    last transaction was being written all in the next one (one fsync), then their acks."""

    def __init__(self, path: str) -> None:
        import sqlite3

        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS answers (id INTEGER PRIMARY KEY, msg TEXT)")
        self.waiting: list[tuple[ServerConnection, str]] = []
        self.wake = asyncio.Event()

    def store(self, ids: list[str]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT INTO answers (msg) VALUES (?)", [(i,) for i in ids])
        self.db.execute("COMMIT")

    async def writer(self, next_seq: Callable[[], int]) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.waiting = self.waiting, []
            await asyncio.to_thread(self.store, [msg for _ws, msg in batch])
            for ws, msg in batch:
                ack = json.dumps({"type": "ack", "id": msg, "seq": next_seq()})
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(ack)


async def main(port: int) -> None:
    sockets: set[ServerConnection] = set()
    fanouts: list[float] = []
    seq = 0

    def next_seq() -> int:
        nonlocal seq
        seq += 1
        return seq

    answers = Answers(ANSWERS) if ANSWERS else None
    # Held here for the server's life (a task nobody holds may be collected).
    writing = [asyncio.create_task(answers.writer(next_seq))] if answers is not None else []

    async def handler(ws: ServerConnection) -> None:
        nonlocal seq
        await ws.recv()  # hello
        await ws.send(json.dumps({"type": "welcome", "snapshot": {"meeting": {"last_seq": seq}}}))
        sockets.add(ws)
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "move":
                    seq += 1
                    event = json.loads(PAYLOAD)
                    event["seq"] = seq
                    started = time.perf_counter()
                    broadcast(sockets, json.dumps(event))  # encoded once, as ours does
                    fanouts.append(time.perf_counter() - started)
                    await ws.send(json.dumps({"type": "ack", "id": message.get("id"), "seq": seq}))
                elif message.get("type") == "stats":  # the fan-out times, as ours reports them
                    await ws.send(json.dumps({"type": "stats", "fanout_s": fanouts}))
                elif message.get("type") == "respond_opener" and answers is not None:
                    answers.waiting.append((ws, str(message.get("id"))))
                    answers.wake.set()
                elif message.get("type") == "respond_opener":
                    seq += 1
                    await ws.send(json.dumps({"type": "ack", "id": message.get("id"), "seq": seq}))
        finally:
            sockets.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_size=2**16, max_queue=32):
        await asyncio.Future()
    del writing


def join_floor(port: int, db_path: str) -> None:
    """The best this machine does for a join: one durable row, a token, a welcome."""
    import secrets
    import sqlite3
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS joins (id INTEGER PRIMARY KEY, name TEXT, token TEXT)")
    lock = threading.Lock()

    def write(name: str, token: str) -> int:
        with lock:  # one writer, as SQLite has; each join its own transaction and fsync
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("INSERT INTO joins (name, token) VALUES (?, ?)", (name, token))
            db.execute("COMMIT")
            return int(row.lastrowid or 0)

    async def join(request: Request) -> JSONResponse:
        data = json.loads(await request.body())
        token = secrets.token_urlsafe(32)
        person = await asyncio.to_thread(write, str(data.get("name")), token)
        return JSONResponse({"meeting_id": 1, "person": {"id": person}, "token": token})

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()  # hello
        await ws.send_text(json.dumps({"type": "welcome", "snapshot": {"meeting": {}}}))
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass

    async def healthz(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/join", join, methods=["POST"]),
            WebSocketRoute("/ws/m/{meeting_id:int}", socket),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws_per_message_deflate=False)


if __name__ == "__main__":
    if sys.argv[1] == "join":
        join_floor(int(sys.argv[2]), sys.argv[3])
    else:
        asyncio.run(main(int(sys.argv[1])))
