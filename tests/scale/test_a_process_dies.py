"""Process B dies mid-opener (SIGKILL: no goodbye to anyone): its phones come back through
nginx to A, resend what was never acknowledged, and end with exactly their answers; nothing
acknowledged is lost, and the projector on A shows the tally of every answer."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import OpenerResponse
from tests.support.cluster import Cluster
from tests.support.live_server import (
    Client,
    cookie_header,
    join_phone,
    new_meeting,
    open_client,
    staff_client,
)

pytestmark = pytest.mark.slow

PHONES = 12


async def _answers(db_url: str, meeting_id: int) -> dict[int, set[int]]:
    db = Database(db_url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                select(OpenerResponse.person_id, OpenerResponse.blocker_id).where(
                    OpenerResponse.meeting_id == meeting_id
                )
            )
            found: dict[int, set[int]] = {}
            for person, blocker in rows:
                found.setdefault(person, set()).add(blocker)
            return found
    finally:
        await db.dispose()


async def test_phones_of_a_dead_process_end_with_exactly_their_answers(cluster: Cluster) -> None:
    staff = await staff_client(cluster.front)
    meeting_id, code, view = await new_meeting(cluster.front, staff, "תהליך נופל")
    console = await open_client(cluster.a, meeting_id, "console", {}, cookie=cookie_header(staff))
    wall = await open_client(cluster.a, meeting_id, "projector", {"view": view})
    welcome = await console.expect(lambda m: m["type"] == "welcome")
    blockers = [b["id"] for b in welcome["snapshot"]["blockers"]]
    joined = [await join_phone(cluster.front, code, f"שורד {n}") for n in range(PHONES)]
    on_b = [n % 2 == 1 for n in range(PHONES)]
    phones: list[Client] = []
    for (token, _person), b in zip(joined, on_b, strict=True):
        phone = await open_client(
            cluster.b if b else cluster.a, meeting_id, "phone", {"token": token}
        )
        await phone.expect(lambda m: m["type"] == "welcome", within=10)
        phones.append(phone)
    await console.command("start")
    await console.command("move", stage="opener")
    for phone in phones:
        await phone.expect(lambda m: m.get("event") == "stage_changed"
                           and m["payload"]["stage"] == "opener", within=10)  # fmt: skip

    first = [[blockers[n % 4]] for n in range(PHONES)]
    for phone, picks in zip(phones, first, strict=True):
        assert (await phone.command("respond_opener", msg_id=f"first-{id(phone)}", blockers=picks))[
            "type"
        ] == "ack"
    # B's phones change their answers and B dies before (or while) it answers.
    second = {n: [blockers[6], blockers[7]] for n in range(PHONES) if on_b[n]}
    for n, picks in second.items():
        await phones[n].send({"type": "respond_opener", "id": f"second-{n}", "blockers": picks})
    cluster.kill(cluster.b)

    for n, picks in second.items():
        old = phones[n]
        await old.close_code(within=10)  # the socket to B is gone (TimeoutError if not)
        seen = max((m.get("seq", 0) for m in old.inbox if m["type"] in ("event", "ack")), default=0)
        back = await open_client(cluster.front, meeting_id, "phone",
                                 {"token": joined[n][0], "last_seq": seen})  # fmt: skip
        await back.expect(lambda m: m["type"] == "welcome", within=10)
        # The phone's outbox resends what was not acknowledged, with the same id.
        resent = await back.command("respond_opener", msg_id=f"second-{n}", blockers=picks)
        assert resent["type"] == "ack"
        phones[n] = back

    final = [second.get(n, first[n]) for n in range(PHONES)]
    answers = await _answers(cluster.db_url, meeting_id)
    assert answers == {joined[n][1]["id"]: set(final[n]) for n in range(PHONES)}
    expected = {str(b): count for b, count in Counter(b for p in final for b in p).items()}
    await wall.expect(
        lambda m: m["type"] == "tally" and m["tally"] == expected and m["respondents"] == PHONES,
        within=15,
    )
    # Every phone that came back is on A, whichever process its meeting is hashed to.
    assert {cluster.process_of(u) for u in cluster.nginx.upstreams_of(f"/ws/m/{meeting_id}")} <= {
        "A"
    }
    for phone in phones:
        await phone.ws.close()
    await staff.aclose()
