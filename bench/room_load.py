"""How the live room holds N phones on this machine, beside the floor (a bare websockets
broadcast server). One command:

    .venv/bin/python -m bench.room_load --phones 500 1000 2000 --runs 3 --write docs/performance.md

Server and load run in separate processes, pinned to different cores when `taskset` exists.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import random
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
from websockets.asyncio.client import ClientConnection, connect

from bench.clients import worker
from bench.seed import Room, seed_room
from facilitator import migrate
from facilitator.db import Database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PER_WORKER = 1000
PROBES = 5
WARM_WAVE = 50  # phones connected first, so one-time costs stay out of the per-phone figure
HZ = os.sysconf("SC_CLK_TCK")
TALLY_ANSWERS = 6  # opener answers per probe during the burst, each timed to the wall
SLOW_PROBES = 40  # stage changes timed before and with the slow readers: 200 samples, so
# the p99 compared is not just the single slowest arrival
SLOW_FRACTION = 0.05  # phones that stop reading in the slow-reader scenario
SLOW_CHANGES = 200  # stage changes sent past the stalled phones
SLOW_WITHIN = 60.0  # seconds after the last of them the server has to drop the stalled phones
MOVE_GAP = 0.11  # seconds between the console's moves: under the staff budget of ten a second
BACKED_UP = 1024  # bytes unsent in the server's kernel that mark a socket as not being read


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


async def open_screen(
    ws_url: str, meeting_id: int, face: str, cookie: str | None
) -> ClientConnection:
    """A staff screen (console, or the wall: a projector opened by signed-in staff), welcomed."""
    headers = {"cookie": f"fac_session={cookie}"} if cookie else {}
    ws = await connect(
        f"{ws_url}/ws/m/{meeting_id}?face={face}",
        additional_headers=headers,
        compression=None,
        max_size=2**24,
        max_queue=None,  # see open_probe
    )
    await ws.send(json.dumps({"type": "hello"}))
    await ws.recv()
    return ws


async def open_probe(ws_url: str, meeting_id: int, token: str) -> ClientConnection:
    # No flow control on our side: a probe reads only what it times, and with the rest queued
    # past websockets' limit it would stop reading, miss the server's close frame and wait
    # out the ten-second close timeout at every close.
    ws = await connect(
        f"{ws_url}/ws/m/{meeting_id}?face=phone", compression=None, max_size=2**24, max_queue=None
    )
    await ws.send(json.dumps({"type": "hello", "token": token}))
    while json.loads(await ws.recv())["type"] != "welcome":
        pass
    return ws


async def probe_fanout(
    ws_url: str, meeting_id: int, tokens: list[str], cookie: str | None, changes: int, floor: bool
) -> dict[str, Any]:
    """The console changes the stage `changes` times; probes time each arrival."""
    console = await open_screen(ws_url, meeting_id, "console", cookie)
    probes = [await open_probe(ws_url, meeting_id, token) for token in tokens]
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
    server_ms = await (floor_fanouts(console) if floor else our_fanouts(ws_url, cookie))
    for ws in [console, *probes]:
        await ws.close()
    return {
        "p50": pct(latencies, 0.5) * 1000,
        "p99": pct(latencies, 0.99) * 1000,
        "bytes": payload_size,
        "server_p50": server_ms[0],
        "server_p99": server_ms[1],
    }


async def floor_fanouts(console: ClientConnection) -> tuple[float, float]:
    """The floor's own timing of each broadcast() call, p50 and p99 in ms."""
    await console.send(json.dumps({"type": "stats"}))
    while (message := json.loads(await console.recv())).get("type") != "stats":
        pass
    times = message["fanout_s"]
    return pct(times, 0.5) * 1000, pct(times, 0.99) * 1000


async def our_fanouts(ws_url: str, cookie: str | None) -> tuple[float, float]:
    """The room's own timing of handing each event to every socket (GET /api/live/stats)."""
    async with httpx.AsyncClient(
        base_url=ws_url.replace("ws://", "http://"), cookies={"fac_session": cookie or ""}
    ) as client:
        fanout = (await client.get("/api/live/stats")).json()["fanout_ms"]
    return float(fanout["p50"]), float(fanout["p99"])


async def note_tallies(wall: ClientConnection, seen: list[tuple[int, float]]) -> None:
    async for raw in wall:
        message = json.loads(raw)
        if message.get("type") == "tally":
            seen.append((message["seq"], time.perf_counter()))


async def answer_opener(
    ws: ClientConnection, blockers: list[int], window: float, rng: random.Random
) -> list[tuple[float, int]]:
    """TALLY_ANSWERS answers at random moments within the window: (sent at, acked seq) each."""
    moments = sorted(rng.uniform(0, window) for _ in range(TALLY_ANSWERS))
    sent: dict[str, float] = {}
    acked: list[tuple[float, int]] = []

    async def read_acks() -> None:
        settled = 0
        while settled < len(moments):
            message = json.loads(await ws.recv())
            started = sent.pop(message.get("id"), None)
            if started is not None and message["type"] in ("ack", "error"):
                settled += 1
                if message["type"] == "ack":
                    acked.append((started, message["seq"]))

    reading = asyncio.create_task(read_acks())
    start = time.perf_counter()
    for n, moment in enumerate(moments):
        await asyncio.sleep(max(0.0, start + moment - time.perf_counter()))
        msg_id = f"t{n}-{rng.random():.12f}"
        sent[msg_id] = time.perf_counter()
        picks = sorted(rng.sample(blockers, 2))
        await ws.send(json.dumps({"type": "respond_opener", "id": msg_id, "blockers": picks}))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reading, 60)  # as long as the load phones wait for theirs
    return acked


def first_on_wall(sent: float, seq: int, seen: list[tuple[int, float]]) -> float | None:
    """Seconds from an answer's send to the first wall tally that includes it."""
    return next((at - sent for tally_seq, at in seen if tally_seq >= seq), None)


async def probe_tally(
    ws_url: str, meeting_id: int, tokens: list[str], cookie: str, blockers: list[int], window: float
) -> dict[str, Any]:
    """During the burst, probe phones answer the opener while the wall notes every tally it
    gets: an answer is on the wall with the first tally whose seq is at least the answer's."""
    wall = await open_screen(ws_url, meeting_id, "projector", cookie)
    seen: list[tuple[int, float]] = []
    watching = asyncio.create_task(note_tallies(wall, seen))
    probes = [await open_probe(ws_url, meeting_id, token) for token in tokens]
    rng = random.Random(meeting_id)
    answers = [
        answer
        for per_probe in await asyncio.gather(
            *(answer_opener(ws, blockers, window, rng) for ws in probes)
        )
        for answer in per_probe
    ]
    last = max((seq for _sent, seq in answers), default=0)
    deadline = time.perf_counter() + 10
    # Polling is fine here: the last tally is at most a tenth of a second behind its answer.
    while (not seen or seen[-1][0] < last) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    watching.cancel()
    for ws in [wall, *probes]:
        await ws.close()
    on_wall = [
        lat for lat in (first_on_wall(t, seq, seen) for t, seq in answers) if lat is not None
    ]
    return {
        "answers": len(tokens) * TALLY_ANSWERS,
        "acked": len(answers),
        "on_wall": len(on_wall),
        "p50": pct(on_wall, 0.5) * 1000,
        "p99": pct(on_wall, 0.99) * 1000,
    }


async def move_back_and_forth(ws_url: str, meeting_id: int, cookie: str, changes: int) -> int:
    """The console moves the stage `changes` times (an even number: it ends where it began),
    each once the last was acknowledged; returns the size of one stage change in bytes."""
    console = await open_screen(ws_url, meeting_id, "console", cookie)
    size = 0
    for n in range(changes):
        msg_id = f"s{n}-{time.perf_counter()}"
        stage = "review" if n % 2 == 0 else "opener"
        await console.send(json.dumps({"type": "move", "id": msg_id, "stage": stage}))
        while True:
            raw = await console.recv()
            message = json.loads(raw)
            if message.get("type") == "event":
                size = len(raw)
            elif message.get("id") == msg_id:
                if message["type"] != "ack":
                    raise RuntimeError(f"move refused: {message}")
                break
        await asyncio.sleep(MOVE_GAP)
    await console.close()
    return size


def unsent_by_server(port: int) -> list[int]:
    """Bytes the server's kernel still holds for each of the server's sockets (`ss` Send-Q)."""
    if not shutil.which("ss"):
        return []
    out = subprocess.run(
        ["ss", "-tnH", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    # Every state but the listener: a socket the server gave up on keeps its data in the kernel.
    rows = [line.split() for line in out.splitlines()]
    return [int(row[2]) for row in rows if row and row[0] != "LISTEN"]


def slow_readers(
    workers: list[tuple[mp.Process, Any]],
    pid: int,
    port: int,
    room: Room,
    phones: int,
    changes: int,
    within: float,
    fraction: float = SLOW_FRACTION,
    probes_timed: int = SLOW_PROBES,
) -> dict[str, Any]:
    """Some phones stop reading (none, for the control run: then the two p99s differ only by
    chance and by what 200 more events change): the others' stage change before and with them, the server's
    memory and kernel buffers per slow phone once `changes` more stage changes were sent past
    them, and how many the server dropped within `within` seconds of the last change."""
    ws_url = f"ws://127.0.0.1:{port}"
    probes = room.tokens[phones:]
    before = asyncio.run(
        probe_fanout(ws_url, room.meeting_id, probes, room.session_cookie, probes_timed, False)
    )
    stalled = 0
    for (process, pipe), count in zip(workers, slow_counts(workers, fraction), strict=True):
        stalled += ask([(process, pipe)], {"do": "stall", "count": count})[0]["stalled"]
    time.sleep(1)  # the reconnected phones settle before the baseline
    rss_before = rss_kib(pid)
    size = asyncio.run(
        move_back_and_forth(ws_url, room.meeting_id, room.session_cookie, changes - changes % 2)
    )
    until = time.time() + within
    time.sleep(1)  # the phones that read catch up, so what is left queued is the slow ones'
    rss_after = rss_kib(pid)
    unsent = [n for n in unsent_by_server(port) if n >= BACKED_UP]
    with_slow = asyncio.run(
        probe_fanout(ws_url, room.meeting_id, probes, room.session_cookie, probes_timed, False)
    )
    drops = ask(workers, {"do": "dropped", "until": until})
    dropped_after = sorted(t for d in drops for t in d["dropped_after_s"])
    return {
        "stalled": stalled,
        "p99_before_ms": before["p99"],
        "p99_with_slow_ms": with_slow["p99"],
        "p99_ratio": with_slow["p99"] / before["p99"],
        "changes": changes - changes % 2,
        "kib_sent_per_slow_phone": (changes - changes % 2) * size / 1024,
        "kib_per_slow_phone": (rss_after - rss_before) / stalled if stalled else None,
        "kernel_kib_per_slow_phone": sum(unsent) / 1024 / stalled if stalled else None,
        "server_sockets_backed_up": len(unsent),
        "dropped_within_s": within,
        "dropped": len(dropped_after),
        "dropped_after_stall_s": dropped_after,
        "last_dropped_after_stall_s": max(dropped_after, default=float("nan")),
    }


def connect_measured(
    pid: int, url: str, meeting_id: int, tokens: list[str], blockers: list[int]
) -> tuple[list[tuple[mp.Process, Any]], float, float]:
    """Connect the phones, a first wave apart, and read the server's memory: per phone beyond
    the first wave (what one more phone costs, once the first socket's one-time costs are
    paid: imports, caches, the room, the shared snapshot), and per phone from idle."""
    idle = rss_kib(pid)
    first = start_workers(url, meeting_id, tokens[:WARM_WAVE], blockers)
    time.sleep(1)
    warm = rss_kib(pid)
    rest = start_workers(url, meeting_id, tokens[WARM_WAVE:], blockers)
    time.sleep(1)
    full = rss_kib(pid)
    marginal = (full - warm) / max(1, len(tokens) - WARM_WAVE)
    return first + rest, marginal, (full - idle) / len(tokens)


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


def tell(workers: list[tuple[mp.Process, Any]], command: dict[str, Any]) -> None:
    for _process, pipe in workers:
        pipe.send(command)


def hear(workers: list[tuple[mp.Process, Any]]) -> list[dict[str, Any]]:
    return [pipe.recv() for _process, pipe in workers]


def slow_counts(workers: list[tuple[mp.Process, Any]], fraction: float) -> list[int]:
    """`fraction` of all phones (at least one, unless none), shared among the workers by size."""
    sizes = [r["phones"] for r in ask(workers, {"do": "size"})]
    total = max(1, round(sum(sizes) * fraction)) if fraction else 0
    counts = [total * size // sum(sizes) for size in sizes]
    for n in range(total - sum(counts)):  # the remainder to the largest
        counts[sorted(range(len(sizes)), key=lambda i: -sizes[i])[n % len(sizes)]] += 1
    return counts


def ask(workers: list[tuple[mp.Process, Any]], command: dict[str, Any]) -> list[dict[str, Any]]:
    tell(workers, command)
    return hear(workers)


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


def profiled(pid: int, window: float, out: Path | None) -> subprocess.Popen[bytes] | None:
    """py-spy over the server through the burst (``--profile``): where its core goes, by
    what holds the interpreter (``--gil``), as a speedscope file. ``--nonblocking``: sampling
    that paused the server 200 times a second would move the very figures measured."""
    if out is None:
        return None
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(window) + 1), "--gil",
         "--nonblocking", "--rate", "200", "--format", "speedscope", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def profile_done(spy: subprocess.Popen[bytes]) -> None:
    """Wait for py-spy; say so when it wrote nothing (it cannot attach, say)."""
    try:
        _out, err = spy.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
        _out, err = spy.communicate()
    if spy.returncode:
        print(f"py-spy failed ({spy.returncode}): {err.decode(errors='replace')}", file=sys.stderr)


def one_run(
    phones: int,
    window: float,
    scenarios: set[str],
    *,
    slow_changes: int = SLOW_CHANGES,
    slow_within: float = SLOW_WITHIN,
    slow_probes: int = SLOW_PROBES,
    profile: Path | None = None,
) -> dict[str, Any]:
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
        workers, result["kib_per_phone"], result["kib_per_phone_all"] = connect_measured(
            pid, f"ws://127.0.0.1:{port}", room.meeting_id, room.tokens[:phones], room.blockers
        )
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
            spy = profiled(pid, window, profile)
            tell(workers, {"do": "vote", "window": window})
            # The probes answer and the wall watches while the phones vote.
            tally = asyncio.run(
                probe_tally(
                    f"ws://127.0.0.1:{port}",
                    room.meeting_id,
                    room.tokens[phones:],
                    room.session_cookie,
                    room.blockers,
                    window,
                )
            )
            answers = hear(workers)
            wall = time.perf_counter() - started
            if spy is not None:
                profile_done(spy)
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
                "people_with_exactly_their_answer": sum(
                    1 for person in room.people[:phones] if per_person[person] == 2
                ),
                "cpu_pct_of_core": 100 * (cpu_ticks(pid) - ticks) / HZ / wall,
                "tally_answers": tally["answers"],
                "tally_acked": tally["acked"],
                "tally_on_wall": tally["on_wall"],
                "tally_p50_ms": tally["p50"],
                "tally_p99_ms": tally["p99"],
            }
        if "storm" in scenarios:
            storms = ask(workers, {"do": "storm", "window": 5.0})
            result["storm_s"] = max(s["all_in_sync_after"] for s in storms)
        if "control" in scenarios:  # the slow-reader run with no one stalled: its noise
            result["control"] = slow_readers(
                workers, pid, port, room, phones, slow_changes, 1.0, fraction=0.0
            )
        if "slow" in scenarios:  # last: the stalled phones stay stalled
            result["slow"] = slow_readers(
                workers,
                pid,
                port,
                room,
                phones,
                slow_changes,
                slow_within,
                probes_timed=slow_probes,
            )
        stop(workers)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def floor_run(phones: int, payload: str, window: float, scenarios: set[str]) -> dict[str, Any]:
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="room-floor-"))
    server = subprocess.Popen(
        pinned(
            [sys.executable, "-m", "bench.floor", str(port), payload, str(folder / "answers.db")],
            0,
        ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result: dict[str, Any] = {"phones": phones}
    try:
        time.sleep(1.0)
        tokens = [f"t{n}" for n in range(phones + PROBES)]
        workers, result["kib_per_phone"], result["kib_per_phone_all"] = connect_measured(
            server.pid, f"ws://127.0.0.1:{port}", 1, tokens[:phones], [1, 2, 3]
        )
        if "fanout" in scenarios:
            result["fanout"] = asyncio.run(
                probe_fanout(f"ws://127.0.0.1:{port}", 1, tokens[phones:], None, 10, True)
            )
        if "burst" in scenarios:  # the same vote, each answer stored durably and acked
            ticks, started = cpu_ticks(server.pid), time.perf_counter()
            tell(workers, {"do": "vote", "window": window})
            answers = hear(workers)
            wall = time.perf_counter() - started
            acks = [a for answer in answers for a in answer["acks"]]
            result["burst"] = {
                "acked": len(acks),
                "unanswered": sum(a["unanswered"] for a in answers),
                "ack_p50_ms": pct(acks, 0.5) * 1000,
                "ack_p99_ms": pct(acks, 0.99) * 1000,
                "cpu_pct_of_core": 100 * (cpu_ticks(server.pid) - ticks) / HZ / wall,
            }
        stop(workers)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)
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
            ("stage change, server fan-out p50 (ms)", ("fanout", "server_p50")),
            ("stage change, server fan-out p99 (ms)", ("fanout", "server_p99")),
            ("stage change, probe p50 (ms)", ("fanout", "p50")),
            ("stage change, probe p99 (ms)", ("fanout", "p99")),
            ("memory per connected phone (KiB)", ("kib_per_phone",)),
            ("memory per phone counted from idle (KiB)", ("kib_per_phone_all",)),
        ):
            o, f = median_of(ours, *path)[0], median_of(floor, *path)[0] if floor else float("nan")
            if o != o:
                continue  # NaN: the fan-out was not run
            ratio = f"{o / f:.2f}×" if f and f == f and f > 0 else "—"
            lines.append(f"| {phones} | {label} | {cell(ours, *path)} | {f:.1f} | {ratio} |")
        within = median_of(ours, "slow", "dropped_within_s")[0]
        within = within if within == within else SLOW_WITHIN  # NaN when not run
        for label, path, digits in (
            ("vote burst: answers acknowledged", ("burst", "acked"), 1),
            ("vote burst: answers never acknowledged", ("burst", "unanswered"), 1),
            (
                "vote burst: people whose final answer is exactly stored",
                ("burst", "people_with_exactly_their_answer"),
                1,
            ),
            ("vote burst: ack p50 (ms)", ("burst", "ack_p50_ms"), 1),
            ("vote burst: ack p99 (ms)", ("burst", "ack_p99_ms"), 1),
            ("vote burst: server CPU (% of one core)", ("burst", "cpu_pct_of_core"), 1),
            ("vote burst: probe answers seen on the wall", ("burst", "tally_on_wall"), 1),
            ("vote burst: answer to wall tally p50 (ms)", ("burst", "tally_p50_ms"), 1),
            ("vote burst: answer to wall tally p99 (ms)", ("burst", "tally_p99_ms"), 1),
            ("reconnect storm: all back and in sync (s)", ("storm_s",), 1),
            ("slow readers: phones that stopped reading", ("slow", "stalled"), 1),
            ("slow readers: others' stage change p99 before (ms)", ("slow", "p99_before_ms"), 1),
            (
                "slow readers: others' stage change p99 with them (ms)",
                ("slow", "p99_with_slow_ms"),
                1,
            ),
            ("slow readers: others' p99, with them / before", ("slow", "p99_ratio"), 2),
            (
                "control, no one stalled: the same p99, second / first",
                ("control", "p99_ratio"),
                2,
            ),
            (
                "slow readers: sent to each and not read (KiB)",
                ("slow", "kib_sent_per_slow_phone"),
                1,
            ),
            (
                "slow readers: server memory growth per slow phone (KiB)",
                ("slow", "kib_per_slow_phone"),
                1,
            ),
            (
                "slow readers: held in the server's kernel per slow phone (KiB)",
                ("slow", "kernel_kib_per_slow_phone"),
                1,
            ),
            (f"slow readers: dropped by the server within {within:.0f} s", ("slow", "dropped"), 1),
            ("slow readers: stall to the last drop (s)", ("slow", "last_dropped_after_stall_s"), 1),
        ):
            o = median_of(ours, *path)[0]
            if o != o:
                continue  # NaN: that scenario was not run (the control is asked for by name)
            f = median_of(floor, *path)[0] if floor and path[0] == "burst" else float("nan")
            shown, ratio = (f"{f:.1f}", f"{o / f:.2f}×" if f > 0 else "—") if f == f else ("—", "—")
            lines.append(
                f"| {phones} | {label} | {cell(ours, *path, digits=digits)} | {shown} | {ratio} |"
            )
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
    parser.add_argument("--scenarios", default="fanout,burst,storm,slow")
    parser.add_argument(
        "--slow-changes",
        type=int,
        default=SLOW_CHANGES,
        help="stage changes sent past the phones that stopped reading",
    )
    parser.add_argument(
        "--slow-within",
        type=float,
        default=SLOW_WITHIN,
        help="seconds after the last of them the server has to drop those phones",
    )
    parser.add_argument("--write", type=Path, help="write the table into this Markdown file")
    parser.add_argument(
        "--profile", type=Path, help="py-spy the server through the burst into this file"
    )
    args = parser.parse_args()
    scenarios = set(args.scenarios.split(","))
    results: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for phones in args.phones:
        ours = [
            one_run(
                phones,
                args.window,
                scenarios,
                slow_changes=args.slow_changes,
                slow_within=args.slow_within,
                profile=args.profile,
            )
            for _ in range(args.runs)
        ]
        size = median_of(ours, "fanout", "bytes")[0]
        payload_size = int(size) if size == size else 400  # NaN when fan-out was not run
        payload = json.dumps(
            {
                "type": "event",
                "event": "stage_changed",
                "payload": {"pad": "x" * max(0, payload_size - 80)},
            }
        )
        floor = (
            [floor_run(phones, payload, args.window, scenarios) for _ in range(args.runs)]
            if scenarios & {"fanout", "burst"}
            else []
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
