"""Two ``facilitator serve`` processes (A and B) on one PostgreSQL database, sharing rooms
through a real ``redis-server`` (or each on its own memory hub), behind nginx with TLS: the
deployment of docs/deploy.md, on loopback, in a folder of the test's own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.live_server import BIN, Seeded, Server, seed
from tests.support.nginx_front import Nginx, start_nginx
from tests.support.ports import free_port
from tests.support.postgres_db import create_database, drop_database
from tests.support.redis_server import RedisServer


def app_env(db_url: str, broadcast_url: str, public_url: str) -> dict[str, str]:
    """What every process of the deployment is given alike (docs/deploy.md's list)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env.update(
        DATABASE_URL=db_url,
        FACILITATOR_BROADCAST_URL=broadcast_url,
        FACILITATOR_PUBLIC_URL=public_url,
        FACILITATOR_TRUSTED_PROXIES="127.0.0.1",
        FACILITATOR_SCHEDULER="off",  # the reminder timer's job, not the processes'
        FACILITATOR_MIGRATE_ON_START="off",  # facilitator migrate ran once, as its unit does
        FACILITATOR_LOG_LEVEL="info",
    )
    return env


def launch(folder: Path, name: str, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    """``facilitator serve`` as the systemd unit runs it: on loopback, one port each."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.log").open("a") as log:  # the child keeps its own copy open
        return subprocess.Popen(
            [str(BIN / "facilitator"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def wait_healthy(base: str, process: subprocess.Popen[str], log: Path, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{log.name} exited: {log.read_text()[-3000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"{log.name} not healthy within {within} s")


@dataclass
class Cluster:
    folder: Path
    db_url: str
    seeded: Seeded
    env: dict[str, str]
    a: Server
    b: Server
    front: Server  # nginx, as the helpers of tests/support/live_server.py talk to a server
    nginx: Nginx
    redis: RedisServer | None

    def process_of(self, upstream: str) -> str:
        """``"A"`` or ``"B"``: which process ``host:port`` (from nginx's log) is."""
        ports = {self.a.base.rsplit(":", 1)[1]: "A", self.b.base.rsplit(":", 1)[1]: "B"}
        return ports[upstream.rsplit(":", 1)[1]]

    def kill(self, server: Server) -> None:
        """The process dies at once (SIGKILL): no goodbye to its sockets or to Redis."""
        server.process.kill()
        server.process.wait()

    def restart(self, server: Server) -> None:
        """The process again, on its port (as systemd's ``Restart=`` brings it back)."""
        port = int(server.base.rsplit(":", 1)[1])
        name = server.log.stem
        server.process = launch(self.folder, name, port, self.env)
        wait_healthy(server.base, server.process, server.log)


def migrated_database(admin_url: str, folder: Path) -> str:
    """A new database brought to the newest schema by ``facilitator migrate``, as the
    deployment's one-shot unit does before any process starts."""
    db_url = create_database(admin_url, "facilitator_scale_template")
    migrated = subprocess.run(
        [str(BIN / "facilitator"), "migrate"], env={**os.environ, "DATABASE_URL": db_url},
        cwd=folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if migrated.returncode != 0:
        drop_database(admin_url, db_url)
        raise RuntimeError(f"facilitator migrate failed: {migrated.stderr}")
    return db_url


def start_cluster(
    folder: Path, admin_url: str, template: str, cert: Path, key: Path, *, redis: bool
) -> Cluster:
    """A fresh copy of the migrated database, then A and B started together, with nginx in
    front of both."""
    db_url = create_database(admin_url, "facilitator_scale", template)
    hub: RedisServer | None = None
    started: list[Server] = []
    processes: dict[str, subprocess.Popen[str]] = {}
    nginx: Nginx | None = None
    try:
        if redis:
            hub = RedisServer(folder)
            hub.start()
        ports = [free_port(), free_port()]
        nginx = start_nginx(folder / "nginx", ports, cert, key)
        env = app_env(db_url, hub.url if hub else "memory://", nginx.base)
        seeded = asyncio.run(seed(db_url))
        processes.update(
            {name: launch(folder, name, port, env) for name, port in zip("AB", ports, strict=True)}
        )
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(
                lambda name_port: wait_healthy(
                    f"http://127.0.0.1:{name_port[1]}", processes[name_port[0]],
                    folder / f"{name_port[0]}.log",
                ),
                zip("AB", ports, strict=True),
            ))  # fmt: skip
        for name, port in zip("AB", ports, strict=True):
            log = folder / f"{name}.log"
            started.append(
                Server(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", db_url, seeded,
                       processes[name], log, log.open("a"))
            )  # fmt: skip
        front = Server(nginx.base, nginx.ws_base, db_url, seeded, nginx.process,
                       nginx.folder / "error.log", (nginx.folder / "error.log").open("a"))  # fmt: skip
        return Cluster(folder, db_url, seeded, env, started[0], started[1], front, nginx, hub)
    except BaseException:
        for process in processes.values():
            process.kill()
            process.wait()
        stop_parts(started, nginx, hub)
        drop_database(admin_url, db_url)
        raise


def stop_parts(servers: list[Server], nginx: Nginx | None, hub: RedisServer | None) -> None:
    for server in servers:
        server.stop()
    if nginx is not None:
        nginx.stop()
    if hub is not None:
        hub.stop()


def stop_cluster(cluster: Cluster, admin_url: str) -> None:
    stop_parts([cluster.a, cluster.b], cluster.nginx, cluster.redis)
    cluster.front.log_file.close()
    drop_database(admin_url, cluster.db_url)
