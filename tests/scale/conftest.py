"""Fixtures of the scale tier: per test module, a fresh PostgreSQL database, a real
``redis-server``, two ``facilitator serve`` processes (A and B) and nginx with TLS in front of
both, running deploy/nginx.conf. ``make test-scale`` installs what they need."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, migrated_database, start_cluster, stop_cluster
from tests.support.live_server import close_all_clients
from tests.support.nginx_front import NGINX, self_signed
from tests.support.postgres_db import drop_database
from tests.support.redis_server import redis_or_skip
from tests.support.world import POSTGRES

pytestmark = pytest.mark.slow


def _missing(why: str) -> None:
    """On CI (where `make test-scale` installs everything) a failure, elsewhere a skip."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    if not POSTGRES:
        _missing("FACILITATOR_TEST_POSTGRES is not set: run `make test-scale`")
    if not Path(NGINX).exists():
        _missing("nginx is missing: `make test-scale` installs it (scripts/scale-deps)")
    redis_or_skip()
    return POSTGRES


@pytest.fixture(scope="session")
def migrated(postgres_admin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database migrated by ``facilitator migrate`` for the run; each module a copy."""
    url = migrated_database(postgres_admin, tmp_path_factory.mktemp("migrate"))
    yield url
    drop_database(postgres_admin, url)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """One self-signed certificate for nginx, which this test process's clients (httpx and
    websockets both read ``SSL_CERT_FILE``) trust and nothing else does."""
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    before = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(cert)
    yield cert, key
    if before is None:
        del os.environ["SSL_CERT_FILE"]
    else:
        os.environ["SSL_CERT_FILE"] = before


@pytest.fixture(scope="module")
def shared_hub() -> bool:
    """Whether the module's processes share rooms through Redis (a module may say no)."""
    return True


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_admin: str,
    migrated: str,
    certificate: tuple[Path, Path],
    shared_hub: bool,
) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    running = start_cluster(folder, postgres_admin, migrated, *certificate, redis=shared_hub)
    try:
        yield running
    finally:
        stop_cluster(running, postgres_admin)


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await close_all_clients()
