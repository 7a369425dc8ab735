"""A staff session is one across the processes: signing out on A closes its console on B, so
does taking the console's group away from the facilitator on A, and the sign-in limits count
the attempts made on both."""

from __future__ import annotations

import re

import httpx
import pytest

from facilitator.db import Database
from facilitator.services import users
from tests.support.cluster import Cluster
from tests.support.live_server import (
    PASSWORD,
    cookie_header,
    csrf_of,
    new_meeting,
    open_client,
    staff_client,
)
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


async def test_a_group_taken_away_on_a_closes_its_console_on_b(cluster: Cluster) -> None:
    staff = await staff_client(cluster.front)
    lost, _code, _view = await new_meeting(cluster.front, staff, "הקבוצה שנלקחת")
    kept, _code, _view = await new_meeting(cluster.front, staff, "הקבוצה שנשארת")
    group = (await staff.get(f"/api/m/{lost}/snapshot")).json()["meeting"]["group_id"]
    goes = await open_client(cluster.b, lost, "console", {}, cookie=cookie_header(staff))
    stays = await open_client(cluster.b, kept, "console", {}, cookie=cookie_header(staff))
    for console in (goes, stays):
        await console.expect(lambda m: m["type"] == "welcome")
    backbone = await _backbone(cluster)
    listed = (await backbone.get("/api/admin/staff")).json()["staff"]
    [fac] = [p for p in listed if p["email"] == cluster.seeded.staff_email]
    async with httpx.AsyncClient(base_url=cluster.a.base, headers=staff_headers(backbone)) as a:
        off = await a.post(
            f"/admin/groups/{group}/facilitators/{fac['id']}/remove",
            data={"csrf": csrf_of(backbone)},
        )
    assert off.status_code == 303
    assert "error" not in off.headers["location"]
    assert await goes.close_code(within=10) == 1008
    await stays.send({"type": "ping", "id": "still-here"})
    await stays.expect(lambda m: m["type"] == "pong")
    await staff.aclose()
    await backbone.aclose()


async def _backbone(cluster: Cluster) -> httpx.AsyncClient:
    """A backbone member signed in through nginx."""
    db = Database(cluster.db_url)
    try:
        await users.create_user(db, cluster.seeded.network, "bb@example.org", PASSWORD,
                                name="שדרה", role="backbone")  # fmt: skip
    finally:
        await db.dispose()
    client = httpx.AsyncClient(base_url=cluster.front.base)
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    answer = await client.post(
        "/login", data={"csrf": token.group(1), "email": "bb@example.org", "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text
    return client


async def test_sign_in_limits_count_the_attempts_on_both_processes(cluster: Cluster) -> None:
    db_email = "limits@example.org"
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
