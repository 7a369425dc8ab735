"""Ports for the servers the tests start.

Each xdist worker picks from its own block below the kernel's ephemeral range: two workers never
race for one port (a server that lost the race would die while the winner answered its health
check, and the test would talk to another test's database), and no client socket is handed it.
"""

from __future__ import annotations

import os
import random
import socket

_BLOCK = 1000
_FIRST = 10_000
_BLOCKS = 22  # 10000-31999: below Linux's default ephemeral range (32768-60999)


def _block() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0
    return _FIRST + (index % _BLOCKS) * _BLOCK


_handed: set[int] = set()  # given out already: two servers not yet bound never get one port


def free_port() -> int:
    """A loopback port nothing listens on, from this worker's own block, never the same twice
    in one session (the block's ports are many more than a session starts servers)."""
    start = _block()
    # A random order of its own per session: two sessions on one machine rarely meet.
    for port in random.Random(os.getpid()).sample(range(start, start + _BLOCK), _BLOCK):
        if port in _handed:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port
    raise RuntimeError(f"no free port in {start}-{start + _BLOCK - 1}")
