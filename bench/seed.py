"""A room ready for N phones: a meeting in the opener, N people who joined, each with a token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert

from facilitator.db import Database
from facilitator.db.models import Attendance, ParticipantToken, Person
from facilitator.flow import Stage
from facilitator.services import access, lifecycle, network, state, users
from facilitator.services.actors import Actor


@dataclass
class Room:
    meeting_id: int
    tokens: list[str]
    session_cookie: str
    blockers: list[int]
    people: list[int]  # the person behind each token, in the same order


async def seed_room(db_url: str, phones: int) -> Room:
    db = Database(db_url)
    try:
        nid = await network.create_network(db, "Benchmark network", language="en", timezone="UTC")
        await network.add_value(
            db,
            nid,
            network.ValueWords(title_en="Transparency", behaviours_en=["We decide in the room"]),
        )
        group = await network.add_group(db, nid, "Forum", "forum")
        uid = await users.create_user(db, nid, "bench@example.org", "benchmark password", name="B")
        await network.assign_staff(db, group, uid)  # a facilitator runs their own groups only
        staff = Actor.staff(uid)
        today = datetime.now(UTC).date()
        mid = (
            await lifecycle.create_meeting(db, staff, group, "Annual forum", today)
        ).event.meeting_id
        await lifecycle.start(db, mid, staff)
        await lifecycle.move(db, mid, staff, Stage.OPENER)
        org = await network.add_organization(db, nid, "Org", "nonprofit")
        tokens = [secrets.token_urlsafe(32) for _ in range(phones)]
        now = datetime.now(UTC)
        async with db.write() as session:
            result = await session.execute(
                insert(Person).returning(Person.id),
                [
                    {
                        "network_id": nid,
                        "organization_id": org,
                        "name": f"Phone {n}",
                        "name_key": f"phone {n}",
                        "created_at": now,
                    }
                    for n in range(phones)
                ],
            )
            people = [row[0] for row in result]
            await session.execute(
                insert(ParticipantToken),
                [
                    {"token_hash": access.digest(t), "person_id": p, "created_at": now}
                    for t, p in zip(tokens, people, strict=True)
                ],
            )
            await session.execute(
                insert(Attendance),
                [{"meeting_id": mid, "person_id": p, "joined_at": now} for p in people],
            )
        cookie = await access.start_session(db, uid)
        blockers = [b["id"] for b in (await state.snapshot(db, mid))["blockers"]]
        return Room(mid, tokens, cookie, blockers, people)
    finally:
        await db.dispose()
