"""How the live room holds N phones on this machine, beside the floor (a bare websockets
broadcast server). One command:

    .venv/bin/python -m bench.room_load --phones 500 1000 2000 --runs 3 --write docs/performance.md

Server and load run in separate processes, pinned to different cores when `taskset` exists.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from websockets.asyncio.client import connect

from bench.clients import worker
from bench.seed import seed_room
from facilitator import migrate
from facilitator.db import Database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PER_WORKER = 1000
PROBES = 5
HZ = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], core: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core), *cmd]
    return cmd


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def probe_fanout(
    ws_url: str, meeting_id: int, tokens: list[str], cookie: str | None, changes: int, floor: bool
) -> dict[str, Any]:
    """The console changes the stage `changes` times; probes time each arrival."""
    headers = {"cookie": f"fac_session={cookie}"} if cookie else {}
    console = await connect(
        f"{ws_url}/ws/m/{meeting_id}?face=console",
        additional_headers=headers,
        compression=None,
        max_size=2**24,
    )
    await console.send(json.dumps({"type": "hello"}))
    await console.recv()
    probes = []
    for token in tokens:
        ws = await connect(
            f"{ws_url}/ws/m/{meeting_id}?face=phone", compression=None, max_size=2**24
        )
        await ws.send(json.dumps({"type": "hello", "token": token}))
        while json.loads(await ws.recv())["type"] != "welcome":
            pass
        probes.append(ws)
    latencies: list[float] = []
    payload_size = 0
    for n in range(changes):
        stage = "review" if n % 2 == 0 else "opener"
        sent = time.perf_counter()
        await console.send(json.dumps({"type": "move", "id": f"m{n}-{sent}", "stage": stage}))

        async def arrival(ws: Any, sent: float = sent) -> tuple[float, int]:
            while True:
                raw = await ws.recv()
                if json.loads(raw).get("type") == "event":
                    return time.perf_counter() - sent, len(raw)

        for latency, size in await asyncio.gather(*(arrival(ws) for ws in probes)):
            latencies.append(latency)
            payload_size = size
        await asyncio.sleep(0.2)
    for ws in [console, *probes]:
        await ws.close()
    return {
        "p50": pct(latencies, 0.5) * 1000,
        "p99": pct(latencies, 0.99) * 1000,
        "bytes": payload_size,
    }


def start_workers(
    url: str, meeting_id: int, tokens: list[str], blockers: list[int]
) -> list[tuple[mp.Process, Any]]:
    ctx = mp.get_context("spawn")
    workers = []
    for start in range(0, len(tokens), PER_WORKER):
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=_pinned_worker,
            args=(url, meeting_id, tokens[start : start + PER_WORKER], blockers, child),
        )
        process.start()
        workers.append((process, parent))
    for _process, pipe in workers:
        pipe.recv()  # connected
    return workers


def _pinned_worker(*args: Any) -> None:
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    worker(*args)


def ask(workers: list[tuple[mp.Process, Any]], command: dict[str, Any]) -> list[dict[str, Any]]:
    for _process, pipe in workers:
        pipe.send(command)
    return [pipe.recv() for _process, pipe in workers]


def stop(workers: list[tuple[mp.Process, Any]]) -> None:
    ask(workers, {"do": "stop"})
    for process, _pipe in workers:
        process.join(timeout=30)


async def tally_in_db(db_url: str, meeting_id: int) -> tuple[Counter[int], Counter[int]]:
    db = Database(db_url)
    try:
        async with db.read() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT person_id, blocker_id FROM opener_responses WHERE meeting_id = :m"
                    ),
                    {"m": meeting_id},
                )
            ).all()
    finally:
        await db.dispose()
    per_person = Counter(p for p, _b in rows)
    per_blocker = Counter(b for _p, b in rows)
    return per_person, per_blocker


def one_run(phones: int, window: float, scenarios: set[str]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="room-load-"))
    db_url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    migrate.upgrade(db_url)
    room = asyncio.run(seed_room(db_url, phones + PROBES))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env.update(DATABASE_URL=db_url, FACILITATOR_HOST="127.0.0.1", FACILITATOR_LOG_LEVEL="warning")
    server = subprocess.Popen(
        pinned([str(BIN / "facilitator"), "serve", "--port", str(port)], 0),
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pid = server.pid  # taskset execs the server, so the pid is the server's own
    result: dict[str, Any] = {"phones": phones}
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", server)
        time.sleep(0.5)
        idle = rss_kib(pid)
        workers = start_workers(
            f"ws://127.0.0.1:{port}", room.meeting_id, room.tokens[:phones], room.blockers
        )
        time.sleep(1)
        result["kib_per_phone"] = (rss_kib(pid) - idle) / phones
        if "fanout" in scenarios:
            result["fanout"] = asyncio.run(
                probe_fanout(
                    f"ws://127.0.0.1:{port}",
                    room.meeting_id,
                    room.tokens[phones:],
                    room.session_cookie,
                    10,
                    False,
                )
            )
        if "burst" in scenarios:
            ticks, started = cpu_ticks(pid), time.perf_counter()
            answers = ask(workers, {"do": "vote", "window": window})
            wall = time.perf_counter() - started
            per_person, _per_blocker = asyncio.run(tally_in_db(db_url, room.meeting_id))
            acks = [a for answer in answers for a in answer["acks"]]
            result["burst"] = {
                "window_s": window,
                "answers": phones * 3,
                "acked": len(acks),
                "unanswered": sum(a["unanswered"] for a in answers),
                "errors": sum(a["errors"] for a in answers),
                "ack_p99_ms": pct(acks, 0.99) * 1000,
                "ack_p50_ms": pct(acks, 0.5) * 1000,
                "people_with_exactly_their_answer": sum(1 for n in per_person.values() if n == 2),
                "cpu_pct_of_core": 100 * (cpu_ticks(pid) - ticks) / HZ / wall,
            }
        if "storm" in scenarios:
            storms = ask(workers, {"do": "storm", "window": 5.0})
            result["storm_s"] = max(s["all_in_sync_after"] for s in storms)
        stop(workers)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def floor_run(phones: int, payload: str) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        pinned([sys.executable, "-m", "bench.floor", str(port), payload], 0),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result: dict[str, Any] = {"phones": phones}
    try:
        time.sleep(1.0)
        idle = rss_kib(server.pid)
        tokens = [f"t{n}" for n in range(phones + PROBES)]
        workers = start_workers(f"ws://127.0.0.1:{port}", 1, tokens[:phones], [1, 2, 3])
        time.sleep(1)
        result["kib_per_phone"] = (rss_kib(server.pid) - idle) / phones
        result["fanout"] = asyncio.run(
            probe_fanout(f"ws://127.0.0.1:{port}", 1, tokens[phones:], None, 10, True)
        )
        stop(workers)
    finally:
        server.kill()
        server.wait()
    return result


def median_of(runs: list[dict[str, Any]], *path: str) -> tuple[float, float, float]:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value.get(key, {}) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            values.append(float(value))
    if not values:
        return (float("nan"),) * 3
    return statistics.median(values), min(values), max(values)


def table(results: dict[int, dict[str, list[dict[str, Any]]]]) -> str:
    def cell(runs: list[dict[str, Any]], *path: str, digits: int = 1) -> str:
        med, low, high = median_of(runs, *path)
        return f"{med:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"

    lines = [
        "| phones | figure | ours: median (min–max) | floor | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for phones, both in sorted(results.items()):
        ours, floor = both["ours"], both["floor"]
        for label, path in (
            ("stage change, probe p50 (ms)", ("fanout", "p50")),
            ("stage change, probe p99 (ms)", ("fanout", "p99")),
            ("memory per connected phone (KiB)", ("kib_per_phone",)),
        ):
            o, f = median_of(ours, *path)[0], median_of(floor, *path)[0] if floor else float("nan")
            ratio = f"{o / f:.2f}×" if f and f == f and f > 0 else "—"
            lines.append(f"| {phones} | {label} | {cell(ours, *path)} | {f:.1f} | {ratio} |")
        for label, path in (
            ("vote burst: answers acknowledged", ("burst", "acked")),
            ("vote burst: answers never acknowledged", ("burst", "unanswered")),
            (
                "vote burst: people whose final answer is exactly stored",
                ("burst", "people_with_exactly_their_answer"),
            ),
            ("vote burst: ack p50 (ms)", ("burst", "ack_p50_ms")),
            ("vote burst: ack p99 (ms)", ("burst", "ack_p99_ms")),
            ("vote burst: server CPU (% of one core)", ("burst", "cpu_pct_of_core")),
            ("reconnect storm: all back and in sync (s)", ("storm_s",)),
        ):
            lines.append(f"| {phones} | {label} | {cell(ours, *path)} | — | — |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--window", type=float, default=10.0, help="seconds the vote burst is spread over"
    )
    parser.add_argument("--scenarios", default="fanout,burst,storm")
    parser.add_argument("--write", type=Path, help="write the table into this Markdown file")
    args = parser.parse_args()
    scenarios = set(args.scenarios.split(","))
    results: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for phones in args.phones:
        ours = [one_run(phones, args.window, scenarios) for _ in range(args.runs)]
        payload_size = int(median_of(ours, "fanout", "bytes")[0] or 400)
        payload = json.dumps(
            {
                "type": "event",
                "event": "stage_changed",
                "payload": {"pad": "x" * max(0, payload_size - 80)},
            }
        )
        floor = (
            [floor_run(phones, payload) for _ in range(args.runs)] if "fanout" in scenarios else []
        )
        results[phones] = {"ours": ours, "floor": floor}
        print(json.dumps({"phones": phones, "ours": ours, "floor": floor}), flush=True)
    report = table(results)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    print(report)
    if args.write:
        text_ = args.write.read_text() if args.write.exists() else ""
        marker_start, marker_end = "<!-- results:start -->", "<!-- results:end -->"
        block = f"{marker_start}\n_Machine: {machine}; {args.runs} run(s) each; burst window {args.window} s._\n\n{report}\n{marker_end}"
        if marker_start in text_:
            head, rest = text_.split(marker_start, 1)
            text_ = head + block + rest.split(marker_end, 1)[1]
        else:
            text_ += "\n" + block + "\n"
        args.write.write_text(text_)


if __name__ == "__main__":
    main()
