"""The tally coalescer: opener tallies reach the wall and the console at most ten times a second,
phones twice, and the first one at once; a hall gets each in slices of the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Set

from facilitator.live.outbox import Connection

TALLY_INTERVAL = {True: 0.1, False: 0.5}  # seconds between tallies: wall and console / phones
SPREAD_SLICE = 200  # screens handed a tally per turn of the event loop

_Spreading = tuple[asyncio.Handle, list[Connection], str, int]


class TallyCoalescer:
    """Holds the newest tally and hands it on to a room's screens, fast and slow apart."""

    def __init__(self, connections: Set[Connection]) -> None:
        self.connections = connections
        #: The newest tally, encoded (what a screen joining now is sent after its snapshot).
        self.text: str | None = None
        self._sent = {True: 0.0, False: 0.0}
        self._timer: dict[bool, asyncio.TimerHandle | None] = {True: None, False: None}
        self._spreading: dict[bool, _Spreading | None] = {True: None, False: None}

    def update(self, text: str) -> None:
        """A newer tally: each kind of screen gets it now or at its next turn."""
        self.text = text
        for fast in (True, False):
            self._schedule(fast)

    def finish(self) -> None:
        """Give the rest of any tally being spread now: what follows must not overtake it."""
        for fast in (True, False):
            self._finish_spread(fast)

    def stop(self) -> None:
        """Cancel what is due: the room is closing."""
        for timer in self._timer.values():
            if timer is not None:
                timer.cancel()
        for spreading in self._spreading.values():
            if spreading is not None:
                spreading[0].cancel()

    def _schedule(self, fast: bool) -> None:
        if self._timer[fast] is not None:
            return  # a flush is already due; it will carry the newest tally
        wait = self._sent[fast] + TALLY_INTERVAL[fast] - time.monotonic()
        if wait <= 0:
            self._flush(fast)
        else:
            loop = asyncio.get_running_loop()
            self._timer[fast] = loop.call_later(wait, self._flush, fast)

    def _flush(self, fast: bool) -> None:
        self._timer[fast] = None
        self._sent[fast] = time.monotonic()
        if self.text is None:
            return
        self._finish_spread(fast)
        targets = [c for c in self.connections if c.fast is fast]
        self._spread(fast, targets, self.text, 0)

    def _spread(self, fast: bool, targets: list[Connection], text: str, start: int) -> None:
        """Hand a tally to a slice of screens per turn of the loop: two thousand phones at
        once would hold every acknowledgement waiting behind them for tens of milliseconds."""
        end = start + SPREAD_SLICE
        for connection in targets[start:end]:
            connection.offer(text)
        if end < len(targets):
            handle = asyncio.get_running_loop().call_soon(self._spread, fast, targets, text, end)
            self._spreading[fast] = (handle, targets, text, end)
        else:
            self._spreading[fast] = None

    def _finish_spread(self, fast: bool) -> None:
        spreading = self._spreading[fast]
        if spreading is not None:
            handle, targets, text, start = spreading
            handle.cancel()
            self._spreading[fast] = None
            for connection in targets[start:]:
                connection.offer(text)
