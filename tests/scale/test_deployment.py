"""The deployment itself, with each process on its own memory hub (no Redis): nginx running
deploy/nginx.conf terminates TLS, sends HTTP to HTTPS, passes the client and the scheme on,
upgrades sockets, keeps a meeting's sockets on one process, spreads the rest, and goes to the
other process when one is down."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.support.cluster import Cluster
from tests.support.live_server import cookie_header, new_meeting, open_client, staff_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_hub() -> bool:
    return False


async def _logged(cluster: Cluster, path: str, count: int) -> list[str]:
    """The processes of the first ``count`` requests for ``path`` in nginx's log (a socket's
    line is written when it closes)."""
    deadline = time.monotonic() + 10
    while len(found := cluster.nginx.upstreams_of(path)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"nginx logged {found} for {path}")
        await asyncio.sleep(0.1)
    return [cluster.process_of(upstream) for upstream in found[:count]]


async def test_pages_come_over_tls_from_either_process(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.front.base) as client:
        answers = [await client.get("/login") for _ in range(6)]
    assert {a.status_code for a in answers} == {200}
    page = answers[0]
    # The app was told the scheme was https: its cookies are Secure and HSTS is sent.
    assert "secure" in page.headers["set-cookie"].lower()
    assert "max-age" in page.headers["strict-transport-security"]
    # nginx's request id is the app's (one id in both logs).
    assert len(page.headers["x-request-id"]) == 32
    assert set(await _logged(cluster, "/login", 6)) == {"A", "B"}


async def test_plain_http_is_sent_to_https(cluster: Cluster) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{cluster.nginx.http_port}/m/1/console?x=1")
    assert answer.status_code == 308
    assert answer.headers["location"] == "https://127.0.0.1/m/1/console?x=1"


async def test_a_body_no_path_takes_is_stopped_at_nginx(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.front.base) as client:
        too_big = await client.post("/api/join", content=b"x" * (5 * 1024 * 1024))
        app_sized = await client.post("/api/join", content=b"x" * (100 * 1024))
    assert too_big.status_code == 413
    assert "nginx" in too_big.text
    assert app_sized.status_code == 413  # the app's own 64 KiB limit
    assert "nginx" not in app_sized.text


async def test_a_meetings_sockets_and_commands_stay_on_one_process(cluster: Cluster) -> None:
    staff = await staff_client(cluster.front)
    try:
        meetings = [await new_meeting(cluster.front, staff, f"ניתוב {n}") for n in range(10)]
        for meeting_id, _code, view in meetings:
            for _ in range(2):
                wall = await open_client(cluster.front, meeting_id, "projector", {"view": view})
                assert (await wall.expect(lambda m: m["type"] == "welcome"))["role"] == "projector"
                await wall.ws.close()
            await staff.get(f"/api/m/{meeting_id}/snapshot")
        console = await open_client(
            cluster.front, meetings[0][0], "console", {}, cookie=cookie_header(staff)
        )
        assert (await console.expect(lambda m: m["type"] == "welcome"))["role"] == "facilitator"
        await console.ws.close()
    finally:
        await staff.aclose()
    homes = []
    for meeting_id, _code, _view in meetings:
        sockets = await _logged(cluster, f"/ws/m/{meeting_id}", 2)
        [snapshot] = await _logged(cluster, f"/api/m/{meeting_id}/snapshot", 1)
        assert sockets == [snapshot, snapshot], meeting_id
        homes.append(snapshot)
    assert set(homes) == {"A", "B"}  # ten meetings all on one process: 1 in 512 by chance
    assert (await _logged(cluster, f"/ws/m/{meetings[0][0]}", 3))[2] == homes[0]


async def test_the_backbone_is_served_by_the_reports_process(cluster: Cluster) -> None:
    # B stands for deploy/nginx.conf's reports process here (it holds rooms too).
    async with httpx.AsyncClient(base_url=cluster.front.base) as client:
        for _ in range(3):
            assert (await client.get("/backbone")).status_code in (303, 302)
            assert (await client.get("/api/backbone/carryover")).status_code == 403  # not signed in
    assert await _logged(cluster, "/backbone", 3) == ["B"] * 3
    assert await _logged(cluster, "/api/backbone/carryover", 3) == ["B"] * 3


async def test_when_a_process_is_down_the_other_answers(cluster: Cluster) -> None:
    staff = await staff_client(cluster.front)
    try:
        meetings = [await new_meeting(cluster.front, staff, f"נפילה {n}") for n in range(6)]
        cluster.kill(cluster.b)
        try:
            async with httpx.AsyncClient(base_url=cluster.front.base) as client:
                pages = [(await client.get("/login")).status_code for _ in range(6)]
                reports = (await client.get("/backbone/attendance")).status_code
            assert pages == [200] * 6
            assert reports in (303, 302)  # from A, the reports' stand-in
            for meeting_id, _code, view in meetings:
                wall = await open_client(cluster.front, meeting_id, "projector", {"view": view})
                assert (await wall.expect(lambda m: m["type"] == "welcome"))["role"] == "projector"
                await wall.ws.close()
        finally:
            cluster.restart(cluster.b)
    finally:
        await staff.aclose()
    served = [(await _logged(cluster, f"/ws/m/{m}", 1))[0] for m, _c, _v in meetings]
    assert served == ["A"] * 6
    assert await _logged(cluster, "/backbone/attendance", 1) == ["A"]
