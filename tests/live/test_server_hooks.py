"""The two ways past ASGI's politeness, found under a real uvicorn with a real client: if uvicorn
changes how it hands over ``send``, these fail instead of stuck phones quietly staying or every
broadcast quietly going the slow way. The last test checks the real server uses them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect

from facilitator.http.server_hooks import ABORT, DIRECT, ServerHooks
from tests.support.live_server import (
    close_all_clients,
    free_port,
    join_phone,
    new_meeting,
    open_client,
    staff_client,
    start_server,
)

Handler = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[int]:
    """uvicorn on a free port with ``handler`` behind ServerHooks for WebSocket scopes."""

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await handler(scope, receive, send)

    port = free_port()
    config = uvicorn.Config(ServerHooks(app), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await task


async def until_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def test_uvicorn_hands_over_a_transport_that_can_be_dropped() -> None:
    seen: dict[str, object] = {}

    async def handler(scope: dict[str, Any], receive: Any, _send: Any) -> None:
        seen["abort"] = scope.get(ABORT)
        scope[ABORT]()  # drop it: the client sees the connection end without a close frame
        await until_disconnect(receive)

    async with serving(handler) as port, connect(f"ws://127.0.0.1:{port}/") as ws:
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1006  # abnormal: dropped, not closed politely
    assert callable(seen["abort"])


async def test_direct_sends_go_out_whole_and_in_order() -> None:
    outcomes: list[bool] = []

    async def handler(scope: dict[str, Any], receive: Any, _send: Any) -> None:
        outcomes.extend(scope[DIRECT](f"message {n}") for n in range(100))
        await until_disconnect(receive)

    async with serving(handler) as port, connect(f"ws://127.0.0.1:{port}/") as ws:
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(100)]
    assert got == [f"message {n}" for n in range(100)]
    assert outcomes == [True] * 100


def stalled_client(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then reads nothing at all."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    raw.sendall(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.recv(1)  # byte by byte: not one byte past the handshake is read
    assert head.startswith(b"HTTP/1.1 101")
    return raw


async def test_a_direct_send_refuses_rather_than_waits_and_a_stuck_reader_is_dropped() -> None:
    refused_after: list[int] = []

    async def handler(scope: dict[str, Any], receive: Any, _send: Any) -> None:
        big = "x" * 60_000
        for n in range(2_000):  # 120 MB: far more than the kernel and the transport hold
            if not scope[DIRECT](big):
                refused_after.append(n)
                break
            await asyncio.sleep(0)
        scope[ABORT]()
        await until_disconnect(receive)

    async with serving(handler) as port:
        raw = await asyncio.to_thread(stalled_client, port)
        try:
            while not refused_after:  # noqa: ASYNC110 - the handler runs on this loop
                await asyncio.sleep(0.05)
            raw.setblocking(False)
            loop = asyncio.get_running_loop()
            # Once the phone reads again, it gets what the kernel held, then the end: no close
            # frame after it, no hanging on (a wait here would time out).
            received = await asyncio.wait_for(read_to_the_end(loop, raw), 10)
        finally:
            raw.close()
    assert 0 < refused_after[0] < 2_000
    assert received > 0  # what the kernel held on its behalf


async def read_to_the_end(loop: asyncio.AbstractEventLoop, raw: socket.socket) -> int:
    received = 0
    with contextlib.suppress(ConnectionResetError):
        while chunk := await loop.sock_recv(raw, 1 << 20):
            received += len(chunk)
    return received


@pytest.mark.slow
async def test_the_real_server_reaches_every_socket_past_asgi(
    migrated_template: str, tmp_path: Path
) -> None:
    """A middleware that wraps ``send`` outside ServerHooks hides uvicorn's: every broadcast
    would then wake a task per socket, and a phone that reads nothing could not be dropped."""
    server = await asyncio.to_thread(start_server, migrated_template, tmp_path)
    try:
        staff = await staff_client(server)
        meeting_id, code, _view = await new_meeting(server, staff)
        token, _person = await join_phone(server, code, "דנה הוקס")
        phone = await open_client(server, meeting_id, "phone", {"token": token})
        await phone.expect(lambda m: m["type"] == "welcome")
        for _ in range(50):  # the socket's sender starts just after its welcome
            stats = (await staff.get("/api/live/stats")).json()
            if stats["sockets_direct"]:
                break
            await asyncio.sleep(0.05)
        assert stats["sockets"] == stats["sockets_direct"] == stats["sockets_abortable"] == 1
        await staff.aclose()
    finally:
        await close_all_clients()
        server.stop()
