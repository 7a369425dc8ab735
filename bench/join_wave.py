"""A hall arriving: N phones within a few seconds, each joining by name through ``POST /api/join``,
then opening its socket (hello with the token it got) and staying while the others arrive.
Beside it, the same wave against the floor (``bench/floor.py join``: a bare Starlette endpoint
that writes one row durably and a bare socket that answers hello). One command:

    .venv/bin/python -m bench.join_wave --phones 1000 2000 --write docs/performance.md

Server on core 0, the phones in one process on core 1 (when ``taskset`` and two cores exist).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.room_load import BIN, HZ, cpu_ticks, free_port, pct, pinned, wait_up
from facilitator import migrate
from facilitator.db import Database
from facilitator.services import access, lifecycle, network, state, users
from facilitator.services.actors import Actor

OVER = 10.0  # seconds over which the phones arrive
SECTION = "## Join wave"


@dataclass
class Hall:
    meeting_id: int
    code: str
    cookie: str


async def seed_hall(db_url: str) -> Hall:
    """A meeting in its lobby with nobody in it yet, and a facilitator's session."""
    db = Database(db_url)
    try:
        nid = await network.create_network(db, "Join wave", language="en", timezone="UTC")
        await network.add_value(
            db, nid, network.ValueWords(title_en="Transparency", behaviours_en=["We decide here"])
        )
        await network.add_organization(db, nid, "Org", "nonprofit")
        group = await network.add_group(db, nid, "Forum", "forum")
        uid = await users.create_user(db, nid, "wave@example.org", "benchmark password", name="W")
        await network.assign_staff(db, group, uid)
        staff = Actor.staff(uid)
        today = datetime.now(UTC).date()
        made = await lifecycle.create_meeting(db, staff, group, "Hall", today)
        mid = made.event.meeting_id
        snap = await state.snapshot(db, mid)
        return Hall(mid, str(snap["meeting"]["join_code"]), await access.start_session(db, uid))
    finally:
        await db.dispose()


async def _phone(
    n: int, at: float, base: str, ws_base: str, http: httpx.AsyncClient, hall: Hall
) -> dict[str, Any]:
    """One phone: wait for its moment, join, open its socket, and stay until told."""
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    started = time.perf_counter()
    try:
        joined = await http.post(
            f"{base}/api/join",
            json={"code": hall.code, "name": f"Phone {n}", "organization": "Org"},
        )
        if joined.status_code != 200:
            return {"error": f"join {joined.status_code}"}
        body = joined.json()
        joined_at = time.perf_counter()
        ws: ClientConnection = await connect(
            f"{ws_base}/ws/m/{body.get('meeting_id', hall.meeting_id)}?face=phone",
            compression=None,
            max_size=2**24,
            open_timeout=60,
        )
        await ws.send(json.dumps({"type": "hello", "token": body["token"]}))
        while True:
            raw = await asyncio.wait_for(ws.recv(), 60)
            if '"welcome"' in raw[:40] and json.loads(raw)["type"] == "welcome":
                break
        welcomed = time.perf_counter()
    except Exception as error:  # counted, not raised: the wave goes on
        return {"error": type(error).__name__}
    _SOCKETS.append(ws)
    _READERS.append(asyncio.create_task(_drain(ws)))
    return {"start": started, "joined": joined_at - started, "welcome": welcomed}


_SOCKETS: list[ClientConnection] = []
_READERS: list[asyncio.Task[None]] = []


async def _drain(ws: ClientConnection) -> None:
    """Read (and count) what the room sends while the others arrive, as a phone does."""
    try:
        async for _message in ws:
            pass
    except Exception:  # the socket went away
        return


async def wave(base: str, ws_base: str, hall: Hall, phones: int, over: float) -> dict[str, Any]:
    """Every phone at its moment, evenly over ``over`` seconds; the results per phone."""
    limits = httpx.Limits(max_connections=phones, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        first = time.perf_counter() + 0.5
        runs = [
            _phone(n, first + n * over / phones, base, ws_base, http, hall) for n in range(phones)
        ]
        results = await asyncio.gather(*runs)
    for ws in _SOCKETS:
        await ws.close()
    for reader in _READERS:
        reader.cancel()
    return summarize(results)


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The wave's figures from each phone's times."""
    good = [r for r in results if "error" not in r]
    errors: dict[str, int] = {}
    for r in results:
        if "error" in r:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    if not good:
        return {"phones": len(results), "welcomed": 0, "errors": errors}
    first = min(r["start"] for r in good)
    last = max(r["welcome"] for r in good)
    to_welcome = [r["welcome"] - r["start"] for r in good]
    joins = [r["joined"] for r in good]
    return {
        "phones": len(results),
        "welcomed": len(good),
        "errors": errors,
        "first_join_to_last_welcome_s": last - first,
        "join_to_welcome_p50_s": pct(to_welcome, 0.5),
        "join_to_welcome_p99_s": pct(to_welcome, 0.99),
        "join_p50_s": pct(joins, 0.5),
        "join_p99_s": pct(joins, 0.99),
        "joins_per_s": len(good) / (last - first),
    }


def _client_main(base: str, ws_base: str, hall: Hall, phones: int, over: float, pipe: Any) -> None:
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    pipe.send(asyncio.run(wave(base, ws_base, hall, phones, over)))


def run_wave(pid: int, port: int, hall: Hall, phones: int, over: float) -> dict[str, Any]:
    """The phones in their own process; the server's CPU seconds around them."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    process = ctx.Process(target=_client_main, args=(base, ws_base, hall, phones, over, child))
    ticks = cpu_ticks(pid)
    process.start()
    result: dict[str, Any] = parent.recv()
    used = (cpu_ticks(pid) - ticks) / HZ
    process.join(timeout=30)
    result["server_cpu_s"] = used
    result["server_cpu_ms_per_join"] = 1000 * used / max(1, result["welcomed"])
    return result


def _serve(cmd: list[str], folder: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        pinned(cmd, 0),
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ours(phones: int, over: float, profile: Path | None = None) -> dict[str, Any]:
    """The wave against the real server on a fresh SQLite file (under py-spy with ``profile``)."""
    folder = Path(tempfile.mkdtemp(prefix="join-wave-"))
    db_url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    migrate.upgrade(db_url)
    hall = asyncio.run(seed_hall(db_url))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env.update(DATABASE_URL=db_url, FACILITATOR_HOST="127.0.0.1", FACILITATOR_LOG_LEVEL="warning")
    # Every phone here comes from one loopback address: the pace of joins by name is lifted, as
    # a host expecting a hall this size behind one address would.
    env.update(
        FACILITATOR_NAME_JOINS_PER_ADDRESS="100000/100000",
        FACILITATOR_NAME_JOINS_PER_MEETING="100000/100000",
    )
    cmd = [str(BIN / "facilitator"), "serve", "--port", str(port)]
    if profile is not None:  # py-spy samples the server (the CPU figure is then py-spy's)
        fmt = "raw" if profile.suffix == ".txt" else "flamegraph"
        # --gil: only what holds the interpreter, i.e. where the CPU goes, not who waits.
        spy = [str(BIN / "py-spy"), "record", "--gil", "-r", "200", "-f", fmt]
        cmd = [*spy, "-o", str(profile), "--", *cmd]
    server = _serve(cmd, folder, env)
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", server)
        time.sleep(0.5)
        return asyncio.run(_with_console(server.pid, port, hall, phones, over))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


async def _with_console(pid: int, port: int, hall: Hall, phones: int, over: float) -> Any:
    """The facilitator's console watches the hall arrive, as it does in a real room."""
    console = await connect(
        f"ws://127.0.0.1:{port}/ws/m/{hall.meeting_id}?face=console",
        additional_headers={"cookie": f"fac_session={hall.cookie}"},
        compression=None,
        max_size=2**24,
    )
    await console.send(json.dumps({"type": "hello"}))
    await console.recv()
    reader = asyncio.create_task(_drain(console))
    try:
        return await asyncio.to_thread(run_wave, pid, port, hall, phones, over)
    finally:
        reader.cancel()
        await console.close()


def floor(phones: int, over: float) -> dict[str, Any]:
    """The same wave against the bare endpoint and socket of ``bench/floor.py join``."""
    folder = Path(tempfile.mkdtemp(prefix="join-floor-"))
    port = free_port()
    cmd = [sys.executable, "-m", "bench.floor", "join", str(port), str(folder / "floor.db")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    server = _serve(cmd, folder, env)
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", server)
        time.sleep(0.5)
        return run_wave(server.pid, port, Hall(1, "FLOOR", ""), phones, over)
    finally:
        server.terminate()
        server.wait(timeout=30)


ROWS = [
    ("all welcomed within (s of the first join)", "first_join_to_last_welcome_s", 1, 1),
    ("join to welcome p50 (ms)", "join_to_welcome_p50_s", 1000, 0),
    ("join to welcome p99 (ms)", "join_to_welcome_p99_s", 1000, 0),
    ("POST /api/join p50 (ms)", "join_p50_s", 1000, 0),
    ("POST /api/join p99 (ms)", "join_p99_s", 1000, 0),
    ("joins per second", "joins_per_s", 1, 0),
    ("server CPU per join (ms)", "server_cpu_ms_per_join", 1, 2),
    ("welcomed / phones", None, 1, 0),
    ("errors", "errors", 1, 0),
]


def _cell(result: dict[str, Any], key: str | None, scale: float, digits: int) -> str:
    if key is None:
        return f"{result['welcomed']} / {result['phones']}"
    value = result.get(key)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "0"
    if value is None:
        return "—"
    return f"{value * scale:.{digits}f}"


def table(results: list[tuple[dict[str, Any], dict[str, Any] | None]], over: float) -> str:
    """The Markdown section: one row per figure and size, ours beside the floor."""
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    lines = [
        SECTION,
        "",
        f"_Machine: {machine}; phones arriving evenly over {over:.0f} s; "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}. Rerun with "
        "`.venv/bin/python -m bench.join_wave --phones 1000 2000 --write docs/performance.md`._",
        "",
        "Each phone posts `/api/join` with a new name, opens its socket with the token it got, "
        "and stays while the others arrive; the console watches. Join to welcome is from the "
        "phone's `POST` to its welcome; the floor (`bench/floor.py join`) writes one row per "
        "join durably (SQLite WAL, `synchronous=FULL`, one commit each) and answers hello with "
        "a small welcome. Targets: all welcomed within 15 s of the first join, p99 ≤ 1 s at "
        "1,000 phones and ≤ 2 s at 2,000.",
        "",
        "| phones | figure | ours | floor |",
        "| --- | --- | --- | --- |",
    ]
    for ours_result, floor_result in results:
        for label, key, scale, digits in ROWS:
            theirs = _cell(floor_result, key, scale, digits) if floor_result else "—"
            lines.append(
                f"| {ours_result['phones']} | {label} | "
                f"{_cell(ours_result, key, scale, digits)} | {theirs} |"
            )
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Add or replace the join-wave section, keeping every other section as it is."""
    text = path.read_text()
    start = text.find(SECTION + "\n")
    if start < 0:
        path.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    end = text.find("\n## ", start + len(SECTION))
    rest = text[end + 1 :] if end >= 0 else ""
    path.write_text(text[:start] + section + ("\n" + rest if rest else ""))


def main() -> None:
    """Run the waves and print (or write) the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, nargs="+", default=[2000])
    parser.add_argument("--over", type=float, default=OVER, help="seconds the arrivals take")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor's waves")
    parser.add_argument("--write", type=Path, help="add the table to this Markdown file")
    parser.add_argument("--profile", type=Path, help="py-spy flame graph of our server (SVG)")
    args = parser.parse_args()
    results = []
    for phones in args.phones:
        mine = ours(phones, args.over, args.profile)
        print(json.dumps(mine), flush=True)
        base = None if args.no_floor else floor(phones, args.over)
        if base is not None:
            print(json.dumps({"floor": base}), flush=True)
        results.append((mine, base))
    section = table(results, args.over)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
