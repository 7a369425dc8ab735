"""The backbone after years of history, on the real server: every backbone page and API (p50
and p95, bytes sent), a commitment's journey, the CSV of every commitment streamed (time and the
server's memory before, at its peak and after), starting a meeting that reopens 300
commitments, and a live room's ping→pong and stage changes (p99) with and without a backbone
user loading pages in a loop.

    .venv/bin/python -m bench.backbone_pages --years 1 --quick        # while developing
    .venv/bin/python -m bench.backbone_pages --years 5 --write docs/performance.md  # full run

On a quiet machine: nothing else on its cores (another run's figures would be this run's noise).

The network comes from ``bench.history`` (generated once per ``--years`` into ``--db``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench import history
from bench.room_load import BIN, free_port, pct, pinned, rss_kib, wait_up

PAGES = [
    ("/backbone", "carry-over page"),
    ("/backbone?{next}", "carry-over, page 2"),
    ("/backbone?status=overdue", "carry-over, overdue only"),
    ("/api/backbone/carryover", "carry-over API"),
    ("/backbone/accountability", "accountability"),
    ("/api/backbone/accountability?by=group", "accountability API, by group"),
    ("/backbone/attendance", "attendance"),
    ("/backbone/attendance?group={gid}", "attendance, one group"),
    ("/api/backbone/attendance", "attendance API"),
    ("/backbone/opener", "opener trends"),
    ("/backbone/opener?group={gid}", "opener trends, one group"),
    ("/api/backbone/opener", "opener trends API"),
    ("/backbone/commitments/{cid}", "a commitment's journey"),
    ("/api/commitments/{cid}/history", "a commitment's journey, API"),
    ("/", "home"),
]
LIVE_ROUNDS = 3  # quiet, then busy, this many times
PROBE_GAP = 0.25  # seconds between probes: a ping and a move each, under the staff budget
JOURNEY = ("a commitment's journey", "a commitment's journey, API")


def login(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    client.get("/login")
    answer = client.post(
        "/login",
        data={
            "csrf": client.cookies["fac_csrf"],
            "email": history.BACKBONE,
            "password": history.PASSWORD,
        },
    )
    if answer.status_code != 303 or "fac_session" not in client.cookies:
        raise RuntimeError(f"not signed in: {answer.status_code}")
    return client


def measure_pages(client: httpx.Client, requests: int) -> list[dict[str, Any]]:
    first = client.get("/api/backbone/carryover").json()
    top = first["commitments"][0]
    fill = {"next": f"after={first['next']}", "cid": top["id"], "gid": top["group"]["id"]}
    rows = []
    for path, name in PAGES:
        url = path.format(**fill)
        times, size = [], 0
        for _ in range(requests):
            began = time.perf_counter()
            answer = client.get(url)
            times.append(time.perf_counter() - began)
            assert answer.status_code == 200, (url, answer.status_code)
            size = len(answer.content)
        rows.append(
            {"name": name, "url": url, "p50": pct(times, 0.5), "p95": pct(times, 0.95), "bytes": size}
        )  # fmt: skip
    return rows


def measure_csv(client: httpx.Client, pid: int) -> dict[str, Any]:
    before = rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.01)

    watcher = threading.Thread(target=sample)
    watcher.start()
    began, size, lines = time.perf_counter(), 0, 0
    with client.stream("GET", "/backbone/commitments.csv") as answer:
        for chunk in answer.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    took = time.perf_counter() - began
    done.set()
    watcher.join()
    return {
        "seconds": took, "bytes": size, "rows": lines - 1, "rss_before": before / 1024,
        "rss_peak": peak[0] / 1024, "rss_after": rss_kib(pid) / 1024,
    }  # fmt: skip


async def console(ws_url: str, meeting_id: int, cookie: str) -> ClientConnection:
    ws = await connect(
        f"{ws_url}/ws/m/{meeting_id}?face=console",
        additional_headers={"cookie": f"fac_session={cookie}"},
        compression=None,
        max_size=2**24,
    )
    await ws.send(json.dumps({"type": "hello"}))
    while json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] != "welcome":
        pass
    return ws


async def command(ws: ClientConnection, message: dict[str, Any]) -> float:
    """Send a command and wait for its ``ack``: the seconds it took."""
    began = time.perf_counter()
    await ws.send(json.dumps(message))
    while True:
        answer = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if answer.get("id") == message["id"]:
            if answer["type"] != "ack":
                raise RuntimeError(f"refused: {answer}")
            return time.perf_counter() - began


async def reopen(ws_url: str, meeting_id: int, cookie: str) -> float:
    ws = await console(ws_url, meeting_id, cookie)
    try:
        return await command(ws, {"type": "start", "id": f"start-{time.time()}"})
    finally:
        await ws.close()


async def probe(
    ws_url: str, meeting_id: int, cookie: str, seconds: float
) -> dict[str, list[float]]:
    """The live room while the backbone works: ping→pong, and the console's stage changes."""
    ws = await console(ws_url, meeting_id, cookie)
    pings: list[float] = []
    moves: list[float] = []
    n = 0
    until = time.perf_counter() + seconds
    try:
        while time.perf_counter() < until:
            began = time.perf_counter()
            await ws.send(json.dumps({"type": "ping"}))
            while json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] != "pong":
                pass
            pings.append(time.perf_counter() - began)
            stage = "opener" if n % 2 == 0 else "review"
            moves.append(
                await command(ws, {"type": "move", "id": f"m{n}-{time.time()}", "stage": stage})
            )
            n += 1
            await asyncio.sleep(PROBE_GAP)
        if n % 2:  # back where it began, so the next probe (and the next run) may move again
            await command(ws, {"type": "move", "id": f"back-{time.time()}", "stage": "review"})
    finally:
        await ws.close()
    return {"pings": pings, "moves": moves}


def _loader(base: str, stop: Any, count: Any, core: int) -> None:
    """A backbone user loading pages one after another until told to stop, from ``core``:
    a browser's work is not the server's, and unpinned it ran on the rooms' core whenever the
    other was busy serving it."""
    _pin(core)
    client = login(base)
    urls = ["/backbone", "/backbone/accountability", "/backbone/attendance", "/backbone/opener",
            "/api/backbone/carryover"]  # fmt: skip
    n = 0
    while not stop.is_set():
        client.get(urls[n % len(urls)])
        n += 1
    count.value = n


def _figures(samples: dict[str, list[float]]) -> dict[str, float]:
    pings, moves = samples["pings"], samples["moves"]
    return {
        "ping_p99": pct(pings, 0.99),
        "move_p50": pct(moves, 0.5),
        "move_p99": pct(moves, 0.99),
        "samples": len(pings),
    }


def live_probe(
    base: str, ws_url: str, meeting: int, cookie: str, seconds: float, rounds: int = LIVE_ROUNDS
) -> dict[str, Any]:
    """Quiet and busy in turns, ``rounds`` times, so drift in the disk's fsync time (most of a
    stage change) falls on both sides alike, and the p99s rest on a few hundred samples. The
    backbone user loads pages from ``base`` (the rooms' process, or one of its own)."""
    quiet: dict[str, list[float]] = {"pings": [], "moves": []}
    busy: dict[str, list[float]] = {"pings": [], "moves": []}
    # The probes beside the rooms' process (core 0), the backbone user beside the reports'
    # (core 1): each side's clients then take nothing from the other side's server.
    before = _pin(0)
    try:
        _rounds(base, ws_url, meeting, cookie, seconds, rounds, quiet, busy)
    finally:
        if before:
            os.sched_setaffinity(0, before)
    pages = sum(busy.pop("pages", []))
    return {"quiet": _figures(quiet), "busy": _figures(busy), "pages_loaded": int(pages)}


def _pin(core: int) -> set[int]:
    """Run this process on ``core`` (when the machine has more than one); what it ran on."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return set()
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    return before


def _rounds(
    base: str,
    ws_url: str,
    meeting: int,
    cookie: str,
    seconds: float,
    rounds: int,
    quiet: dict[str, list[float]],
    busy: dict[str, list[float]],
) -> None:
    busy["pages"] = []
    for _round in range(rounds):
        for name, samples in asyncio.run(probe(ws_url, meeting, cookie, seconds)).items():
            quiet[name] += samples
        stop, count = mp.Event(), mp.Value("i", 0)
        loader = mp.Process(target=_loader, args=(base, stop, count, 1))
        loader.start()
        time.sleep(1)
        try:
            for name, samples in asyncio.run(probe(ws_url, meeting, cookie, seconds)).items():
                busy[name] += samples
        finally:
            stop.set()
            loader.join()
        busy["pages"].append(count.value)


def run(db: Path, years: int, requests: int, seconds: float) -> dict[str, Any]:
    made = history.generate_or_reuse(db, years)
    folder = Path(tempfile.mkdtemp(prefix="backbone-pages-"))
    work = folder / "bench.db"
    shutil.copyfile(db, work)  # starting meetings changes the file: keep the generated one
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{work}",
        FACILITATOR_HOST="127.0.0.1",
        FACILITATOR_LOG_LEVEL="warning",
    )
    server = subprocess.Popen(
        pinned([str(BIN / "facilitator"), "serve", "--port", str(port)], 0),
        env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    # The deployment of docs/deploy.md's "reports" upstream: the backbone's pages served by a
    # process that holds no rooms, on the other core, on the same database.
    reports_port = free_port()
    reports = subprocess.Popen(
        pinned([str(BIN / "facilitator"), "serve", "--port", str(reports_port)], 1),
        env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_up(f"{base}/healthz", server)
        client = login(base)
        cookie = client.cookies["fac_session"]
        result: dict[str, Any] = {"made": made}
        _say('result["reopen"]')
        result["reopen"] = asyncio.run(reopen(ws_url, made["reopen_meeting"], cookie))
        client.get("/backbone")  # the first read of a cold file is not what a user waits for
        _say('result["pages"]')
        result["pages"] = measure_pages(client, requests)
        _say('result["csv"]')
        result["csv"] = measure_csv(client, server.pid)
        _say("asyncio.run(_start(")
        asyncio.run(_start(ws_url, made["live_meeting"], cookie))
        _say('result["live"]')
        result["live"] = live_probe(base, ws_url, made["live_meeting"], cookie, seconds)
        reports_base = f"http://127.0.0.1:{reports_port}"
        wait_up(f"{reports_base}/healthz", reports)
        login(reports_base).get("/backbone")  # its report worker started, its cache warm
        _say('result["live_reports_apart"]')
        result["live_reports_apart"] = live_probe(
            reports_base, ws_url, made["live_meeting"], cookie, seconds
        )
        return result
    finally:
        for process in (server, reports):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(folder, ignore_errors=True)


async def _start(ws_url: str, meeting_id: int, cookie: str) -> None:
    ws = await console(ws_url, meeting_id, cookie)
    try:
        await command(ws, {"type": "start", "id": f"live-{time.time()}"})
    finally:
        await ws.close()


def _say(step: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {step}", file=sys.stderr, flush=True)


def table(result: dict[str, Any], command_line: str) -> str:
    made = result["made"]
    ms = 1000
    lines = [
        "## Data scale",
        "",
        f"A generated network (`bench/history.py`, fixed seed): {made['meetings']:,} meetings, "
        f"{made['commitments']:,} commitments with {made['reviews']:,} reviews, "
        f"{made['events']:,} meeting events, 2,000 people in 300 organizations; the backbone's "
        "figures are checked against plain SQL and the generator's own count. The real server, "
        "SQLite, one process pinned to one core. Rerun:",
        "",
        f"    {command_line}",
        "",
        "| page or API | p50 ms | p95 ms | target | sent |",
        "|---|---:|---:|---|---:|",
    ]
    for row in result["pages"]:
        target = "≤ 50 ms" if row["name"] in JOURNEY else "≤ 200 ms"
        lines.append(
            f"| {row['name']} (`{row['url']}`) | {row['p50'] * ms:.0f} | {row['p95'] * ms:.0f} "
            f"| {target} | {row['bytes'] / 1024:,.0f} KiB |"
        )
    csv = result["csv"]
    lines += [
        "",
        f"- **CSV of every commitment**, streamed: {csv['rows']:,} rows, "
        f"{csv['bytes'] / 2**20:.1f} MiB in {csv['seconds']:.2f} s; the server's memory "
        f"{csv['rss_before']:.0f} MiB before, {csv['rss_peak']:.0f} MiB at its peak, "
        f"{csv['rss_after']:.0f} MiB after (target: flat).",
        f"- **Starting a meeting that reopens {history.REOPEN} commitments**: "
        f"{result['reopen'] * ms:.0f} ms from the console's `start` to its `ack` (target ≤ 100 ms).",
        _live_line(
            "A live room while a backbone user loads pages in a loop from the same process",
            result["live"],
        ),
        _live_line(
            "The same, with the backbone's pages served by a process of their own "
            "(`facilitator_reports` in deploy/nginx.conf; the other core, the same database)",
            result["live_reports_apart"],
        ),
        "",
    ]
    return "\n".join(lines)


def _live_line(title: str, live: dict[str, Any]) -> str:
    quiet, busy, ms = live["quiet"], live["busy"], 1000
    return (
        f"- **{title}** ({live['pages_loaded']} pages loaded meanwhile; quiet and busy in turns, "
        f"{LIVE_ROUNDS} times, {quiet['samples']} and {busy['samples']} samples): ping→pong p99 "
        f"{quiet['ping_p99'] * ms:.1f} ms quiet, {busy['ping_p99'] * ms:.1f} ms busy; "
        f"stage change p50 {quiet['move_p50'] * ms:.1f} ms quiet, "
        f"{busy['move_p50'] * ms:.1f} ms busy; p99 {quiet['move_p99'] * ms:.1f} ms quiet, "
        f"{busy['move_p99'] * ms:.1f} ms busy, {busy['move_p99'] / quiet['move_p99']:.2f}× "
        "(target: no more than 10 % worse)."
    )


def write_section(path: Path, section: str) -> None:
    """Put the section in the document, in place of the one it had."""
    text = path.read_text() if path.exists() else ""
    start = text.find("## Data scale")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        section = section.rstrip("\n") + "\n\n"
        text = text[:start] + section + ("" if end < 0 else text[end + 1 :])
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--db", type=Path, help="the generated network (default: per --years)")
    parser.add_argument("--requests", type=int, default=30, help="requests per page")
    # 60 s: about 700 stage changes a side, whose p99 holds still between runs (of 230, at 20 s,
    # it moved from 0.98x to 1.57x between runs of one build).
    parser.add_argument("--seconds", type=float, default=60, help="each live probe's length")
    parser.add_argument("--quick", action="store_true", help="5 requests, 5 s probes")
    parser.add_argument("--write", type=Path, help="put the 'Data scale' section in this file")
    args = parser.parse_args()
    db = args.db or Path(tempfile.gettempdir()) / f"facilitator-history-{args.years}y.db"
    requests, seconds = (5, 5.0) if args.quick else (args.requests, args.seconds)
    result = run(db, args.years, requests, seconds)
    words = [".venv/bin/python -m bench.backbone_pages",
             f"--years {args.years}", f"--write {args.write}" if args.write else ""]  # fmt: skip
    section = table(result, " ".join(w for w in words if w))
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
