"""A sender's limits are its own, however it talks: one message budget across all its sockets
and the HTTP command API, and a cap on the sockets it holds open, for a phone and for a staff
session alike (against a real server)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from facilitator.http.security import CSRF_HEADER
from tests.support.live_server import (
    Client,
    Server,
    cookie_header,
    csrf_of,
    join_phone,
    new_meeting,
    open_client,
)

pytestmark = pytest.mark.slow


async def _held(server: Server, meeting_id: int, token: str) -> tuple[bool, int | None]:
    """Open a socket as the phone: (welcomed, the close code when refused)."""
    ws = await connect(f"{server.ws_base}/ws/m/{meeting_id}?face=phone", compression=None)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "welcome":
                _HELD.append(ws)
                return True, None
    except ConnectionClosed as closed:
        return False, closed.rcvd.code if closed.rcvd else None


_HELD: list[object] = []


async def test_one_token_holds_a_few_sockets_not_thirty(
    server: Server, staff: httpx.AsyncClient
) -> None:
    meeting_id, code, _view = await new_meeting(server, staff, "שלושים שקעים")
    token, _person = await join_phone(server, code, "פותח שקעים")
    try:
        opened = await asyncio.gather(*(_held(server, meeting_id, token) for _ in range(30)))
        welcomed = [ok for ok, _code in opened if ok]
        assert len(welcomed) == 5
        assert {code for ok, code in opened if not ok} == {4429}
        # Another phone is not touched by this one's cap.
        other, _ = await join_phone(server, code, "טלפון אחר")
        assert (await _held(server, meeting_id, other))[0]
    finally:
        for ws in _HELD:
            await ws.close()  # type: ignore[attr-defined]
        _HELD.clear()


async def test_posting_commands_spends_the_same_budget_as_the_socket(
    server: Server, staff: httpx.AsyncClient
) -> None:
    meeting_id, code, _view = await new_meeting(server, staff, "תקציב אחד")
    token, _person = await join_phone(server, code, "שולח הרבה")
    bearer = {"authorization": f"Bearer {token}"}
    propose = {"type": "propose", "text": "x", "due": "2030-01-01"}
    async with httpx.AsyncClient(base_url=server.base, headers=bearer) as client:
        await _spend(client, f"/api/m/{meeting_id}/commands", propose, 60, burst=20, per_second=2)
    # The phone's socket finds the budget spent too.
    await _finds_it_spent(await open_client(server, meeting_id, "phone", {"token": token}), 15)


async def _spend(
    client: httpx.AsyncClient,
    path: str,
    command: dict[str, str],
    times: int,
    *,
    burst: int,
    per_second: float,
    spent_before: int = 0,
    headers: dict[str, str] | None = None,
) -> None:
    """Post ``command`` ``times`` times: the whole burst is taken (less what the sender's
    sockets spent before), then only what refilled while posting, however slow the machine."""

    async def post(n: int) -> int:
        answer = await client.post(path, json={**command, "id": f"b{n}"}, headers=headers)
        return answer.status_code

    # All at once: one by one, a slow machine posts no faster than the budget refills.
    started = time.monotonic()
    answers = await asyncio.gather(*(post(n) for n in range(times)))
    elapsed = time.monotonic() - started
    accepted = sum(status != 429 for status in answers)
    most = burst + per_second * elapsed + 1
    assert burst - spent_before <= accepted <= most, (accepted, elapsed)
    assert 429 in answers


async def _finds_it_spent(client: Client, pings: int) -> None:
    # Fewer pings than a budget of its own would take whole, sent at once (one by one, a slow
    # round trip would let the shared budget refill as fast as they spend it): some refused.
    for _ in range(pings):
        await client.send({"type": "ping"})
    seen: list[tuple[str, str | None]] = []
    try:
        for _ in range(pings):
            reply = await client.expect(lambda m: m["type"] in ("pong", "error"))
            seen.append((reply["type"], reply.get("key")))
    except ConnectionClosed as closed:  # refused over and over: closed for it
        seen.append(("closed", str(closed.rcvd.code if closed.rcvd else None)))
    assert ("error", "msg.rate_limited") in seen or ("closed", "1008") in seen, seen


async def _welcomed(client: Client) -> tuple[bool, int | None]:
    try:
        await client.expect(lambda m: m["type"] == "welcome", within=10)
    except ConnectionClosed as closed:
        return False, closed.rcvd.code if closed.rcvd else None
    return True, None


async def test_a_staff_session_has_one_budget_and_a_cap_on_its_consoles(
    server: Server, staff: httpx.AsyncClient
) -> None:
    """Last in the module: it spends the module's staff session's budget."""
    meeting_id, _code, _view = await new_meeting(server, staff, "מסוף אחד")
    cookie = cookie_header(staff)
    consoles = [
        await open_client(server, meeting_id, "console", {}, cookie=cookie) for _ in range(24)
    ]
    opened = [await _welcomed(console) for console in consoles]
    assert sum(ok for ok, _code in opened) == 20
    assert {code for ok, code in opened if not ok} == {4429}

    # Commands posted by the same session spend the budget its consoles send from.
    headers = {CSRF_HEADER: csrf_of(staff)}
    path, pause = f"/api/m/{meeting_id}/commands", {"type": "pause"}
    # Each console's hello was a message from the session too.
    await _spend(staff, path, pause, 90, burst=60, per_second=10, spent_before=len(consoles),
                 headers=headers)  # fmt: skip
    console = next(c for c, (ok, _code) in zip(consoles, opened, strict=True) if ok)
    await _finds_it_spent(console, 40)
