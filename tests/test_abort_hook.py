"""The way to drop a stuck phone, found under a real uvicorn with a real client: if uvicorn
changes how it hands over ``send``, this fails instead of stuck phones quietly staying."""

from __future__ import annotations

import asyncio

import uvicorn
from websockets.asyncio.client import connect

from facilitator.http.socket import ABORT, AbortHook
from tests.live_server import free_port


async def test_uvicorn_hands_over_a_transport_that_can_be_dropped() -> None:
    seen: dict[str, object] = {}

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        seen["abort"] = scope.get(ABORT)
        scope[ABORT]()  # drop it: the client sees the connection end without a close frame
        while (await receive())["type"] != "websocket.disconnect":
            pass

    port = free_port()
    config = uvicorn.Config(AbortHook(app), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1006  # abnormal: dropped, not closed politely
        assert callable(seen["abort"])
    finally:
        server.should_exit = True
        await serving
