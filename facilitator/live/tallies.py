"""The tally coalescer: opener tallies reach the wall and the console at most ten times a second,
the first one at once. Phones draw no tally and are sent none: during a hall's answers that was
most of what a room sent, twice a second to every phone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Set

from facilitator.live.outbox import Connection

TALLY_INTERVAL = 0.1  # seconds between tallies on a screen


class TallyCoalescer:
    """Holds the newest tally and hands it on to a room's screens (its consoles and walls)."""

    def __init__(self, screens: Set[Connection]) -> None:
        self.screens = screens
        #: The newest tally, encoded (what a screen joining now is sent after its snapshot).
        self.text: str | None = None
        self._sent = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def update(self, text: str) -> None:
        """A newer tally: the screens get it now or at their next turn."""
        self.text = text
        if self._timer is not None:
            return  # a flush is already due; it will carry the newest tally
        wait = self._sent + TALLY_INTERVAL - time.monotonic()
        if wait <= 0:
            self._flush()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self._flush)

    def stop(self) -> None:
        """Cancel what is due: the room is closing."""
        if self._timer is not None:
            self._timer.cancel()

    def _flush(self) -> None:
        self._timer = None
        self._sent = time.monotonic()
        if self.text is not None:
            for screen in self.screens:
                screen.offer(self.text)
