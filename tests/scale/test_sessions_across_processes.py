"""A staff session is one across the processes: signing out on A closes its console on B, and
the sign-in limits count the attempts made on both."""

from __future__ import annotations

import httpx
import pytest

from facilitator.services import users
from tests.support.cluster import Cluster
from tests.support.live_server import cookie_header, csrf_of, new_meeting, open_client, staff_client
from tests.support.room_log import staff_headers

pytestmark = pytest.mark.slow


async def test_signing_out_on_a_closes_the_sessions_console_on_b(cluster: Cluster) -> None:
    staff = await staff_client(cluster.front)
    meeting_id, _code, _view = await new_meeting(cluster.front, staff, "יציאה")
    console = await open_client(cluster.b, meeting_id, "console", {}, cookie=cookie_header(staff))
    assert (await console.expect(lambda m: m["type"] == "welcome"))["role"] == "facilitator"
    async with httpx.AsyncClient(base_url=cluster.a.base, headers=staff_headers(staff)) as a:
        out = await a.post("/logout", data={"csrf": csrf_of(staff)})
    assert out.status_code == 303
    assert await console.close_code(within=10) == 4401
    await staff.aclose()


async def test_sign_in_limits_count_the_attempts_on_both_processes(cluster: Cluster) -> None:
    db_email = "limits@example.org"
    from facilitator.db import Database

    db = Database(cluster.db_url)
    try:
        await users.create_user(db, cluster.seeded.network, db_email, "a long right password",
                                name="מוגבל", role="facilitator")  # fmt: skip
    finally:
        await db.dispose()
    answers = []
    for attempt in range(12):
        server = cluster.a if attempt % 2 else cluster.b
        async with httpx.AsyncClient(base_url=server.base) as client:
            page = await client.get("/login")
            # A different client each time (the processes believe 127.0.0.1's X-Forwarded-For):
            # only the account's limit, 10 a minute, can refuse.
            # The cookie is Secure (the public address is https): sent by hand over plain HTTP.
            csrf = client.cookies["fac_csrf"]
            answer = await client.post(
                "/login",
                data={"csrf": csrf, "email": db_email, "password": "wrong one!"},
                headers={"x-forwarded-for": f"198.51.100.{attempt + 1}",
                         "cookie": f"fac_csrf={csrf}"},
            )  # fmt: skip
            assert page.status_code == 200
            answers.append(answer.status_code)
    assert answers == [401] * 10 + [429, 429]
