"""The backbone's figures timed as SQL alone, on a generated network (``bench.history``): the
carry-over's tiles and the accountability by group and by organization, read on one
connection, the median time and CPU time of ``--runs``. Not disturbed by the HTTP server or by
the machine's other work as much as the page timings are.

    .venv/bin/python -m bench.backbone_sql --db /tmp/facilitator-history-5y.db
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from facilitator.db import Database
from facilitator.services import backbone_figures as figures
from facilitator.services import backbone_queries as queries


def _call(function: Callable[..., Any], *args: Any) -> Any:
    # Older figures took the network's time zone as well: time either.
    if "timezone" in inspect.signature(function).parameters:
        args = (*args, "Asia/Jerusalem")
    return function(*args)


def measure(path: Path, network_id: int, runs: int) -> dict[str, tuple[float, float]]:
    """Per figure: the median time and the median CPU time of its thread, in milliseconds
    (the CPU time is what the machine's other work disturbs least)."""
    as_of = datetime.now(UTC).date()
    reach = queries.Reach(network_id)
    work: dict[str, Callable[[Connection], Any]] = {
        "tiles": lambda c: _call(figures.figures, c, reach, queries.Filters(), as_of),
        "accountability by group": lambda c: _call(figures.breakdown, c, reach, "group", as_of),
        "accountability by organization": lambda c: _call(
            figures.breakdown, c, reach, "organization", as_of
        ),
    }

    def timed(connection: Connection) -> dict[str, tuple[float, float]]:
        found: dict[str, tuple[float, float]] = {}
        for name, run in work.items():
            run(connection)  # warm the page cache
            spent, cpu = [], []
            for _ in range(runs):
                began, began_cpu = time.perf_counter(), time.thread_time()
                run(connection)
                spent.append((time.perf_counter() - began) * 1000)
                cpu.append((time.thread_time() - began_cpu) * 1000)
            found[name] = (statistics.median(spent), statistics.median(cpu))
        return found

    async def go() -> dict[str, tuple[float, float]]:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            return await db.read_sync(timed)
        finally:
            await db.dispose()

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/facilitator-history-5y.db"))
    parser.add_argument("--network", type=int, default=1)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for name, (median, cpu) in measure(args.db, args.network, args.runs).items():
        print(f"{name}: median {median:.1f} ms, CPU {cpu:.1f} ms")


if __name__ == "__main__":
    main()
