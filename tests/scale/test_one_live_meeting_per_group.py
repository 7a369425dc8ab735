"""Two meetings of one group started at the same moment, one on each process: exactly one
starts (the database holds one live meeting per group, not a check that both pass)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import Meeting
from facilitator.services import network
from tests.support.cluster import Cluster
from tests.support.live_server import new_meeting, staff_client
from tests.support.room_log import post_command

pytestmark = pytest.mark.slow


async def test_two_starts_of_one_group_at_once_one_succeeds(cluster: Cluster) -> None:
    staff = await staff_client(cluster.front)
    db = Database(cluster.db_url)
    try:
        for round_ in range(5):
            group = await network.add_group(db, cluster.seeded.network, f"מרוץ {round_}", "forum")
            await _assign(db, cluster, group)
            first, _c1, _v1 = await new_meeting(cluster.front, staff, f"ראשונה {round_}", group)
            second, _c2, _v2 = await new_meeting(cluster.front, staff, f"שנייה {round_}", group)
            answers = await asyncio.gather(
                post_command(cluster.a, staff, first, {"type": "start", "id": f"s{round_}a"}),
                post_command(cluster.b, staff, second, {"type": "start", "id": f"s{round_}b"}),
            )
            assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
            [refused] = [a.json()["error"] for a in answers if a.status_code == 409]
            assert refused["key"] == "flow.group_busy"
            async with db.read() as session:
                live = await session.scalar(
                    select(func.count()).where(
                        Meeting.group_id == group, Meeting.stage.not_in(("lobby", "closed"))
                    )
                )
            assert live == 1
    finally:
        await db.dispose()
        await staff.aclose()


async def _assign(db: Database, cluster: Cluster, group: int) -> None:
    from facilitator.db.models import StaffUser

    async with db.read() as session:
        facilitator = await session.scalar(
            select(StaffUser.id).where(StaffUser.email == cluster.seeded.staff_email)
        )
    assert facilitator is not None
    await network.assign_staff(db, group, facilitator)
