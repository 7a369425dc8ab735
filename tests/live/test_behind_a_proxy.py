"""Behind a reverse proxy, against real uvicorn processes: X-Forwarded-For is believed only
from the proxies named in FACILITATOR_TRUSTED_PROXIES, so a client cannot make itself a new
client to the limiters by sending one; from a named proxy each forwarded client is its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import Server, start_server

pytestmark = pytest.mark.slow


def _server(template: str, folder: Path, **env: str) -> Iterator[Server]:
    running = start_server(template, folder, extra_env=env)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def direct(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(migrated_template, tmp_path_factory.mktemp("direct"))


@pytest.fixture(scope="module")
def proxied(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("proxied")
    yield from _server(migrated_template, folder, FACILITATOR_TRUSTED_PROXIES="127.0.0.1")


async def _wrong_codes(server: Server, forwarded: list[str]) -> list[int]:
    """A different well-formed wrong code from each address in turn (30 lock an address)."""
    codes = [f"AAAA{a}{b}" for a in "CDEFHJ" for b in "KMNPQR"]
    async with httpx.AsyncClient(base_url=server.base) as client:
        return [
            (
                await client.post(
                    "/api/join",
                    json={"code": code, "name": "x", "organization": "y"},
                    headers={"X-Forwarded-For": address},
                )
            ).status_code
            for code, address in zip(codes, forwarded, strict=False)
        ]


async def test_a_forwarded_address_from_anyone_is_not_believed(direct: Server) -> None:
    answers = await _wrong_codes(direct, [f"203.0.113.{n}" for n in range(32)])
    assert answers[:30] == [404] * 30
    assert answers[30:] == [429, 429]
    direct.log_file.flush()
    said = [line for line in direct.log.read_text().splitlines() if "X-Forwarded-For" in line]
    assert len(said) == 1  # once, naming the setting
    assert "FACILITATOR_TRUSTED_PROXIES" in said[0]


async def test_a_named_proxys_clients_are_each_their_own(proxied: Server) -> None:
    answers = await _wrong_codes(proxied, ["198.51.100.7"] * 31 + ["198.51.100.8"])
    assert answers[:30] == [404] * 30
    assert answers[30] == 429
    assert answers[31] == 404  # another client behind the same proxy is not locked out
