"""Backup and restore with the real commands beside a real server: a copy taken during a burst
of answers holds every answer acknowledged before it began; restore refuses a running server,
a file that is no sound database, and a schema this version does not know."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import (
    BIN,
    Server,
    cookie_header,
    join_phone,
    new_meeting,
    open_client,
)

pytestmark = pytest.mark.slow


def facilitator(*args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env["DATABASE_URL"] = db_url
    return subprocess.run(
        [str(BIN / "facilitator"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


async def test_a_backup_during_a_burst_restores_every_answer_acknowledged_before_it(
    server: Server, staff: httpx.AsyncClient, tmp_path: Path
) -> None:
    meeting_id, code, _view = await new_meeting(server, staff, "גיבוי באמצע")
    console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
    welcome = await console.expect(lambda m: m["type"] == "welcome")
    blockers = [b["id"] for b in welcome["snapshot"]["blockers"]]
    await console.command("start")
    await console.command("move", stage="opener")
    phones = []
    for n in range(12):
        token, _person = await join_phone(server, code, f"עונה {n}")
        phones.append(await open_client(server, meeting_id, "phone", {"token": token}))
    acked: list[tuple[float, str]] = []
    stop, enough = asyncio.Event(), asyncio.Event()

    async def answer(n: int, phone: object) -> None:
        k = 0
        while not stop.is_set():
            k += 1
            msg = f"b{n}-{k}"
            reply = await phone.command(  # type: ignore[attr-defined]
                "respond_opener", msg_id=msg, blockers=[blockers[k % 5]]
            )
            if reply["type"] == "ack":
                acked.append((time.monotonic(), msg))
                if len(acked) > 30:
                    enough.set()
            await asyncio.sleep(0.5)  # a phone's budget: two a second

    answering = [asyncio.create_task(answer(n, phone)) for n, phone in enumerate(phones)]
    # Enough answers acknowledged before the copy starts to mean something, however slow the
    # machine (a fixed two seconds gave 27 under a loaded CI).
    await asyncio.wait_for(enough.wait(), 60)
    began = time.monotonic()
    copy = tmp_path / "copy.db"
    made = await asyncio.to_thread(facilitator, "backup", str(copy), db_url=server.db_url)
    await asyncio.sleep(0.5)  # answers go on after it too
    stop.set()
    await asyncio.gather(*answering)
    assert made.returncode == 0, made.stderr
    assert "integrity ok" in made.stdout
    before = {msg for at, msg in acked if at < began}
    after = {msg for at, msg in acked if at >= began}
    assert len(before) > 30
    assert after

    restored = tmp_path / "elsewhere" / "site.db"
    back = facilitator("restore", str(copy), db_url=f"sqlite+aiosqlite:///{restored}")
    assert back.returncode == 0, back.stderr
    with sqlite3.connect(restored) as db:
        stored = {
            row[0]
            for row in db.execute(
                "SELECT client_msg_id FROM meeting_events WHERE meeting_id = ?", (meeting_id,)
            )
        }
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert before <= stored


def test_restore_refuses_a_running_server_a_bad_file_and_an_unknown_schema(
    server: Server, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    assert facilitator("backup", str(copy), db_url=server.db_url).returncode == 0
    again = facilitator("backup", str(copy), db_url=server.db_url)
    assert again.returncode == 1
    assert "exists already" in again.stderr

    running = facilitator("restore", str(copy), db_url=server.db_url)
    assert running.returncode == 1
    assert "A server is running" in running.stderr

    target = f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    refused = facilitator("restore", str(garbage), db_url=target)
    assert refused.returncode == 1
    assert "not a SQLite database" in refused.stderr

    future = tmp_path / "future.db"
    future.write_bytes(copy.read_bytes())
    with sqlite3.connect(future) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    unknown = facilitator("restore", str(future), db_url=target)
    assert unknown.returncode == 1
    assert "does not know" in unknown.stderr
    assert not (tmp_path / "target.db").exists()  # nothing was put in place

    postgres = facilitator("backup", str(tmp_path / "pg.db"), db_url="postgresql+asyncpg://h/d")
    assert postgres.returncode == 2
    assert "pg_dump" in postgres.stderr
