"""Debian's nginx in front of app processes, running ``deploy/nginx.conf`` — the file
docs/deploy.md shows — with only its ports, paths and certificate changed, from a folder of the
test's own (no root-only path, no service)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
# The two room processes the file names; a test's processes take their places.
DOC_BACKENDS = ("127.0.0.1:8001", "127.0.0.1:8002")
# The reports' process of its own: a test's last process stands for it too.
DOC_REPORTS = "127.0.0.1:8003"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (clients trust the certificate
    itself through ``SSL_CERT_FILE``)."""
    cert, key = folder / "tls.pem", folder / "tls.key"
    subprocess.run(
        [
            OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def render(site: str, *, backends: list[int], http_port: int, https_port: int, folder: Path,
           cert: Path, key: Path) -> str:  # fmt: skip
    """The site file with the test's ports and paths. Each text replaced must be in the file,
    so a change to it that the tests would no longer follow fails here, by name."""
    if len(backends) != len(DOC_BACKENDS):
        raise ValueError(f"the site file names {len(DOC_BACKENDS)} app processes")
    swaps = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        # IPv6 loopback's ports are not known to be free: the tests use IPv4 only.
        "listen [::]:80;": "",
        "listen [::]:443 ssl;": "",
        "/etc/ssl/certs/facilitator.example.org.pem": str(cert),
        "/etc/ssl/private/facilitator.example.org.key": str(key),
        "/var/log/nginx/facilitator.access.log": str(folder / "access.log"),
        DOC_REPORTS: f"127.0.0.1:{backends[-1]}",
        **{doc: f"127.0.0.1:{port}" for doc, port in zip(DOC_BACKENDS, backends, strict=True)},
    }
    for old, new in swaps.items():
        if old not in site:
            raise ValueError(f"deploy/nginx.conf no longer has {old!r}: update {__name__}")
        site = site.replace(old, new)
    return site


def main_config(folder: Path, site: Path) -> str:
    """What /etc/nginx/nginx.conf gives a site, with every path in ``folder``."""
    # As root, workers would be `nobody`, who cannot write to the test's private folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                               "uwsgi", "scgi")
    )  # fmt: skip
    return (
        f"{user}worker_processes 1;\nerror_log {folder / 'error.log'} info;\n"
        "events { worker_connections 2048; }\n"
        f"http {{\n{temps}\n    include {site};\n}}\n"
    )


@dataclass
class Nginx:
    folder: Path
    process: subprocess.Popen[str]
    http_port: int
    https_port: int
    cert: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ws_base(self) -> str:
        return f"wss://127.0.0.1:{self.https_port}"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    def log_lines(self) -> list[str]:
        """The access log so far (nginx writes a socket's line when it closes)."""
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def upstreams_of(self, path: str) -> list[str]:
        """The app process (``host:port``) that answered each request for ``path``, in the
        order nginx logged them (of several tried in turn, the last)."""
        pattern = re.compile(rf'"[A-Z]+ {re.escape(path)}[ ?][^"]*" \d+ \d+ upstream="([^"]*)"')
        found = (m.group(1) for line in self.log_lines() if (m := pattern.search(line)))
        return [tried.split(", ")[-1] for tried in found]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # finish what is in flight, then exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_nginx(folder: Path, backends: list[int], cert: Path, key: Path) -> Nginx:
    """nginx on free loopback ports (HTTP and HTTPS) in front of ``backends``."""
    folder.mkdir(parents=True, exist_ok=True)
    http_port, https_port = free_port(), free_port()
    site = folder / "facilitator.conf"
    site.write_text(
        render(SITE.read_text(), backends=backends, http_port=http_port, https_port=https_port,
               folder=folder, cert=cert, key=key)
    )  # fmt: skip
    conf = folder / "nginx.conf"
    conf.write_text(main_config(folder, site))
    with (folder / "stderr.log").open("w") as stderr:
        process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf),
             "-g", f"daemon off; pid {folder / 'nginx.pid'};"],
            stdout=subprocess.DEVNULL, stderr=stderr, text=True,
        )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = (folder / "stderr.log").read_text() + (folder / "error.log").read_text()
            raise RuntimeError(f"nginx did not start: {errors}")
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=0.5).close()
            return Nginx(folder, process, http_port, https_port, cert)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("nginx did not listen within 10 s")
