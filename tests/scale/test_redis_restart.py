"""Redis stops mid-meeting and comes back: what the console on A did meanwhile reaches the
projector and the phones on B from the meeting's log, in order, with no gap."""

from __future__ import annotations

import pytest

from tests.support.cluster import Cluster
from tests.support.live_server import (
    cookie_header,
    join_phone,
    new_meeting,
    open_client,
    staff_client,
)
from tests.support.room_log import assert_saw_the_log, meeting_log

pytestmark = pytest.mark.slow


async def test_rooms_catch_up_from_the_database_after_redis_restarts(cluster: Cluster) -> None:
    assert cluster.redis is not None
    staff = await staff_client(cluster.front)
    meeting_id, code, view = await new_meeting(cluster.front, staff, "רדיס נופל")
    console = await open_client(cluster.a, meeting_id, "console", {}, cookie=cookie_header(staff))
    wall = await open_client(cluster.b, meeting_id, "projector", {"view": view})
    welcome = await console.expect(lambda m: m["type"] == "welcome")
    await wall.expect(lambda m: m["type"] == "welcome")
    token, _person = await join_phone(cluster.front, code, "טלפון על ב")
    phone = await open_client(cluster.b, meeting_id, "phone", {"token": token})
    await phone.expect(lambda m: m["type"] == "welcome")
    await console.command("start")
    await wall.event("stage_changed")

    cluster.redis.stop()
    item = welcome["snapshot"]["agenda"][0]["id"]
    for command in (
        {"stage": "opener"},
        {"stage": "agenda"},
    ):
        assert (await console.command("move", **command))["type"] == "ack"
    assert (await console.command("focus_item", item_id=item))["type"] == "ack"
    cluster.redis.start()

    focus = await wall.event("agenda_focus", within=20)
    assert focus["payload"]["item_id"] == item
    await phone.event("agenda_focus", within=20)
    # And the hub carries what comes after.
    await console.command("record_decision", item_id=item, text="אחרי החזרה")
    await wall.event("decision_recorded", within=10)
    await phone.event("decision_recorded", within=10)
    log = await meeting_log(cluster.db_url, meeting_id)
    assert_saw_the_log(wall, log, phone=False)
    assert_saw_the_log(phone, log, phone=True)
    await staff.aclose()
