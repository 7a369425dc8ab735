"""The names routes in-process: suggestions only with an open meeting's code and rate-limited
like every join path, names only; which phone holds which name, for staff only; a phone can never
release a name."""

from __future__ import annotations

import pytest

from facilitator import joincodes
from tests.support.pages_site import Site
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")


def open_code(site: Site) -> tuple[int, str]:
    site.login()
    meeting_id = site.new_meeting()
    return meeting_id, site.code_of(meeting_id)


def test_a_phone_is_offered_names_only(site: Site) -> None:
    _meeting, code = open_code(site)
    site.client.post("/logout", data={"csrf": site.csrf()})
    found = site.client.get(f"/api/join/{code.lower()}/suggest", params={"q": "גשר"})
    assert found.status_code == 200
    assert found.headers["cache-control"] == "no-store"
    assert found.json() == {"organizations": ["עמותת גשר"], "people": []}
    people = site.client.get(
        f"/api/join/{code}/suggest", params={"q": "עמותת\u200b גשר", "organization": "עמותת גשר"}
    ).json()
    # Only who belongs to the group's history: the owner of its carried commitment.
    assert people["people"] == [site.seeded.people[0][1]]
    assert set(people) == {"organizations", "people"}
    narrowed = site.client.get(
        f"/api/join/{code}/suggest",
        params={"q": "גשר", "organization": "עמותת גשר", "name": "אין כזה"},
    ).json()
    assert narrowed["people"] == []


def test_suggestions_are_bounded(site: Site) -> None:
    _meeting, code = open_code(site)
    long = site.client.get(
        f"/api/join/{code}/suggest", params={"q": "א" * 201}, headers={"accept-language": "en"}
    )
    assert long.status_code == 422
    assert long.json()["error"]["key"] == "input.too_long"


def _codes(count: int, but: str) -> list[str]:
    """``count`` well-formed codes, none of them ``but``."""
    pairs = [a + b for a in joincodes.ALPHABET for b in joincodes.ALPHABET]
    return [c for c in (f"AAAA{p}" for p in pairs) if c != but][:count]


def test_a_halls_typos_lock_no_one_out_and_a_guessers_lock_only_that_network(
    site: Site,
) -> None:
    meeting_id, code = open_code(site)
    # A hall's typos (one of them many times over, a few others) lock no one out.
    for typo in ["CCCCCC"] * 40 + _codes(5, code) + ["XX"] * 20:
        wrong = site.client.get(f"/api/join/{typo}/suggest", params={"q": "גשר"})
        assert wrong.status_code == 404
        assert wrong.json()["error"]["key"] == "join.bad_code"
    assert site.client.get(f"/api/join/{code}/suggest", params={"q": "גשר"}).status_code == 200

    # A guesser's many different codes lock the address: right or wrong, one answer, no oracle.
    for guess in _codes(30, code)[5:]:
        site.client.get(f"/api/join/{guess}/suggest", params={"q": "גשר"})
    wrong = site.client.get("/api/join/CCCCCC/suggest", params={"q": "גשר"})
    right = site.client.get(f"/api/join/{code}/suggest", params={"q": "גשר"})
    assert (wrong.status_code, right.status_code) == (429, 429)
    assert wrong.json() == right.json()
    assert right.json()["error"]["key"] == "join.locked"
    joined = site.client.post("/api/join", json={"code": code, "name": "x", "organization": "y"})
    assert (joined.status_code, joined.json()["error"]["key"]) == (429, "join.locked")
    page = site.client.get(f"/j/{code}", headers={"accept-language": "he"})
    assert "בקשו מהמנחה להכניס" in page.text

    # Naming this meeting's code held the network at its door; the facilitator lets it in.
    assert site.client.post(f"/api/m/{meeting_id}/let-in").status_code == 403  # no CSRF header
    let_in = site.client.post(f"/api/m/{meeting_id}/let-in", headers={"x-csrf-token": site.csrf()})
    assert let_in.status_code == 200
    assert let_in.json() == {"let_in": 1}
    assert site.client.get(f"/api/join/{code}/suggest", params={"q": "גשר"}).status_code == 200
    joined = site.client.post(
        "/api/join", json={"code": code, "name": "נכנסה אחרי נעילה", "organization": "y"}
    )
    assert joined.status_code == 200, joined.text
    # Still locked for every other code.
    assert site.client.get("/api/join/CCCCCC/suggest").status_code == 429

    # Only the meeting's staff let anyone in: not a phone, not someone signed out.
    bearer = {"authorization": f"Bearer {joined.json()['token']}"}
    site.client.post("/logout", data={"csrf": site.csrf()})
    for headers in (bearer, {"x-csrf-token": site.csrf()}):
        refused = site.client.post(f"/api/m/{meeting_id}/let-in", headers=headers)
        assert refused.status_code == 403


def test_who_holds_a_name_is_for_staff_only(site: Site) -> None:
    meeting_id, code = open_code(site)
    joined = site.client.post(
        "/api/join", json={"code": code, "name": "דנה לוי", "organization": "עמותת גשר"}
    ).json()
    token = joined["token"]
    shown = site.client.get(f"/api/m/{meeting_id}/names")
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    [held] = shown.json()["people"]
    assert held["id"] == joined["person"]["id"]
    assert held["present"] is True
    assert held["phones"] == 1
    assert held["connected"] is False  # joined, but no socket open
    assert token not in shown.text
    found = site.client.get(f"/api/m/{meeting_id}/names", params={"q": "משתתף"}).json()
    assert len(found["people"]) == len(site.seeded.people)

    # A phone, by its token, sees none of it and cannot release anyone.
    site.client.post("/logout", data={"csrf": site.csrf()})
    bearer = {"authorization": f"Bearer {token}"}
    assert site.client.get(f"/api/m/{meeting_id}/names", headers=bearer).status_code == 403
    assert site.client.get(f"/api/m/{meeting_id}/names").status_code == 403
    refused = site.client.post(
        f"/api/m/{meeting_id}/commands",
        json={"type": "release_name", "id": "r1", "person_id": joined["person"]["id"]},
        headers=bearer,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["key"] == "role.forbidden"
    snapshot = site.client.get(f"/api/m/{meeting_id}/snapshot", headers=bearer)
    assert "held_since" not in snapshot.text
