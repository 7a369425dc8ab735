"""The private names of uvicorn that ``http/server_hooks.py`` relies on, read from the uvicorn
installed: a uvicorn that renames or reshapes them fails here, before any phone is stuck."""

from __future__ import annotations

import asyncio
import inspect
import tomllib
from pathlib import Path

import uvicorn
from packaging.requirements import Requirement
from uvicorn.config import Config
from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol
from uvicorn.server import ServerState

from facilitator.http.server_hooks import direct_sender

ROOT = Path(__file__).resolve().parents[2]


async def _app_noop(scope: object, receive: object, send: object) -> None:
    raise AssertionError("never called: the protocol only needs an app to hold")


async def test_the_websocket_protocol_has_what_the_hooks_read() -> None:
    assert AutoWebSocketsProtocol is not None
    config = Config(_app_noop)
    config.load()
    protocol = AutoWebSocketsProtocol(config=config, server_state=ServerState(), app_state={})
    assert isinstance(protocol.writable, asyncio.Event)  # type: ignore[attr-defined]
    assert protocol.close_sent is False  # type: ignore[attr-defined]
    assert protocol.disconnected is False  # type: ignore[attr-defined]
    # The app is handed ``protocol.send``: a coroutine function of one ASGI message.
    send = protocol.send  # type: ignore[attr-defined]
    assert inspect.iscoroutinefunction(send)
    assert list(inspect.signature(send).parameters) == ["message"]
    assert "self.send)" in inspect.getsource(type(protocol).run_asgi)  # type: ignore[attr-defined]
    assert direct_sender(protocol, send) is not None


def test_uvicorn_is_within_the_pinned_versions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [Requirement(d) for d in project["project"]["dependencies"]]
    pin = next(r for r in pins if r.name == "uvicorn")
    assert any(s.operator == "<" for s in pin.specifier)  # an upper pin: see server_hooks.py
    assert pin.specifier.contains(uvicorn.__version__)
