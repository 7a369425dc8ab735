"""A room of N phones held by two server processes linked through Redis, beside the same room in
one process. One command:

    .venv/bin/python -m bench.two_processes --phones 2000 --write docs/performance.md

Half the phones connect to process A, half to B (as a load balancer would spread them if a
meeting were not kept on one process; here it is the worst case: every event crosses Redis).
The console is on A. Both servers and redis-server share core 0 (the single process has core 0
to itself), the phones run on core 1: the figures show what the split costs, not what a second
core buys. Measured: the stage change (console's send to each probe's receipt, probes on A and
on B), the vote burst (acknowledgement latency, answers lost or doubled) and the servers' CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.room_load import (
    BIN,
    HZ,
    PROBES,
    cpu_ticks,
    free_port,
    hear,
    open_probe,
    open_screen,
    pct,
    pinned,
    start_workers,
    stop,
    tally_in_db,
    tell,
    wait_up,
)
from bench.seed import seed_room
from facilitator import migrate

START, END = "<!-- two-processes:start -->", "<!-- two-processes:end -->"


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    redis = subprocess.Popen(
        pinned(
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                "--save", "", "--appendonly", "no",
            ],
            0,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    return redis, f"redis://127.0.0.1:{port}/0"


def start_server(folder: Path, db_url: str, hub: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env.update(
        DATABASE_URL=db_url,
        FACILITATOR_HOST="127.0.0.1",
        FACILITATOR_LOG_LEVEL="warning",
        FACILITATOR_BROADCAST_URL=hub,
        FACILITATOR_MIGRATE_ON_START="off",
    )
    server = subprocess.Popen(
        pinned([str(BIN / "facilitator"), "serve", "--port", str(port)], 0),
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_up(f"http://127.0.0.1:{port}/healthz", server)
    return server, port


async def stage_changes(
    urls: list[str], meeting_id: int, tokens: list[str], cookie: str, changes: int
) -> dict[str, float]:
    """The console on the first process moves the stage; probes spread over every process
    time each arrival (and, apart, the probes on processes other than the console's)."""
    console = await open_screen(urls[0], meeting_id, "console", cookie)
    probes = [
        (n % len(urls), await open_probe(urls[n % len(urls)], meeting_id, token))
        for n, token in enumerate(tokens)
    ]
    every: list[float] = []
    elsewhere: list[float] = []
    for n in range(changes):
        stage = "review" if n % 2 == 0 else "opener"
        sent = time.perf_counter()
        await console.send(json.dumps({"type": "move", "id": f"m{n}-{sent}", "stage": stage}))

        async def arrival(ws: Any, sent: float = sent) -> float:
            while True:
                if json.loads(await ws.recv()).get("type") == "event":
                    return time.perf_counter() - sent

        took = await asyncio.gather(*(arrival(ws) for _where, ws in probes))
        every += took
        elsewhere += [t for (where, _ws), t in zip(probes, took, strict=True) if where > 0]
        await asyncio.sleep(0.2)
    for _where, ws in probes:
        await ws.close()
    await console.close()
    return {
        "p50": pct(every, 0.5) * 1000,
        "p99": pct(every, 0.99) * 1000,
        "other_p99": pct(elsewhere, 0.99) * 1000 if elsewhere else float("nan"),
    }


def fresh_database(folder: Path, postgres: str | None) -> str:
    """A new empty database: a SQLite file in ``folder``, or one on the PostgreSQL server
    ``postgres`` names (a URL whose user may create databases)."""
    if postgres is None:
        return f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    name = f"facilitator_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(on_server(postgres, f"CREATE DATABASE {name}"))
    return make_url(postgres).set(database=name).render_as_string(hide_password=False)


async def on_server(postgres: str, statement: str) -> None:
    engine = create_async_engine(postgres, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def one_run(
    phones: int, processes: int, window: float, changes: int, postgres: str | None
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="two-processes-"))
    db_url = fresh_database(folder, postgres)
    migrate.upgrade(db_url)
    room = asyncio.run(seed_room(db_url, phones + PROBES))
    redis = None
    servers: list[subprocess.Popen[bytes]] = []
    try:
        hub = "memory://"
        if processes > 1:
            redis, hub = start_redis(folder)
        ports = []
        for _ in range(processes):
            server, port = start_server(folder, db_url, hub)
            servers.append(server)
            ports.append(port)
        urls = [f"ws://127.0.0.1:{port}" for port in ports]
        share = -(-phones // processes)
        workers = []
        for n, url in enumerate(urls):
            mine = room.tokens[n * share : min(phones, (n + 1) * share)]
            workers += start_workers(url, room.meeting_id, mine, room.blockers)
        time.sleep(1)
        fanout = asyncio.run(
            stage_changes(urls, room.meeting_id, room.tokens[phones:], room.session_cookie, changes)
        )
        # The vote burst: every phone answers three times; acknowledged means committed.
        ticks = sum(cpu_ticks(s.pid) for s in servers)
        started = time.perf_counter()
        tell(workers, {"do": "vote", "window": window})
        answers = hear(workers)
        wall = time.perf_counter() - started
        cpu = 100 * (sum(cpu_ticks(s.pid) for s in servers) - ticks) / HZ / wall
        acks = [a for answer in answers for a in answer["acks"]]
        per_person, _ = asyncio.run(tally_in_db(db_url, room.meeting_id))
        stop(workers)
        return {
            "processes": processes,
            "fanout": fanout,
            "acked": len(acks),
            "answers": phones * 3,
            "unanswered": sum(a["unanswered"] for a in answers),
            "exact": sum(1 for p in room.people[:phones] if per_person[p] == 2),
            "ack_p50": pct(acks, 0.5) * 1000,
            "ack_p99": pct(acks, 0.99) * 1000,
            "cpu": cpu,
        }
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
        if postgres is not None:
            name = make_url(db_url).database
            asyncio.run(on_server(postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def table(phones: int, runs: list[dict[str, Any]]) -> str:
    lines = [
        f"_Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {phones} phones; {time.strftime('%Y-%m-%d')}._",
        "",
        "| processes | stage change p50 / p99 (ms) | p99 on the other process (ms) | burst: "
        "acknowledged / answers | never acknowledged | people exactly stored | ack p50 / p99 "
        "(ms) | servers' CPU (% of one core) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        f = r["fanout"]
        other = "—" if r["processes"] == 1 else f"{f['other_p99']:.1f}"
        lines.append(
            f"| {r['processes']}{' (Redis)' if r['processes'] > 1 else ''} "
            f"| {f['p50']:.1f} / {f['p99']:.1f} | {other} "
            f"| {r['acked']} / {r['answers']} | {r['unanswered']} | {r['exact']} / {phones} "
            f"| {r['ack_p50']:.1f} / {r['ack_p99']:.1f} | {r['cpu']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=2000)
    parser.add_argument("--window", type=float, default=10.0, help="seconds of the vote burst")
    parser.add_argument("--changes", type=int, default=10, help="stage changes timed")
    parser.add_argument(
        "--postgres",
        help="a PostgreSQL URL whose user may create databases (scripts/local-postgres prints "
        "one): each run gets a new database there instead of a SQLite file",
    )
    parser.add_argument("--write", type=Path, help="write the table into this Markdown file")
    args = parser.parse_args()
    runs = [one_run(args.phones, n, args.window, args.changes, args.postgres) for n in (1, 2)]
    engine = "PostgreSQL" if args.postgres else "SQLite (one file, WAL)"
    result = f"{table(args.phones, runs)}\n\n_Database: {engine}._"
    print(result)
    if args.write:
        doc = args.write.read_text(encoding="utf-8")
        if START in doc:
            head, rest = doc.split(START, 1)
            doc = head + START + "\n" + result + "\n" + END + rest.split(END, 1)[1]
        else:
            doc += f"\n{START}\n{result}\n{END}\n"
        args.write.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
