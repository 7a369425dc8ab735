"""Two ways past ASGI's politeness, taken from uvicorn's own objects when it offers them.

This is the one module that knows uvicorn's private names: the protocol object behind the
``send`` an app gets, its ``transport``, its ``writable`` event and its ``close_sent`` and
``disconnected`` flags. ``pyproject.toml`` pins uvicorn below its next minor version, and
``tests/live/test_server_hooks.py`` fails when a uvicorn no longer has them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send

ABORT = "facilitator.abort"  # the scope keys ServerHooks fills
DIRECT = "facilitator.direct"


class ServerHooks:
    """Puts two ways past ASGI's politeness into a WebSocket's scope, when the server offers them.

    ``ABORT`` drops the connection at once: ASGI can only close politely, and a close frame
    waits behind everything a phone that stopped reading has not taken. ``DIRECT`` writes a
    text frame at once when the transport has room, without a task to wake: what a broadcast to
    thousands of sockets otherwise spends most of its time on.

    Under uvicorn the ``send`` an app gets is its protocol object's own method, with the
    transport and the "writable" flag beside it; elsewhere nothing is added and every message
    goes through the socket's sender task. Must be the outermost middleware, to see that
    ``send``: one that wraps ``send`` outside it hides uvicorn's.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            protocol = getattr(send, "__self__", None)
            abort = getattr(getattr(protocol, "transport", None), "abort", None)
            if callable(abort):
                scope[ABORT] = abort
            direct = direct_sender(protocol, send)
            if direct is not None:
                scope[DIRECT] = direct
        await self.app(scope, receive, send)


def direct_sender(protocol: object, send: Send) -> Callable[[str], bool] | None:
    """A function that sends a text frame now if ``protocol`` can take it without waiting
    (True), else does nothing (False); ``None`` when ``protocol`` is not one it knows."""
    writable = getattr(protocol, "writable", None)
    if not isinstance(writable, asyncio.Event) or not hasattr(protocol, "close_sent"):
        return None

    def direct(text: str) -> bool:
        if not writable.is_set() or getattr(protocol, "disconnected", True) or protocol.close_sent:
            return False
        # With room to write, the server's send completes without ever waiting: run it to the
        # end right here.
        step = cast(Coroutine[Any, Any, None], send({"type": "websocket.send", "text": text}))
        try:
            step.send(None)
        except StopIteration:
            return True
        except Exception:
            return False  # the sender task meets the same failure and ends the socket
        step.close()  # it would have waited after all: let the sender task do it
        return False

    return direct
