"""The door of a real uvicorn process behind a trusted proxy (``X-Forwarded-For`` stands for the
phones' networks): a venue's typos lock no one out; a guesser's network is locked, held at the
meeting's door when it names the right code, shown on the console and let in; joins by name
keep their pace per address and per meeting, and returning phones are never counted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import (
    Client,
    Server,
    cookie_header,
    csrf_of,
    new_meeting,
    open_client,
    staff_client,
    start_server,
)

pytestmark = pytest.mark.slow

VENUE, GUESSER, SCRIPT, OTHER = "203.0.113.7", "198.51.100.9", "192.0.2.50", "192.0.2.99"


@pytest.fixture(scope="module")
def server(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder: Path = tmp_path_factory.mktemp("door")
    running = start_server(
        migrated_template,
        folder,
        extra_env={
            "FACILITATOR_TRUSTED_PROXIES": "127.0.0.1",
            "FACILITATOR_NAME_JOINS_PER_ADDRESS": "5/6",
            "FACILITATOR_NAME_JOINS_PER_MEETING": "9/6",
        },
    )
    try:
        yield running
    finally:
        running.stop()


def _from(address: str) -> dict[str, str]:
    return {"x-forwarded-for": address}


async def _held(console: Client, count: int) -> None:
    await console.expect(lambda m: m["type"] == "gates" and m["held"] == count, within=10)


async def test_the_door(server: Server) -> None:
    staff = await staff_client(server)
    meeting_id, code, _view = await new_meeting(server, staff)
    console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
    await console.expect(lambda m: m["type"] == "welcome")
    await _held(console, 0)
    wrong_codes = [c for c in (f"AAAA{a}{b}" for a in "CDEF" for b in "HJKMNPQR") if c != code]

    async with httpx.AsyncClient(base_url=server.base) as phones:

        async def join(address: str, **body: str) -> httpx.Response:
            return await phones.post(
                "/api/join", json={"code": code, **body}, headers=_from(address)
            )

        # A venue's typos, one of them many times: its right code still joins.
        for typo in ["CCCCCC"] * 25 + wrong_codes[:8]:
            answer = await phones.post(
                "/api/join",
                json={"code": typo, "name": "x", "organization": "y"},
                headers=_from(VENUE),
            )
            assert answer.status_code == 404
        venue = await join(VENUE, name="נועה מהאולם", organization="עמותת גשר")
        assert venue.status_code == 200, venue.text

        # A guesser's thirty different codes lock its network: the right code gets the wrong
        # one's answer, and holds the network at this meeting's door, on the console.
        for guess in wrong_codes[:30]:
            await phones.get(f"/api/join/{guess}/suggest", headers=_from(GUESSER))
        locked = await phones.get("/api/join/CCCCCC/suggest", headers=_from(GUESSER))
        held = await join(GUESSER, name="מנחש", organization="y")
        assert (locked.status_code, held.status_code) == (429, 429)
        assert locked.json() == held.json()
        assert held.json()["error"]["key"] == "join.locked"
        await _held(console, 1)
        # Other networks are not touched by it.
        assert (await join(OTHER, name="רחוק מכאן", organization="y")).status_code == 200

        # A phone cannot let anyone in; the facilitator can, and the console is told.
        bearer = {"authorization": f"Bearer {venue.json()['token']}"}
        refused = await phones.post(f"/api/m/{meeting_id}/let-in", headers=bearer)
        assert refused.status_code == 403
        let_in = await staff.post(
            f"/api/m/{meeting_id}/let-in", headers={"x-csrf-token": csrf_of(staff)}
        )
        assert let_in.json() == {"let_in": 1}
        await _held(console, 0)
        assert (await join(GUESSER, name="מנחש", organization="y")).status_code == 200
        other_code = await phones.get("/api/join/CCCCCC/suggest", headers=_from(GUESSER))
        assert other_code.status_code == 429

        # Joins by name keep a pace: five at once from one address, then told to wait.
        for n in range(5):
            assert (await join(SCRIPT, name=f"תסריט {n}", organization="z")).status_code == 200
        busy = await join(SCRIPT, name="תסריט 5", organization="z")
        assert busy.status_code == 429
        assert busy.json()["error"]["key"] == "join.busy"
        assert 1 <= busy.json()["error"]["retry_after"] <= 10
        assert busy.headers["retry-after"] == str(busy.json()["error"]["retry_after"])
        # ... and nine into the meeting from every address: this is the tenth (the venue, the
        # guesser, the other network and five of the script's were before it).
        assert (await join(VENUE, name="עוד אחת", organization="עמותת גשר")).status_code == 200
        full = await join(OTHER, name="עוד אחד", organization="y")
        assert (full.status_code, full.json()["error"]["key"]) == (429, "join.busy")
        # A returning phone, by its token, is never counted.
        for _ in range(10):
            back = await join(SCRIPT, token=venue.json()["token"])
            assert back.status_code == 200
    await staff.aclose()
