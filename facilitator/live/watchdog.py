"""The watchdog: drops the phones stuck in one send, that is, phones that read nothing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Set

from facilitator.live import outbox
from facilitator.live.outbox import Connection

log = logging.getLogger(__name__)

WATCH_EVERY = 2.0  # how often a room looks for such phones


class Watchdog:
    """Looks over a room's sockets every ``WATCH_EVERY`` seconds while started."""

    def __init__(self, connections: Set[Connection]) -> None:
        self.connections = connections
        self.dropped = 0  # phones dropped for reading nothing
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Begin looking (on the running loop)."""
        self._timer = asyncio.get_running_loop().call_later(WATCH_EVERY, self._look)

    def stop(self) -> None:
        """Stop looking."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _look(self) -> None:
        """Drop the phones stuck in one send for too long: they read nothing, and each holds a
        buffer of unsent data. Back on a working network, a phone reconnects and catches up."""
        now = time.monotonic()
        for connection in self.connections:
            if connection.is_hopeless(now) and connection.abort is not None:
                log.info("dropping a screen that has read nothing for %.0f s", outbox.STUCK_AFTER)
                self.dropped += 1
                connection.sending_since = None  # once
                connection.abort()
        self.start()
