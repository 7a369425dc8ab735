"""A whole meeting held by two processes sharing rooms through Redis: the console on A, the
projector on B, fifty phones spread over both; every screen sees every event in order, and the
tally is right."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta

import pytest

from tests.support.cluster import Cluster
from tests.support.live_server import (
    Client,
    cookie_header,
    join_phone,
    new_meeting,
    open_client,
    staff_client,
)
from tests.support.room_log import assert_saw_the_log, meeting_log

pytestmark = pytest.mark.slow

PHONES = 50


async def test_fifty_phones_on_two_processes_run_a_whole_meeting(cluster: Cluster) -> None:
    staff = await staff_client(cluster.front)
    meeting_id, code, view = await new_meeting(cluster.front, staff, "חמישים טלפונים")
    console = await open_client(cluster.a, meeting_id, "console", {}, cookie=cookie_header(staff))
    wall = await open_client(cluster.b, meeting_id, "projector", {"view": view})
    welcome = await console.expect(lambda m: m["type"] == "welcome")
    await wall.expect(lambda m: m["type"] == "welcome")
    blockers = [b["id"] for b in welcome["snapshot"]["blockers"]]

    tokens = [
        (await join_phone(cluster.front, code, f"טלפון {n}"))[0] for n in range(PHONES)
    ]  # fmt: skip
    phones: list[Client] = []
    for n, token in enumerate(tokens):
        phones.append(
            await open_client(cluster.a if n % 2 else cluster.b, meeting_id, "phone", {"token": token})
        )  # fmt: skip
    for phone in phones:
        await phone.expect(lambda m: m["type"] == "welcome", within=20)

    assert (await console.command("start"))["type"] == "ack"
    assert (await console.command("move", stage="opener"))["type"] == "ack"
    for phone in phones:
        await phone.expect(lambda m: m.get("event") == "stage_changed"
                           and m["payload"]["stage"] == "opener", within=10)  # fmt: skip
    picks = [[blockers[n % 3]] + ([blockers[5]] if n % 4 == 0 else []) for n in range(PHONES)]
    acks = await asyncio.gather(
        *(phone.command("respond_opener", blockers=p) for phone, p in zip(phones, picks, strict=True))
    )  # fmt: skip
    assert {a["type"] for a in acks} == {"ack"}
    expected = {str(b): n for b, n in Counter(b for p in picks for b in p).items()}
    for screen in (wall, console):
        await screen.expect(
            lambda m: m["type"] == "tally" and m["tally"] == expected and m["respondents"] == PHONES,
            within=15,
        )  # fmt: skip

    await console.command("move", stage="agenda")
    item = welcome["snapshot"]["agenda"][0]["id"]
    assert (await console.command("focus_item", item_id=item))["type"] == "ack"
    await console.command("record_decision", item_id=item, text="מחליטים יחד")
    await console.command("move", stage="commitments")
    due = (date.today() + timedelta(days=14)).isoformat()
    for phone in phones[:4]:
        assert (await phone.command("propose", text="אעשה", due=due))["type"] == "ack"
    for _ in range(4):
        proposed = await console.event("commitment_proposed", within=10)
        confirmed = await console.command(
            "confirm", commitment_id=proposed["payload"]["commitment"]["id"]
        )
        assert confirmed["type"] == "ack"
    assert (await console.command("close"))["type"] == "ack"
    for screen in [console, wall, *phones]:
        closed = await screen.event("meeting_closed", within=15)
        assert closed["payload"]["commitments"] == 4

    log = await meeting_log(cluster.db_url, meeting_id)
    assert log[-1][1] == "meeting_closed"
    assert_saw_the_log(console, log, phone=False)
    assert_saw_the_log(wall, log, phone=False)
    for phone in phones:
        assert_saw_the_log(phone, log, phone=True)
    await staff.aclose()
