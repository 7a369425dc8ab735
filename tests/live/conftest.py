"""Fixtures of the live tier: a real server per test module, a signed-in facilitator, and every
socket a test opened closed after it (even when it failed half-way)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.imap_box import ImapBox
from tests.support.inbox import Inbox
from tests.support.live_server import Server, close_all_clients, staff_client, start_server


@pytest.fixture(scope="module")
def server_log_level() -> str:
    """How much the module's server writes to its log (a module that reads it asks for more)."""
    return "warning"


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
    server_log_level: str,
) -> Iterator[Server]:
    """A real uvicorn process on its own copy of the seeded database, for one test module."""
    folder = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    running = start_server(migrated_template, folder, log_level=server_log_level)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await close_all_clients()


@pytest.fixture
async def staff(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client signed in as the seeded facilitator."""
    client = await staff_client(server)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""
    server = Inbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def imap() -> Iterator[ImapBox]:
    """A real IMAP mailbox (Dovecot) to read bounce reports from."""
    box = ImapBox()
    box.start()
    yield box
    box.stop()
