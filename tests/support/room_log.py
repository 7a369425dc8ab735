"""What a screen should have seen of a meeting: its log in the database, against the events a
client received (in order, none missing, none twice)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import MeetingEvent
from facilitator.services.state import EVENTS_NOT_FOR_PHONES
from tests.support.live_server import Client, Server, csrf_of

# The log keeps opener answers as opener_tally; screens get them only as `tally` messages.
NEVER_AN_EVENT = frozenset({"opener_tally"})


async def meeting_log(db_url: str, meeting_id: int) -> list[tuple[int, str]]:
    db = Database(db_url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                select(MeetingEvent.seq, MeetingEvent.type)
                .where(MeetingEvent.meeting_id == meeting_id)
                .order_by(MeetingEvent.seq)
            )
            return [(seq, kind) for seq, kind in rows]
    finally:
        await db.dispose()


def assert_saw_the_log(client: Client, log: list[tuple[int, str]], *, phone: bool) -> None:
    """Every event of the log after the client's welcome, in order, each once."""
    [welcome] = [m for m in client.inbox if m["type"] == "welcome"][:1]
    since = welcome["snapshot"]["meeting"]["last_seq"]
    hidden = NEVER_AN_EVENT | (EVENTS_NOT_FOR_PHONES if phone else frozenset())
    wanted = [(seq, kind) for seq, kind in log if seq > since and kind not in hidden]
    seen = [(m["seq"], m["event"]) for m in client.inbox if m["type"] == "event"]
    assert seen == wanted


def staff_headers(staff: httpx.AsyncClient) -> dict[str, str]:
    """A signed-in client's cookies as a header, for talking to a process directly over plain
    HTTP (the cookies are Secure: httpx keeps them for https, the nginx address)."""
    cookies = "; ".join(f"{k}={v}" for k, v in staff.cookies.items())
    return {"cookie": cookies, "x-csrf-token": csrf_of(staff)}


async def post_command(server: Server, staff: httpx.AsyncClient, meeting_id: int,
                       command: dict[str, object]) -> httpx.Response:  # fmt: skip
    async with httpx.AsyncClient(base_url=server.base, headers=staff_headers(staff)) as direct:
        return await direct.post(f"/api/m/{meeting_id}/commands", json=command)
