"""One socket's side of a room: its outbox of waiting messages and who is behind it."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from facilitator.flow import Role
from facilitator.services.actors import Actor

QUEUE_LIMIT = 256  # messages waiting for one socket before it is switched to a resync
RESYNC: None = None  # a queue entry that means "send this socket a fresh snapshot"
STUCK_AFTER = 10.0  # seconds one send may wait on a phone that reads nothing before it is dropped


class Outbox:
    """One socket's waiting messages: a deque and at most one waiter. A broadcast touches every
    socket's outbox, so it is kept lighter than ``asyncio.Queue``."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[str | None] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        """Whether nothing waits."""
        return not self._items

    def put_nowait(self, item: str | None) -> None:
        """Queue a text (or RESYNC) and wake the sender if it waits."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> str | None:
        """The oldest waiting item (the outbox must not be empty)."""
        return self._items.popleft()

    def clear(self) -> None:
        """Forget everything waiting."""
        self._items.clear()

    async def get(self) -> str | None:
        """The oldest waiting item, once there is one."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class Connection:
    """One socket's outbox and who is behind it."""

    __slots__ = (
        "abort",
        "actor",
        "busy",
        "closing",
        "direct",
        "lang",
        "opened_at",
        "overflows",
        "queue",
        "role",
        "sending_since",
        "session_id",
    )

    def __init__(
        self,
        role: Role,
        actor: Actor,
        lang: str,
        *,
        session_id: int | None = None,
        abort: Callable[[], None] | None = None,
    ) -> None:
        self.role = role
        self.actor = actor
        self.lang = lang
        self.session_id = session_id
        self.queue = Outbox()
        self.overflows = 0
        self.closing: int | None = None
        #: When this screen's sender was recognised (a name released after it stops it).
        self.opened_at = time.monotonic()
        #: When the send in progress began (None when idle): a send that never ends means a
        #: phone that stopped reading.
        self.sending_since: float | None = None
        #: Drops the connection at once, unsent data and all (set by the socket endpoint).
        self.abort = abort
        #: Sends a text at once, without waking a task, when the socket can take it without
        #: waiting; False when it could not. Set by the socket endpoint once the welcome is out.
        self.direct: Callable[[str], bool] | None = None
        #: The sender task holds a message it has not finished sending: later ones queue.
        self.busy = False

    def offer(self, text: str) -> None:
        """Send now if the socket keeps up, else queue; a slow reader collapses to a resync."""
        # The common case, a socket keeping up: written now, in order, with no task to wake;
        # a broadcast then costs about what a bare websockets broadcast does.
        if (
            self.direct is not None
            and not self.busy
            and not self.queue
            and self.closing is None
            and self.direct(text)
        ):
            return
        if len(self.queue) >= QUEUE_LIMIT:
            # A slow reader: drop what it has not read; a snapshot replaces all of it.
            self.overflows += 1
            self.queue.clear()
            self.queue.put_nowait(RESYNC)
            return
        self.queue.put_nowait(text)

    def is_closing(self) -> bool:
        """Whether the server decided to close this socket (checked between awaits)."""
        return self.closing is not None

    def close(self, code: int, *, drop_queued: bool = True) -> None:
        """Close the socket: the receiver stops taking commands (it checks ``closing``) and the
        sender closes when it reaches the marker. A logout drops what is still queued, so a
        signed-out screen is told nothing more; a flood is told why it is cut off first."""
        self.closing = code
        if drop_queued or len(self.queue) >= QUEUE_LIMIT:
            self.queue.clear()
        self.queue.put_nowait(RESYNC)

    def is_hopeless(self, now: float) -> bool:
        """Whether one send has waited on this socket for longer than a reading phone takes."""
        return self.sending_since is not None and now - self.sending_since > STUCK_AFTER
