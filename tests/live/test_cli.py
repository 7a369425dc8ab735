"""The command line as a new user meets it: real processes, a real uvicorn server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from facilitator.db import Database
from facilitator.services import users
from tests.support.ports import free_port

BIN = Path(sys.executable).parent


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'run' / 'facilitator.db'}"
    return env


def facilitator(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "facilitator"), *args],
        env=env_for(tmp_path),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_serve_with_demo_prints_sign_in_and_answers_health(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "facilitator"), "serve", "--demo", "--port", str(port)],
        env=env_for(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    break
                time.sleep(0.2)
        assert health is not None, "server did not come up"
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": "ok"}
        home = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True)
        assert home.status_code == 200
        assert 'dir="rtl"' in home.text  # the demo network speaks Hebrew
        assert "כניסה" in home.text
        english = httpx.get(f"http://127.0.0.1:{port}/login?lang=en")
        assert 'dir="ltr"' in english.text
        assert "Sign in" in english.text
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert f"sign in at http://127.0.0.1:{port}/login" in output
    assert "backbone: backbone@demo.example / " in output
    assert "facilitator: facilitator@demo.example / " in output
    assert (tmp_path / "run" / "facilitator.db").is_file()

    # A second run keeps the data and prints the same sign-ins.
    again = facilitator(tmp_path, "demo", "--if-empty")
    assert again.returncode == 0
    assert "demo network loaded" not in again.stdout
    assert "backbone@demo.example" in again.stdout


async def sign_in(tmp_path: Path, email: str, password: str) -> bool:
    db = Database(env_for(tmp_path)["DATABASE_URL"])
    try:
        return await users.authenticate(db, email, password) is not None
    finally:
        await db.dispose()


@pytest.mark.slow
def test_migrate_and_create_user(tmp_path: Path) -> None:
    migrated = facilitator(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    no_network = facilitator(
        tmp_path, "create-user", "--email", "a@example.org", "--name", "A", stdin="long password\n"
    )
    assert no_network.returncode == 2
    assert "no network" in no_network.stderr
    assert facilitator(tmp_path, "demo").returncode == 0
    created = facilitator(
        tmp_path,
        "create-user",
        "--email",
        "Chair@Example.org",
        "--name",
        "יו״ר",
        "--role",
        "backbone",
        stdin="a long password\n",
    )
    assert created.returncode == 0, created.stderr
    assert asyncio.run(sign_in(tmp_path, "chair@example.org", "a long password"))
    assert not asyncio.run(sign_in(tmp_path, "chair@example.org", "a wrong password"))
    duplicate = facilitator(
        tmp_path,
        "create-user",
        "--email",
        "chair@example.org",
        "--name",
        "x",
        stdin="a long password\n",
    )
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr
    short = facilitator(
        tmp_path, "create-user", "--email", "b@example.org", "--name", "x", stdin="short\n"
    )
    assert short.returncode == 2
    assert "10 to 256" in short.stderr
