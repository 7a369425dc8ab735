"""The package as someone installs it: a wheel built from this working tree, installed into a fresh
virtualenv, serving the demo from an empty directory, with nothing of the checkout in reach."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
#: What the build reads (pyproject.toml names README.md as the long description).
SOURCES = ("pyproject.toml", "README.md", "facilitator", "web", "migrations")
#: pip's words when it cannot reach the package index at all (not a wrong requirement).
UNREACHABLE = (
    "NewConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def pip(*args: str, into: Path | None = None) -> None:
    """Run this venv's pip (on the interpreter ``into``, if given); skip, saying why, only when
    the package index cannot be reached."""
    target = ["--python", str(into)] if into is not None else []
    done = subprocess.run(
        [sys.executable, "-m", "pip", *target, "--disable-pip-version-check", "--retries=1", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        said = done.stdout + done.stderr
        reason = next((word for word in UNREACHABLE if word in said), None)
        if reason is not None:
            pytest.skip(f"the package index cannot be reached ({reason}): pip {args[0]} needs it")
        raise AssertionError(f"pip {' '.join(args)} failed:\n{said}")


def build_wheel(tmp_path: Path) -> tuple[Path, Path]:
    """A wheel of the working tree, built from a copy: the build writes build/ and *.egg-info
    beside its sources, and a stale build/ in the checkout would hide a file left out."""
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    pip("wheel", "--no-deps", "--quiet", "-w", str(dist), str(source))
    (wheel,) = dist.glob("facilitator-*.whl")
    return source, wheel


def check_contents(source: Path, wheel: Path) -> None:
    """Every module, template, static file and migration it was built from is in the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"facilitator/{path.relative_to(source / 'facilitator').as_posix()}"
        for path in (source / "facilitator").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    for top in ("web", "migrations"):
        expected |= {
            f"facilitator/{path.relative_to(source).as_posix()}"
            for path in (source / top).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        }
    # The walk found the tree (a wrong root would expect nothing and pass).
    assert "facilitator/web/templates/login.html" in expected
    assert "facilitator/migrations/versions/0001_initial_schema.py" in expected
    assert {"facilitator/migrations/env.py", "facilitator/migrations/script.py.mako"} <= expected
    assert "facilitator/i18n/he.json" in names
    missing = expected - names
    assert not missing, f"the wheel lacks {sorted(missing)}"
    assert not any(name.startswith(("web/", "migrations/", "tests/")) for name in names)


@pytest.mark.slow
def test_an_installed_wheel_serves_the_demo_from_an_empty_directory(tmp_path: Path) -> None:
    source, wheel = build_wheel(tmp_path)
    check_contents(source, wheel)

    venv = tmp_path / "venv"
    # The base interpreter's venv module: a venv made from this one would not see its packages
    # anyway, and without pip of its own it is made in a moment (this pip installs into it).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip("install", "--quiet", "--no-compile", str(wheel), into=python)

    empty, home, data_home = tmp_path / "empty", tmp_path / "home", tmp_path / "xdg"
    for folder in (empty, home, data_home):
        folder.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FACILITATOR_", "PYTHON", "VIRTUAL_ENV")) and key != "DATABASE_URL"
    }
    env |= {"HOME": str(home), "XDG_DATA_HOME": str(data_home)}

    # The program runs from the venv, not from the checkout (no editable install reaches it).
    where = subprocess.run(
        [str(python), "-c", "import facilitator.paths as p; print(p.PACKAGE, p.from_checkout())"],
        env=env,
        cwd=empty,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(venv)
    assert where[1] == "False"

    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(venv / "bin" / "facilitator"),
                "serve",
                "--demo",
                "--host=127.0.0.1",
                f"--port={port}",
            ],
            env=env,
            cwd=empty,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        health = None
        deadline = time.monotonic() + 60
        while health is None and time.monotonic() < deadline:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
            except httpx.TransportError:
                assert server.poll() is None, f"serve stopped:\n{log.read_text()}"
                time.sleep(0.2)
        assert health is not None, f"serve did not answer:\n{log.read_text()}"
        assert health.json() == {"status": "ok", "database": "ok"}

        page = httpx.get(f"{base}/login?lang=en")  # a template, and its words
        assert page.status_code == 200
        assert "Sign in" in page.text
        assert "/static/css/app.css" in page.text

        css = httpx.get(f"{base}/static/css/app.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert css.content == (ROOT / "web" / "static" / "css" / "app.css").read_bytes()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    data = data_home / "facilitator"
    assert (data / "facilitator.db").is_file()
    assert (data / "demo-logins.txt").is_file()
    assert f"database: {data / 'facilitator.db'}" in log.read_text()
    assert list(empty.iterdir()) == []  # nothing written where it was started
    assert not (home / ".local").exists()  # XDG_DATA_HOME is followed
