"""Guards at the edge: security headers, CSRF, same-origin sockets, and rate limits."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import secrets
import time
from collections import OrderedDict, deque
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

CSRF_COOKIE = "fac_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

# Only the app's own scripts and styles; sockets to this same host.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


HSTS = "max-age=31536000"  # a year; no includeSubDomains: the network's other sites are theirs


class SecurityHeaders:
    """Adds the CSP and friends to every HTTP response (pure ASGI: no body buffering); HSTS
    when the site is served over TLS (``https``: its public URL is, or the request came so)."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", CSP)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "same-origin")
                headers.setdefault("x-frame-options", "DENY")
                if self.https or scope.get("scheme") == "https":
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_BODY_BYTES = 64 * 1024  # no form or API call of this app needs more
# ... but the people import: a spreadsheet of up to 2 MB, and its confirmation carrying it back.
UPLOAD_PATHS = frozenset({"/admin/import", "/admin/import/confirm"})
MAX_UPLOAD_BYTES = 3 * 1024 * 1024


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over ``MAX_BODY_BYTES`` with 413, declared or streamed (chunked),
    before any handler reads them into memory."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = MAX_UPLOAD_BYTES if scope.get("path") in UPLOAD_PATHS else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    @staticmethod
    async def _refuse(send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": b"413 request too large"})


def csrf_token(connection: HTTPConnection) -> str:
    """The browser's CSRF token (double-submit: the cookie and the form must agree)."""
    existing = connection.cookies.get(CSRF_COOKIE, "")
    return existing if 20 <= len(existing) <= 100 else ""


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str, sent: str | None) -> bool:
    return bool(cookie) and isinstance(sent, str) and hmac.compare_digest(cookie, sent)


def origin_allowed(connection: HTTPConnection, public_url: str) -> bool:
    """A browser's socket or form must come from this site, scheme and all: the Host it asked
    for as it was reached, or the configured public address. Non-browser clients send no
    Origin and are judged by their token."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    scheme = {"ws": "http", "wss": "https"}.get(connection.url.scheme, connection.url.scheme)
    allowed = {_site(scheme, connection.headers.get("host", ""))}
    if public_url:
        public = urlsplit(public_url)
        allowed.add(_site(public.scheme, public.netloc))
    came = urlsplit(origin)
    return _site(came.scheme, came.netloc) in allowed


_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _site(scheme: str, netloc: str) -> tuple[str, str]:
    """(scheme, host[:port]) with the scheme's default port left out, as browsers write it."""
    scheme, netloc = scheme.lower(), netloc.lower()
    return scheme, netloc.removesuffix(_DEFAULT_PORTS.get(scheme, "\0"))


class UntrustedForwarding:
    """With no proxy trusted, ``X-Forwarded-For`` is ignored: say so once in the log, since a
    proxy in front that is not named makes every client one address to the limiters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.said = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.said
            and scope["type"] in ("http", "websocket")
            and any(k == b"x-forwarded-for" for k, _v in scope["headers"])
        ):
            self.said = True
            client = scope.get("client") or ("?", 0)
            log.warning(
                "X-Forwarded-For from %s is ignored: if a proxy is in front, name it in "
                "FACILITATOR_TRUSTED_PROXIES",
                client[0],
            )
        await self.app(scope, receive, send)


LOCAL_HOSTS = ("localhost",)
# A Host header as browsers send it: a name or an IP literal, and a port.
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::\d{1,5})?$")


class HostGuard:
    """Only this site's host names are served when they are configured (the public URL's,
    ``FACILITATOR_ALLOWED_HOSTS``): a forged ``Host`` would otherwise land in links, QR codes and
    feeds, and a page of another site resolving to this server (DNS rebinding) could read it.
    IP addresses are always served (rebinding needs a name; phones on a venue's Wi-Fi use one),
    and so is ``/healthz``, which load balancers ask by address."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed = frozenset(h.lower() for h in (*allowed, *LOCAL_HOSTS))
        self.checking = bool(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.checking
            and scope["type"] in ("http", "websocket")
            and scope.get("path") != "/healthz"
            and not self._served(scope)
        ):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": b"This site is not served here.\n"})
            return
        await self.app(scope, receive, send)

    def _served(self, scope: Scope) -> bool:
        host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
        if not _HOST.match(host):
            return False
        name = urlsplit(f"//{host}").hostname or ""
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return name in self.allowed
        return True


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (a sliding window, in memory)."""

    def __init__(self, limit: int, window: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def over(self, key: str) -> bool:
        """Whether ``key`` used its allowance already (without counting this look)."""
        hits = self._hits.get(key)
        now = time.monotonic()
        return hits is not None and sum(1 for t in hits if now - t <= self.window) >= self.limit

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_old(now)
            hits = self._hits[key] = deque()
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _forget_old(self, now: float) -> None:
        stale = [k for k, v in self._hits.items() if not v or now - v[-1] > self.window]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:  # still full: a flood of keys; start over
            self._hits.clear()


class TokenBucket:
    """A message budget: ``burst`` at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        if self.wait() > 0:
            return False
        self.spend()
        return True

    def wait(self) -> float:
        """Seconds until one is there (0: there is one now); spends nothing."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def spend(self) -> None:
        self.tokens -= 1


class SenderBudgets:
    """One message budget per sender (a phone's person, a staff session, a meeting's wall),
    shared by all its sockets and the HTTP command API, so that opening more sockets or
    posting instead buys no more; and a cap on each sender's open sockets."""

    def __init__(self, max_senders: int = 50_000) -> None:
        self.max_senders = max_senders
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._sockets: dict[str, int] = {}

    def take(self, sender: str, rate: float, burst: float) -> bool:
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = TokenBucket(rate, burst)
            if len(self._buckets) > self.max_senders:  # forgotten: a full refill, as if new
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(sender)  # the latest used last
        return bucket.take()

    def open_socket(self, sender: str, cap: int) -> bool:
        """Count one more socket for ``sender``, unless it has ``cap`` open already."""
        held = self._sockets.get(sender, 0)
        if held >= cap:
            return False
        self._sockets[sender] = held + 1
        return True

    def close_socket(self, sender: str) -> None:
        held = self._sockets.get(sender, 0) - 1
        if held > 0:
            self._sockets[sender] = held
        else:
            self._sockets.pop(sender, None)
