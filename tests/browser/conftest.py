"""Real headless Chromium (Debian's, not a downloaded one) against a real server with the demo."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the networking flags Chromium keeps trying to reach Google's hosts from a closed network.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class DemoServer:
    base: str
    folder: Path
    port: int
    process: subprocess.Popen[str]
    log: IO[str]
    backbone: tuple[str, str]
    facilitator: tuple[str, str]
    #: Settings a test module asks for (its ``demo_settings`` fixture).
    settings: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{self.folder / 'demo.db'}"
        env["FACILITATOR_LOG_LEVEL"] = "warning"
        env["FACILITATOR_HOST"] = "127.0.0.1"
        env.update(self.settings)
        return env

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "facilitator"), "serve", "--port", str(self.port)],
            env=self.env(), cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                if self.process.poll() is not None:
                    raise RuntimeError((self.folder / "server.log").read_text()) from None
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def demo_settings() -> dict[str, str]:
    """``FACILITATOR_*`` settings for the module's demo server (none: the defaults)."""
    return {}


@pytest.fixture(scope="module")
def demo_server(
    tmp_path_factory: pytest.TempPathFactory, demo_settings: dict[str, str]
) -> Iterator[DemoServer]:
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    log = (folder / "server.log").open("w")
    server = DemoServer(
        f"http://127.0.0.1:{port}", folder, port, None, log, ("", ""), ("", ""), demo_settings
    )  # type: ignore[arg-type]
    loaded = subprocess.run(
        [str(BIN / "facilitator"), "demo"],
        env=server.env(),
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    logins = dict(
        line.strip().split(": ", 1)
        for line in loaded.stdout.splitlines()
        if ": " in line and "@" in line
    )
    server.backbone = tuple(logins["backbone"].split(" / "))  # type: ignore[assignment]
    server.facilitator = tuple(logins["facilitator"].split(" / "))  # type: ignore[assignment]
    server.start()
    try:
        yield server
    finally:
        server.stop()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Watcher:
    """Collects what must never happen on a page: script dialogs and console errors."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def watch(self, page: Page, name: str) -> Page:
        page.on(
            "dialog", lambda d: (self.problems.append(f"{name}: dialog {d.message!r}"), d.dismiss())
        )
        page.on("pageerror", lambda e: self.problems.append(f"{name}: {e}"))
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"{name}: console {m.text}") if m.type == "error" else None
            ),
        )
        return page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@dataclass
class EmptyServer:
    base: str
    setup_link: str
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmptyServer]:
    """`facilitator serve` on an empty database, and the set-up link it prints (a fresh one
    for each test module that asks)."""
    folder = tmp_path_factory.mktemp("empty-server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'fresh.db'}"
    env["FACILITATOR_LOG_LEVEL"] = "warning"
    env["FACILITATOR_HOST"] = "127.0.0.1"
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "facilitator"), "serve", "--port", str(port)],
            env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            link = None
            deadline = time.monotonic() + 60
            while link is None and time.monotonic() < deadline:
                found = re.search(r"(http://127\.0\.0\.1:\d+/setup/\S+)", log_path.read_text())
                link = found.group(1) if found else None
                if link is None:
                    assert process.poll() is None, log_path.read_text()
                    time.sleep(0.1)
            assert link is not None, log_path.read_text()
            yield EmptyServer(f"http://127.0.0.1:{port}", link, process)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
