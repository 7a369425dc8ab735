"""The floor: a bare `websockets` server doing the same fan-out with `websockets.broadcast()`.

It speaks just enough of our protocol for the same clients: hello → welcome; a `move` from the
console → the same stage-change payload, broadcast to every socket; a `respond_opener` → ack.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from websockets.asyncio.server import ServerConnection, broadcast, serve

PAYLOAD = sys.argv[2] if len(sys.argv) > 2 else "{}"


async def main(port: int) -> None:
    sockets: set[ServerConnection] = set()
    fanouts: list[float] = []
    seq = 0

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
                elif message.get("type") == "respond_opener":
                    seq += 1
                    await ws.send(json.dumps({"type": "ack", "id": message.get("id"), "seq": seq}))
        finally:
            sockets.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_size=2**16, max_queue=32):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
