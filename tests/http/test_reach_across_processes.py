"""A facilitator's reach taken away in one process closes their consoles in every process (issue
15): two apps, each its own database connections and its own hub, linked through a real
redis-server as two ``serve`` processes are; the backbone's form goes to app A, the console is
held by app B. tests/scale runs the same through nginx with real processes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from facilitator.app import create_app
from facilitator.db import Database
from facilitator.flow import Role
from facilitator.http.common import AppState
from facilitator.live.envelope import control
from facilitator.live.redis_hub import RedisHub
from facilitator.live.rooms import PROCESSES, Connection
from facilitator.services import access
from facilitator.settings import Settings
from tests.support.meetings import new_meeting
from tests.support.redis_server import RedisServer
from tests.support.world import World

PASSWORD = "a long password"  # the world's staff's (tests/support/world.py)


@dataclass
class Process:
    """One app as a ``serve`` process runs it: its lifespan's state, and a client to it."""

    state: AppState
    client: httpx.AsyncClient


def _with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    # What a server hands each request after the lifespan (httpx's transport runs no lifespan).
    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    return served


@pytest.fixture
async def two(redis_server: RedisServer, db_url: str) -> AsyncIterator[tuple[Process, Process]]:
    settings_of = {"allowed_hosts": ("testserver",), "database_url": db_url}
    async with AsyncExitStack() as stack:
        processes = []
        for _ in range(2):
            app = create_app(Settings(broadcast_url=redis_server.url, **settings_of))
            state = await stack.enter_async_context(app.router.lifespan_context(app))
            assert state is not None
            transport = httpx.ASGITransport(app=_with_state(app, dict(state)))
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            stack.push_async_callback(client.aclose)
            processes.append(Process(state["app"], client))
        for process in processes:
            assert isinstance(process.state.live.hub, RedisHub)
            await asyncio.wait_for(process.state.live.hub.connected.wait(), 5)
        yield processes[0], processes[1]


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    answer = await client.post(
        "/login", data={"csrf": token.group(1), "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within time")


def _remove_from_group(world: World, user_id: int) -> tuple[str, dict[str, str]]:
    # The group's page: "remove" beside the facilitator.
    return f"/admin/groups/{world.group}/facilitators/{user_id}/remove", {}


def _staff_form_without_it(world: World, user_id: int) -> tuple[str, dict[str, str]]:
    # The staff page: the same role, and the group left unticked.
    return f"/admin/staff/{user_id}", {"role": "facilitator", f"group_{world.other_group}": "on"}


async def consoles_on_b(
    b: Process, db: Database, world: World
) -> tuple[access.StaffIdentity, Connection, Connection]:
    """The world's facilitator signed in, with a console open on process B in a meeting of each
    of their two groups (nginx sends each meeting to one process): the one that will be lost,
    and the one kept."""
    assert world.staff.user_id is not None
    fac = await access.staff_for(db, await access.start_session(db, world.staff.user_id))
    assert fac is not None
    lost = await new_meeting(db, world)
    kept = await new_meeting(db, world, group=world.other_group)
    goes, stays = (
        Connection(Role.FACILITATOR, fac.actor, "he", session_id=fac.session_id) for _ in "ab"
    )
    await b.state.live.enter(lost, goes)
    await b.state.live.enter(kept, stays)
    return fac, goes, stays


async def change_on_a(a: Process, path: str, fields: dict[str, str]) -> None:
    await sign_in(a.client, "bb@example.org")
    answer = await a.client.post(path, data={"csrf": a.client.cookies["fac_csrf"], **fields})
    assert answer.status_code == 303
    assert "error" not in answer.headers["location"]


@pytest.mark.parametrize("change", [_remove_from_group, _staff_form_without_it])
async def test_a_group_taken_away_on_a_closes_its_console_on_b(
    two: tuple[Process, Process],
    db: Database,
    world: World,
    change: Callable[[World, int], tuple[str, dict[str, str]]],
) -> None:
    a, b = two
    fac, goes, stays = await consoles_on_b(b, db, world)
    await change_on_a(a, *change(world, fac.user_id))
    await until(lambda: goes.closing is not None)
    assert goes.closing == 1008  # out of reach, as when it was never within it
    await asyncio.sleep(0.2)
    assert stays.closing is None  # the group still theirs keeps its console


async def test_a_bad_word_about_reach_is_logged_and_the_next_one_heard(
    two: tuple[Process, Process], db: Database, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = two
    fac, goes, stays = await consoles_on_b(b, db, world)
    # Another version's word, or a garbled one: each process logs it and listens on.
    for garbled in ("", "seven", "7 8"):
        await a.state.live.hub.publish(PROCESSES, control("reach_changed", garbled))
    await until(lambda: caplog.text.count("live.bad_control") >= 6)  # three words, two processes
    # Someone no longer anywhere: nothing to close, and nothing breaks.
    await a.state.live.reach_changed(10**9)
    await change_on_a(a, *_remove_from_group(world, fac.user_id))
    await until(lambda: goes.closing is not None)
    assert stays.closing is None
