"""A name held by the wrong phone, freed by the facilitator, against a real uvicorn process with
real WebSocket clients: the old phone is told, closed and refused; the right phone takes the name
and gets that person, carried commitment and all."""

from __future__ import annotations

import httpx
import pytest

from tests.support.live_server import (
    Server,
    cookie_header,
    join_phone,
    new_meeting,
    open_client,
)

pytestmark = pytest.mark.slow


async def test_the_facilitator_frees_a_held_name_for_the_right_phone(
    server: Server, staff: httpx.AsyncClient
) -> None:
    # The seeded group's meeting: its first person has a commitment carried from the last one.
    meeting_id, code, _view = await new_meeting(server, staff, group=server.seeded.group)
    owner_id, owner_name, organization = server.seeded.people[0]
    console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
    await console.expect(lambda m: m["type"] == "welcome")

    # The wrong phone takes the name first.
    wrong_token, person = await join_phone(server, code, owner_name, organization, staff)
    assert person["id"] == owner_id
    wrong = await open_client(server, meeting_id, "phone", {"token": wrong_token})
    await wrong.expect(lambda m: m["type"] == "welcome")

    # The owner's phone is refused, in any spelling of the name.
    async with httpx.AsyncClient(base_url=server.base) as http:
        locked = await http.post(
            "/api/join",
            json={"code": code, "name": f"{owner_name}\u200b", "organization": f" {organization} "},
        )
        assert locked.status_code == 409
        assert locked.json()["error"]["key"] == "join.name_taken"

    # The console sees who holds the name, and that its phone is connected; never the token.
    names = await staff.get(f"/api/m/{meeting_id}/names")
    [held] = [p for p in names.json()["people"] if p["id"] == owner_id]
    assert (held["phones"], held["connected"]) == (1, True)
    assert wrong_token not in names.text

    # A phone can never release a name, not even its own.
    refused = await wrong.command("release_name", person_id=owner_id)
    assert (refused["type"], refused["key"]) == ("error", "role.forbidden")

    released = await console.command("release_name", person_id=owner_id)
    assert released["type"] == "ack"
    told = await console.event("name_released")
    assert told["payload"]["person"]["id"] == owner_id

    # The wrong phone is told why, then closed; its token is refused from then on.
    heard = await wrong.event("name_released")
    assert heard["payload"]["person"] == {"id": owner_id}  # a phone is told ids, never names
    assert await wrong.close_code() == 4401
    bearer = {"authorization": f"Bearer {wrong_token}"}
    async with httpx.AsyncClient(base_url=server.base) as http:
        command = await http.post(
            f"/api/m/{meeting_id}/commands",
            json={"type": "propose", "id": "late-1", "text": "x", "due": "2099-01-01"},
            headers=bearer,
        )
        assert command.status_code == 403
        assert (await http.post("/api/join", json={"code": code, "token": wrong_token})).json()[
            "error"
        ]["key"] == "join.token_unknown"
    again = await open_client(server, meeting_id, "phone", {"token": wrong_token})
    assert (await again.next())["key"] == "auth.required"
    assert await again.close_code() == 4401
    names = await staff.get(f"/api/m/{meeting_id}/names")
    assert [p["phones"] for p in names.json()["people"] if p["id"] == owner_id] == [0]

    # The right phone takes the name by typing it, and is that person: their carried
    # commitment is theirs to report on.
    right_token, person = await join_phone(server, code, owner_name, organization, staff)
    assert person["id"] == owner_id
    right = await open_client(server, meeting_id, "phone", {"token": right_token})
    welcome = await right.expect(lambda m: m["type"] == "welcome")
    assert welcome["me"]["person"]["id"] == owner_id
    assert (await console.command("start"))["type"] == "ack"
    started = await right.event("stage_changed")
    assert [c["id"] for c in started["payload"]["reopened"]] == [server.seeded.carried]
    assert started["payload"]["reopened"][0]["owner"]["id"] == owner_id
    reported = await right.command("review", commitment_id=server.seeded.carried, outcome="done")
    assert reported["type"] == "ack"

    # Releasing a name no phone holds says so.
    free = await console.command("release_name", person_id=server.seeded.people[5][0])
    assert (free["type"], free["key"]) == ("error", "release.not_held")


async def test_a_released_name_stops_its_phone_in_every_meeting(
    server: Server, staff: httpx.AsyncClient
) -> None:
    # One phone token serves every meeting its person joins: here, two meetings at once.
    first_id, first_code, _ = await new_meeting(server, staff, title="מפגש ראשון")
    second_id, second_code, _ = await new_meeting(server, staff, title="מפגש שני")
    _pid, name, organization = server.seeded.people[3]
    token, _person = await join_phone(server, first_code, name, organization, staff)
    async with httpx.AsyncClient(base_url=server.base) as http:
        joined = await http.post("/api/join", json={"code": second_code, "token": token})
        assert joined.status_code == 200, joined.text
    there = await open_client(server, second_id, "phone", {"token": token})
    await there.expect(lambda m: m["type"] == "welcome")
    console = await open_client(server, first_id, "console", {}, cookie=cookie_header(staff))
    await console.expect(lambda m: m["type"] == "welcome")

    released = await console.command("release_name", person_id=_pid)
    assert released["type"] == "ack"
    # The socket in the other meeting heard nothing of this meeting, yet it is stopped too.
    assert await there.close_code() == 4401
    again = await open_client(server, second_id, "phone", {"token": token})
    assert (await again.next())["key"] == "auth.required"
    assert await again.close_code() == 4401


def test_server_log_has_no_unexpected_errors(server: Server) -> None:
    assert "Traceback" not in server.log.read_text()
