"""The live room against a real uvicorn process with real WebSocket clients."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed, InvalidStatus

from facilitator.db import Database
from facilitator.db.models import Commitment, Meeting, OpenerResponse
from facilitator.services import users
from tests.support.live_server import (
    PASSWORD,
    Client,
    Server,
    cookie_header,
    csrf_of,
    join_phone,
    new_meeting,
    open_client,
    staff_client,
)

pytestmark = pytest.mark.slow


async def read_db(server: Server, query):  # type: ignore[no-untyped-def]
    db = Database(server.db_url)
    try:
        async with db.read() as session:
            return await session.scalar(query)
    finally:
        await db.dispose()


def in_days(days: int) -> str:
    return (datetime.now(ZoneInfo("Asia/Jerusalem")).date() + timedelta(days=days)).isoformat()


async def test_a_whole_meeting_with_a_projector_and_five_phones(
    server: Server, staff: httpx.AsyncClient
) -> None:
    meeting_id, code, view = await new_meeting(server, staff, group=server.seeded.group)
    console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
    wall = await open_client(server, meeting_id, "projector", {"view": view})
    welcome = await console.expect(lambda m: m["type"] == "welcome")
    assert welcome["role"] == "facilitator"
    assert (await wall.expect(lambda m: m["type"] == "welcome"))["role"] == "projector"

    owner_name = server.seeded.people[0][1]
    phones: list[Client] = []
    people = []
    tokens = []
    for n in range(5):
        name = owner_name if n == 0 else f"טלפון {n}"
        token, person = await join_phone(server, code, name, staff=staff)
        people.append(person)
        tokens.append(token)
        phone = await open_client(server, meeting_id, "phone", {"token": token})
        hello = await phone.expect(lambda m: m["type"] == "welcome")
        assert hello["me"]["person"]["id"] == person["id"]
        phones.append(phone)
    assert people[0]["id"] == server.seeded.people[0][0]  # the carried commitment's owner
    for n in range(5):
        await wall.expect(
            lambda m, n=n: (
                m.get("event") == "joined" and m["payload"]["person"]["id"] == people[n]["id"]
            )
        )

    # Start: the carried commitment is reopened on every screen, and its owner reports on it.
    assert (await console.command("start"))["type"] == "ack"
    started = await wall.event("stage_changed")
    assert [c["id"] for c in started["payload"]["reopened"]] == [server.seeded.carried]
    await phones[3].event("stage_changed")
    reported = await phones[0].command(
        "review", commitment_id=server.seeded.carried, outcome="done"
    )
    assert reported["type"] == "ack"
    reviewed = await wall.event("commitment_reviewed")
    assert reviewed["payload"]["review"]["outcome"] == "done"

    # Opener: the wall's tally settles on exactly what the phones chose.
    await console.command("move", stage="opener")
    snapshot = welcome["snapshot"]
    blockers = [b["id"] for b in snapshot["blockers"]]
    choices = [[blockers[0]], [blockers[0], blockers[4]], [blockers[4]], [], [blockers[8]]]
    for phone, picks in zip(phones, choices, strict=True):
        assert (await phone.command("respond_opener", blockers=picks))["type"] == "ack"
    expected = {str(blockers[0]): 2, str(blockers[4]): 2, str(blockers[8]): 1}
    await wall.expect(
        lambda m: m["type"] == "tally" and m["tally"] == expected and m["respondents"] == 4
    )
    await console.command(
        "record_opener_action", blocker_id=blockers[4], text="כל סעיף נגמר בהחלטה"
    )

    # Agenda: an item on screen with its timer, a decision recorded.
    await console.command("move", stage="agenda")
    item = snapshot["agenda"][0]["id"]
    assert (await console.command("focus_item", item_id=item))["type"] == "ack"
    focus = await wall.event("agenda_focus")
    assert focus["payload"]["item_id"] == item
    assert focus["payload"]["started_at"]
    await console.command("record_decision", item_id=item, text="מאמצים את החלופה")

    # Closing round: refused with the reason, then phones propose and the facilitator confirms.
    await console.command("move", stage="commitments")
    refused = await console.command("close")
    assert refused["type"] == "error"
    assert refused["key"] == "gate.refused"
    assert refused["details"] == ["עדיין לא נקבעה אף מחויבות בפגישה הזאת."]
    for phone in phones[:3]:
        assert (await phone.command("propose", text="אעשה משהו", due=in_days(14)))["type"] == "ack"
    proposals = [await console.event("commitment_proposed") for _ in range(3)]
    for proposal in proposals:
        confirmed = await console.command(
            "confirm", commitment_id=proposal["payload"]["commitment"]["id"]
        )
        assert confirmed["type"] == "ack"
    await console.command(
        "add_commitment", text="לזמן את ההורים", owner_id=people[4]["id"], due=in_days(7)
    )
    assert (await console.command("close"))["type"] == "ack"
    for screen in [wall, *phones]:
        closed = await screen.event("meeting_closed")
        assert closed["payload"]["commitments"] == 4
    stage = await read_db(server, select(Meeting.stage).where(Meeting.id == meeting_id))
    made = await read_db(
        server,
        select(func.count()).where(
            Commitment.origin_meeting_id == meeting_id, Commitment.status == "open"
        ),
    )
    assert (stage, made) == ("closed", 4)

    # Whose commitment is whose reaches a phone by id only: no one's name but its own (in its
    # welcome's "me"), though the console is told them all.
    added = await console.event("commitment_added")
    assert added["payload"]["commitment"]["owner"]["name"] == people[4]["name"]
    for n, phone in enumerate(phones):
        told = json.dumps([{**m, "me": None} for m in phone.inbox], ensure_ascii=False)
        assert '"owner": {"id":' in told
        for other in people:
            if other["id"] != people[n]["id"]:
                assert other["name"] not in told, (n, other["name"])

    # Staff can see how the room held: its sockets, and a time for every event's fan-out.
    stats = (await staff.get("/api/live/stats")).json()
    assert stats["sockets"] >= 7
    assert stats["recent_fanouts"] >= 10
    assert 0 <= stats["fanout_ms"]["p50"] <= stats["fanout_ms"]["max"]
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        refused = await anonymous.get("/api/live/stats")
    assert refused.status_code == 403
    assert "sockets" not in refused.json()

    for client in [console, wall, *phones]:
        await client.ws.close()
    # A phone that comes back after the close (its code is void now) still gets the summary.
    late = await open_client(server, meeting_id, "phone", {"token": tokens[1]})
    summary = await late.expect(lambda m: m["type"] == "welcome")
    assert summary["snapshot"]["meeting"]["stage"] == "closed"
    assert [c["owner"]["id"] for c in summary["snapshot"]["commitments"]].count(
        people[1]["id"]
    ) == 1
    await late.ws.close()


async def test_a_phone_that_drops_mid_opener_ends_with_exactly_its_answers(
    server: Server, staff: httpx.AsyncClient
) -> None:
    meeting_id, code, view = await new_meeting(server, staff, "נפילה באמצע")
    console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
    wall = await open_client(server, meeting_id, "projector", {"view": view})
    token_a, person_a = await join_phone(server, code, "נופל")
    token_b, _ = await join_phone(server, code, "יציב")
    phone_a = await open_client(server, meeting_id, "phone", {"token": token_a})
    phone_b = await open_client(server, meeting_id, "phone", {"token": token_b})
    welcome = await console.expect(lambda m: m["type"] == "welcome")
    blockers = [b["id"] for b in welcome["snapshot"]["blockers"]]
    await console.command("start")
    await console.command("move", stage="opener")
    moved = await phone_a.event("stage_changed")
    await phone_a.expect(
        lambda m: m.get("event") == "stage_changed" and m["payload"]["stage"] == "opener"
    )
    assert moved

    answered = await phone_a.command(
        "respond_opener", msg_id="a-1", blockers=[blockers[0], blockers[1]]
    )
    # A phone is sent no tally, so its answer's ack says there is nothing to wait for.
    assert answered["follows"] is False
    last_seq = max(m["seq"] for m in phone_a.inbox if m.get("type") == "event")
    await phone_a.ws.close()
    # While it is away, the other phone answers; then it comes back, resends its outbox (an old
    # command and a changed answer) with the last number it saw.
    await phone_b.command("respond_opener", blockers=[blockers[1]])
    back = await open_client(server, meeting_id, "phone", {"token": token_a, "last_seq": last_seq})
    caught_up = await back.expect(lambda m: m["type"] == "welcome")
    assert caught_up["snapshot"] is None  # served from the room's memory, not a full snapshot
    again = await back.command("respond_opener", msg_id="a-1", blockers=[blockers[0], blockers[1]])
    assert again["replayed"] is True
    await back.command("respond_opener", msg_id="a-2", blockers=[blockers[1], blockers[2]])

    expected = {str(blockers[1]): 2, str(blockers[2]): 1}
    await wall.expect(lambda m: m["type"] == "tally" and m["tally"] == expected)
    for phone in (back, phone_b):  # the wall's tallies, never a phone's
        await phone.send({"type": "ping"})
        await phone.expect(lambda m: m["type"] == "pong")  # all sent before it is read
        assert not [m for m in phone.inbox if m["type"] == "tally"]
    answers = await read_db(
        server,
        select(func.group_concat(OpenerResponse.blocker_id)).where(
            OpenerResponse.meeting_id == meeting_id, OpenerResponse.person_id == person_a["id"]
        ),
    )
    assert sorted(int(x) for x in answers.split(",")) == [blockers[1], blockers[2]]
    for client in [console, wall, phone_b, back]:
        await client.ws.close()


async def test_forged_commands_from_a_phone_change_nothing(
    server: Server, staff: httpx.AsyncClient
) -> None:
    meeting_id, code, _view = await new_meeting(server, staff, "זיוף")
    console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
    await console.expect(lambda m: m["type"] == "welcome")
    token, person = await join_phone(server, code, "מתחזה")
    other_token, _other = await join_phone(server, code, "אחר")
    other = await open_client(server, meeting_id, "phone", {"token": other_token})
    await console.command("start")
    await console.command("move", stage="opener")
    await console.command("move", stage="agenda")
    await other.command("propose", text="של מישהו אחר", due=in_days(3))
    proposal = await console.event("commitment_proposed")
    before = await read_db(server, select(Meeting.last_seq).where(Meeting.id == meeting_id))

    # The phone claims to be the facilitator in every way a message could.
    phone = await open_client(
        server, meeting_id, "phone", {"token": token, "role": "facilitator", "user_id": 1}
    )
    await phone.expect(lambda m: m["type"] == "welcome")
    forged = [
        ("move", {"stage": "commitments", "role": "facilitator"}),
        ("close", {"actor": "user:1"}),
        ("cancel", {}),
        ("start", {}),
        ("confirm", {"commitment_id": proposal["payload"]["commitment"]["id"]}),
        (
            "edit_commitment",
            {"commitment_id": proposal["payload"]["commitment"]["id"], "text": "שלי"},
        ),
        ("add_commitment", {"text": "x", "owner_id": person["id"], "due": in_days(3)}),
        ("review", {"commitment_id": server.seeded.carried, "outcome": "dropped", "reason": "x"}),
        ("focus_item", {"item_id": None}),
        ("record_decision", {"item_id": 1, "text": "x"}),
        ("add_agenda_item", {"title": "x", "minutes": 5}),
    ]
    for kind, data in forged:
        answer = await phone.command(kind, **data)
        assert answer["type"] == "error", (kind, answer)
        assert answer["key"] in ("role.forbidden", "review.not_reopened_here"), (kind, answer)
    after = await read_db(server, select(Meeting.last_seq).where(Meeting.id == meeting_id))
    assert after == before
    # A projector link cannot command either.
    for client in [console, other, phone]:
        await client.ws.close()


async def test_malformed_messages_get_errors_and_the_room_keeps_serving(
    server: Server, staff: httpx.AsyncClient
) -> None:
    meeting_id, code, _view = await new_meeting(server, staff, "שגויות")
    token, _person = await join_phone(server, code, "שולח שגויות")
    phone = await open_client(server, meeting_id, "phone", {"token": token, "lang": "en"})
    await phone.expect(lambda m: m["type"] == "welcome")
    bad = [
        ("not json at all", "msg.bad_json"),
        ("[1, 2, 3]", "msg.bad_json"),
        (json.dumps({"type": "dance"}), "msg.unknown_type"),
        (json.dumps({"type": "move"}), "msg.missing_field"),
        (json.dumps({"type": "respond_opener", "blockers": "all"}), "msg.bad_field"),
        (
            json.dumps({"type": "propose", "id": 5, "text": "x", "due": "2030-01-01"}),
            "input.bad_client_msg_id",
        ),
        (json.dumps({"type": "propose", "id": "p1", "text": "x", "due": "soon"}), "input.bad_date"),
        (
            json.dumps({"type": "propose", "id": "p2", "text": "x", "due": "2030-01-01"}),
            "flow.wrong_stage",
        ),
        (json.dumps({"type": "hello"}), "msg.unknown_type"),
        # Lone surrogates (escaped: a text frame holds only valid UTF-8) anywhere: no 1011.
        ('{"type": "\\ud800"}', "msg.bad_json"),
        ('{"type": "respond_opener", "id": "\\udfff", "blockers": []}', "msg.bad_json"),
        (
            '{"type": "propose", "id": "s1", "text": "a\\ud800b", "due": "2030-01-01"}',
            "msg.bad_json",
        ),
        ("[" * 10_000 + "]" * 10_000, "msg.bad_json"),
    ]
    for raw, key in bad:
        await phone.ws.send(raw)
        error = await phone.expect(lambda m: m["type"] == "error")
        assert error["key"] == key, (raw, error)
        assert error["message"]
        assert "{" not in error["message"]
    await phone.send({"type": "ping"})
    assert (await phone.expect(lambda m: m["type"] == "pong"))["type"] == "pong"
    await phone.ws.close()


async def test_a_huge_frame_closes_only_that_socket(
    server: Server, staff: httpx.AsyncClient
) -> None:
    meeting_id, code, view = await new_meeting(server, staff, "גדול")
    token, _ = await join_phone(server, code, "שולח ענק")
    big = await open_client(server, meeting_id, "phone", {"token": token})
    wall = await open_client(server, meeting_id, "projector", {"view": view})
    await big.expect(lambda m: m["type"] == "welcome")
    await wall.expect(lambda m: m["type"] == "welcome")
    # The server may cut the socket while the frame is still going out: that is the point.
    with contextlib.suppress(ConnectionClosed):
        await big.ws.send("x" * (1024 * 1024))
    assert await big.close_code() == 1009
    await wall.send({"type": "ping"})
    assert (await wall.expect(lambda m: m["type"] == "pong"))["type"] == "pong"
    await wall.ws.close()


async def test_a_socket_from_another_site_is_refused(
    server: Server, staff: httpx.AsyncClient
) -> None:
    meeting_id, _code, _view = await new_meeting(server, staff, "מקור")
    with pytest.raises(InvalidStatus) as refused:
        await open_client(
            server,
            meeting_id,
            "console",
            {},
            cookie=cookie_header(staff),
            origin="http://evil.example",
        )
    assert refused.value.response.status_code == 403
    same_site = await open_client(
        server, meeting_id, "console", {}, cookie=cookie_header(staff), origin=server.base
    )
    assert (await same_site.expect(lambda m: m["type"] == "welcome"))["role"] == "facilitator"
    await same_site.ws.close()


async def test_no_proof_no_room(server: Server, staff: httpx.AsyncClient) -> None:
    meeting_id, _code, _view = await new_meeting(server, staff, "בלי הוכחה")
    for face, hello in [
        ("console", {}),
        ("projector", {"view": "guess"}),
        ("phone", {"token": "guess"}),
    ]:
        client = await open_client(server, meeting_id, face, hello)
        refusal = await client.expect(lambda m: m["type"] == "error")
        assert refusal["key"] == "auth.required"
        assert await client.close_code() == 4401


async def test_logout_closes_the_staff_sockets(server: Server) -> None:
    staff = await staff_client(server)
    meeting_id, _code, _view = await new_meeting(server, staff, "יציאה")
    console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
    await console.expect(lambda m: m["type"] == "welcome")
    cookie = cookie_header(staff)
    out = await staff.post("/logout", data={"csrf": csrf_of(staff)})
    assert out.status_code == 303
    assert await console.close_code() == 4401
    # The old cookie opens nothing any more.
    again = await open_client(server, meeting_id, "console", {}, cookie=cookie)
    assert (await again.expect(lambda m: m["type"] == "error"))["key"] == "auth.required"
    await staff.aclose()


async def test_a_flood_is_cut_off(server: Server, staff: httpx.AsyncClient) -> None:
    meeting_id, code, view = await new_meeting(server, staff, "הצפה")
    token, _ = await join_phone(server, code, "מציף")
    phone = await open_client(server, meeting_id, "phone", {"token": token})
    wall = await open_client(server, meeting_id, "projector", {"view": view})
    await phone.expect(lambda m: m["type"] == "welcome")
    for _ in range(200):
        try:
            await phone.send({"type": "ping"})
        except ConnectionClosed:
            break
    assert await phone.close_code() == 1008
    assert any(m.get("key") == "msg.rate_limited" for m in phone.inbox)
    await wall.send({"type": "ping"})
    assert (await wall.expect(lambda m: m["type"] == "pong"))["type"] == "pong"
    await wall.ws.close()


def test_server_log_has_no_unexpected_errors(server: Server) -> None:
    log = Path(server.log).read_text()
    assert "Traceback" not in log, log[-3000:]


async def test_changed_values_reach_the_screens_at_once(server: Server) -> None:
    # The values are the backbone's to keep (/admin/values).
    db = Database(server.db_url)
    try:
        await users.create_user(
            db, server.seeded.network, "values@example.org", PASSWORD, name="שדרה",
            role="backbone",
        )  # fmt: skip
    finally:
        await db.dispose()
    async with httpx.AsyncClient(base_url=server.base) as backbone:
        assert (await backbone.get("/login")).status_code == 200
        signed_in = await backbone.post(
            "/login",
            data={"csrf": csrf_of(backbone), "email": "values@example.org", "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        await _values_reach_the_wall(server, backbone)


async def _values_reach_the_wall(server: Server, backbone: httpx.AsyncClient) -> None:
    meeting_id, _code, view = await new_meeting(server, backbone, "ערכים")
    wall = await open_client(server, meeting_id, "projector", {"view": view})
    await wall.expect(lambda m: m["type"] == "welcome")
    added = await backbone.post(
        "/admin/values",
        data={
            "csrf": csrf_of(backbone),
            "title_he": "סקרנות",
            "behaviours_he": "שואלים לפני ששופטים",
            "title_en": "Curiosity",
            "behaviours_en": "We ask before we judge",
        },
    )
    assert added.status_code == 303
    # In the meeting's log, numbered like every change, so a screen that missed it catches up.
    told = await wall.expect(lambda m: m["type"] == "event" and m["event"] == "values_changed")
    added_value = told["payload"]["values"][-1]
    assert (added_value["he"], added_value["en"]) == (
        {"title": "סקרנות", "behaviours": ["שואלים לפני ששופטים"]},
        {"title": "Curiosity", "behaviours": ["We ask before we judge"]},
    )
    await wall.ws.close()
