"""The server's log lines are structured: each names its request or socket, its meeting, and for
a refused or failed command the command and the sender's role — read from a real server's log."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.support.live_server import (
    Server,
    cookie_header,
    join_phone,
    new_meeting,
    open_client,
    staff_client,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_log_level() -> str:
    return "info"  # the lines read here are written at info


def lines_with(server: Server, needle: str, within: float = 5) -> list[str]:
    """The log's lines that contain ``needle`` (waiting a moment: the server writes after it
    answers)."""
    deadline = time.monotonic() + within
    while True:
        server.log_file.flush()
        found = [line for line in server.log.read_text().splitlines() if needle in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


async def test_a_request_is_named_in_its_access_line_and_its_answer(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base) as client:
        given = await client.get("/healthz", headers={"X-Request-ID": "proxy-id-42"})
        made = await client.get("/login")
        odd = await client.get("/healthz", headers={"X-Request-ID": 'bad id =x "quoted"'})
    assert given.headers["x-request-id"] == "proxy-id-42"
    assert re.fullmatch(r"[0-9a-f]{16}", made.headers["x-request-id"])
    # A header that is no sane id is not trusted (it would forge log fields): ours replaces it.
    assert re.fullmatch(r"[0-9a-f]{16}", odd.headers["x-request-id"])
    (access,) = lines_with(server, "request_id=proxy-id-42")
    assert "logger=uvicorn.access" in access
    assert "/healthz" in access
    assert lines_with(server, f"request_id={made.headers['x-request-id']}")


async def test_a_refused_command_names_its_type_role_meeting_and_socket(server: Server) -> None:
    staff = await staff_client(server)
    try:
        meeting_id, code, _view = await new_meeting(server, staff, "מפגש ביומן")
        console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
        await console.expect(lambda m: m["type"] == "welcome")
        token, _person = await join_phone(server, code, "דנה יומן")
        phone = await open_client(server, meeting_id, "phone", {"token": token})
        await phone.expect(lambda m: m["type"] == "welcome")
        refused = await phone.command("start")  # only a facilitator starts a meeting
        assert refused["type"] == "error"
    finally:
        await staff.aclose()
    (line,) = lines_with(server, 'msg="command refused"')
    fields = dict(re.findall(r"(\w+)=(\"[^\"]*\"|\S+)", line))
    assert fields["command"] == "start"
    assert fields["role"] == "participant"
    assert fields["meeting"] == str(meeting_id)
    assert fields["key"] == "role.forbidden"
    assert re.fullmatch(r"[0-9a-f]{16}", fields["connection"])


async def test_no_log_line_carries_a_secret_from_a_url(server: Server) -> None:
    """The projector's view token, feed tokens and the setup, invitation, reset, personal and
    unsubscribe links are secrets: the access lines keep the route, never the token."""
    secret = "S3cretTok3n_" + "x" * 30
    paths = [
        f"/m/1/projector?view={secret}",
        f"/api/m/1/state?lang=en&view={secret}",
        f"/feeds/{secret}.ics",
        f"/setup/{secret}",
        f"/invite/{secret}",
        f"/reset/{secret}",
        f"/me/{secret}",
        f"/mail/off/{secret}",
        f"/join?token={secret}",
    ]
    async with httpx.AsyncClient(base_url=server.base) as client:
        for path in paths:
            await client.get(path, headers={"X-Request-ID": "secret-check"})
    logged = lines_with(server, "request_id=secret-check")
    assert len(logged) >= len(paths)
    assert not [line for line in server.log.read_text().splitlines() if secret in line]
    for route in (
        "/feeds/[redacted].ics",
        "/invite/[redacted]",
        "projector?view=[redacted]",
        "/mail/off/[redacted]",
    ):
        assert any(route in line for line in logged), route
