"""Structured log lines: every line says which request, connection and meeting it is about.

A request (or a socket, for as long as it is open) gets an id, taken from a sane ``X-Request-ID``
sent by a proxy or made here, and echoed in the response. The ids live in context variables, so
any log line written while serving it carries them, uvicorn's access line included, without
being passed around. Lines are ``logfmt`` (``key=value``), which people read and log tools parse.
No line carries a secret from a URL (``redact``): logs are read by more people than tokens are.
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
meeting_id: ContextVar[int | None] = ContextVar("meeting_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("connection_id", default=None)

_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # what a proxy's id may be; anything else is ours
_MEETING_PATH = re.compile(r"^/(?:ws/|api/)?m/(\d{1,18})(?:/|$)")
#: Fields a line may carry besides the message, in the order they are written.
FIELDS = ("request_id", "connection", "meeting", "command", "role", "key")
_VALUE_NEEDS_QUOTES = re.compile(r'[\s"=\\\x00-\x1f\x7f]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Secrets that travel in URLs (a projector's view token, a calendar feed, the setup, invitation
# and reset links, a person's own page): a log line keeps the route and drops the secret.
_SECRET_SEGMENT = re.compile(r"(/(?:feeds|setup|invite|reset|me|mail/off)/)[A-Za-z0-9_-]{8,}")
_SECRET_PARAMETER = re.compile(r"([?&](?:view|token)=)[^&\s\"']+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with every secret a URL may carry replaced by ``[redacted]``."""
    text = _SECRET_SEGMENT.sub(rf"\g<1>{REDACTED}", text)
    return _SECRET_PARAMETER.sub(rf"\g<1>{REDACTED}", text)


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: ``log.exception("command failed", extra=fields(command=…))``."""
    return {f"fac_{name}": value for name, value in values.items() if value is not None}


class ContextFilter(logging.Filter):
    """Puts the current request's ids on every record (a handler's filter: every logger's lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "fac_request_id"):
            record.fac_request_id = request_id.get()
        if not hasattr(record, "fac_meeting"):
            record.fac_meeting = meeting_id.get()
        if not hasattr(record, "fac_connection"):
            record.fac_connection = connection_id.get()
        return True


def _quoted(value: object) -> str:
    text = str(value)
    if text == "" or _VALUE_NEEDS_QUOTES.search(text):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        # A line is one record: no control character (a newline, a CR) may start a forged one.
        return '"' + _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", escaped) + '"'
    return text


class LogfmtFormatter(logging.Formatter):
    """``time level logger msg request_id=… meeting=… command=… role=…``, tracebacks after."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"time={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_quoted(record.getMessage())}",
        ]
        for name in FIELDS:
            value = getattr(record, f"fac_{name}", None)
            if value is not None:
                parts.append(f"{name}={_quoted(value)}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``serve``: ours and uvicorn's loggers, one format."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"logfmt": {"()": LogfmtFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "logfmt",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "facilitator": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }


class RequestIds:
    """Gives each request and socket an id (and the meeting its path names) for its log lines."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        ident = given if _GIVEN_ID.fullmatch(given) else secrets.token_hex(8)
        found = _MEETING_PATH.match(scope.get("path", ""))
        # A socket is one long connection: its lines name it, not a request.
        (connection_id if scope["type"] == "websocket" else request_id).set(ident)
        meeting_id.set(int(found.group(1)) if found else None)
        header = (b"x-request-id", ident.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_id)
