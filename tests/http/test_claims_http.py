"""A phone naming a person the network knew before waits for the facilitator's tap: 202 with
the two digits the console also shows, asked again with its own secret; 200 once accepted, 403
once refused. A phone can neither decide nor see the requests."""

from __future__ import annotations

import pytest

from tests.support.pages_site import Site
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")

KNOWN = {"name": "משתתף 1", "organization": "עמותת גשר"}


def _ask(site: Site) -> tuple[int, str, dict]:
    site.login()
    meeting_id = site.new_meeting()
    code = site.code_of(meeting_id)
    asked = site.client.post("/api/join", json={"code": code, **KNOWN})
    assert asked.status_code == 202, asked.text
    return meeting_id, code, asked.json()


def _decide(site: Site, meeting_id: int, claim_id: int, accept: bool) -> dict:
    sent = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "decide_claim", "id": f"d{claim_id}", "claim_id": claim_id, "accept": accept},
        headers={"x-csrf-token": site.csrf()},
    )
    assert sent.status_code == 200, sent.text
    return sent.json()


def _claims(site: Site, meeting_id: int) -> list[dict]:
    snapshot = site.client.get(f"/api/m/{meeting_id}/snapshot")
    assert snapshot.status_code == 200
    return snapshot.json()["claims"]


def test_accepted_claim_turns_the_waiting_secret_into_a_token(site: Site) -> None:
    meeting_id, code, asked = _ask(site)
    token, number = asked["token"], asked["waiting"]["number"]
    assert 10 <= number <= 99
    assert asked["person"]["name"] == KNOWN["name"]
    # Not present, and the secret opens nothing yet.
    bearer = {"authorization": f"Bearer {token}"}
    assert site.client.get(f"/api/m/{meeting_id}/snapshot", headers=bearer).status_code in (
        401,
        403,
    )
    again = site.client.post("/api/join", json={"code": code, "token": token})
    assert again.status_code == 202
    assert again.json()["waiting"]["number"] == number

    [claim] = _claims(site, meeting_id)
    assert claim["number"] == number
    assert claim["person"]["name"] == KNOWN["name"]
    done = _decide(site, meeting_id, claim["id"], True)
    assert done["type"] == "ack"
    assert done["replayed"] is False

    joined = site.client.post("/api/join", json={"code": code, "token": token})
    assert joined.status_code == 200, joined.text
    assert joined.json()["person"]["id"] == asked["person"]["id"]
    snapshot = site.client.get(f"/api/m/{meeting_id}/snapshot", headers=bearer)
    assert snapshot.status_code == 200
    assert _claims(site, meeting_id) == []
    # The person is held now: another phone typing the same name is told so.
    taken = site.client.post("/api/join", json={"code": code, **KNOWN})
    assert taken.status_code == 409
    assert taken.json()["error"]["key"] == "join.name_taken"


def test_refused_claim_is_told_and_a_second_tap_changes_nothing(site: Site) -> None:
    meeting_id, code, asked = _ask(site)
    [claim] = _claims(site, meeting_id)
    _decide(site, meeting_id, claim["id"], False)
    told = site.client.post("/api/join", json={"code": code, "token": asked["token"]})
    assert told.status_code == 403
    assert told.json()["error"]["key"] == "join.claim_refused"
    assert "המנחה" in told.json()["error"]["message"]  # the network's language
    late = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "decide_claim", "id": "late", "claim_id": claim["id"], "accept": True},
        headers={"x-csrf-token": site.csrf()},
    )
    assert late.status_code == 409
    assert late.json()["error"]["key"] == "claim.decided"


def test_a_phone_cannot_decide_or_see_requests(site: Site) -> None:
    meeting_id, code, asked = _ask(site)
    [claim] = _claims(site, meeting_id)
    guest = site.client.post("/api/join", json={"code": code, "name": "אורח", "organization": "x"})
    assert guest.status_code == 200
    site.client.post("/logout", data={"csrf": site.csrf()})
    bearer = {"authorization": f"Bearer {guest.json()['token']}"}
    snapshot = site.client.get(f"/api/m/{meeting_id}/snapshot", headers=bearer)
    assert snapshot.status_code == 200
    assert "claims" not in snapshot.json()
    refused = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "decide_claim", "id": "p1", "claim_id": claim["id"]},
        headers=bearer,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["key"] == "role.forbidden"
    # The waiting phone's own secret cannot decide for itself either.
    own = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "decide_claim", "id": "p2", "claim_id": claim["id"]},
        headers={"authorization": f"Bearer {asked['token']}"},
    )
    assert own.status_code in (401, 403)


def test_a_waiting_phone_is_told_when_its_wait_is_over(site: Site) -> None:
    """Someone else's phone took the person: 409 name taken. The meeting called off: the code
    is void (404), and nothing waits on the console."""
    meeting_id, code, asked = _ask(site)
    [claim] = _claims(site, meeting_id)
    marked = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "mark_present", "id": "m1", "person_id": asked["person"]["id"]},
        headers={"x-csrf-token": site.csrf()},
    )
    assert marked.status_code == 200, marked.text
    other = site.client.post("/api/join", json={"code": code, **KNOWN})
    assert other.status_code == 200, other.text  # marked present: the next phone takes them
    told = site.client.post("/api/join", json={"code": code, "token": asked["token"]})
    assert (told.status_code, told.json()["error"]["key"]) == (409, "join.name_taken")
    late = _decide(site, meeting_id, claim["id"], True)
    assert late["type"] == "ack"
    assert _claims(site, meeting_id) == []

    second_id = site.new_meeting("שנייה")
    second_code = site.code_of(second_id)
    waiting = site.client.post(
        "/api/join", json={"code": second_code, "name": "משתתף 2", "organization": "עמותת גשר"}
    )
    assert waiting.status_code == 202, waiting.text
    cancelled = site.client.post(
        f"/api/m/{second_id}/commands",
        json={"type": "cancel", "id": "c1"},
        headers={"x-csrf-token": site.csrf()},
    )
    assert cancelled.status_code == 200, cancelled.text
    void = site.client.post(
        "/api/join", json={"code": second_code, "token": waiting.json()["token"]}
    )
    assert (void.status_code, void.json()["error"]["key"]) == (404, "join.bad_code")
    assert _claims(site, second_id) == []
