"""A log line is one record whatever people typed, and a proxy's request id is kept only when
it is a plain id."""

from __future__ import annotations

import logging

from starlette.types import Message, Receive, Scope, Send

from facilitator.logs import LogfmtFormatter, RequestIds, fields, request_id


def line(message: str, **extra: object) -> str:
    record = logging.LogRecord("facilitator.test", logging.INFO, __file__, 1, message, (), None)
    for name, value in fields(**extra).items():
        setattr(record, name, value)
    return LogfmtFormatter().format(record)


def test_typed_text_cannot_start_a_forged_line() -> None:
    written = line('bad\nlevel=error msg="forged"\r', command="start\x1b[31m")
    assert "\n" not in written
    assert "\r" not in written
    assert "\x1b" not in written
    assert 'msg="bad\\x0alevel=error msg=\\"forged\\"\\x0d"' in written
    assert 'command="start\\x1b[31m"' in written
    assert line("plain", role="participant").endswith("msg=plain role=participant")


async def seen_id(header: bytes) -> str | None:
    said: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        said.append(request_id.get())

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        return None

    scope = {"type": "http", "path": "/", "headers": [(b"x-request-id", header)]}
    await RequestIds(app)(scope, receive, send)
    return said[0]


async def test_only_a_plain_request_id_is_kept() -> None:
    assert await seen_id(b"proxy-1.a_b") == "proxy-1.a_b"
    for odd in (b"abc\n", b"a b", b"x" * 65, b""):
        kept = await seen_id(odd)
        assert kept != odd.decode()
        assert kept is not None
        assert len(kept) == 16
