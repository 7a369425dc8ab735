"""The names routes in-process: suggestions only with an open meeting's code and rate-limited
like every join path, names only; which phone holds which name, for staff only; a phone can never
release a name."""

from __future__ import annotations

import pytest

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


def test_wrong_codes_count_toward_the_join_limit(site: Site) -> None:
    _meeting, code = open_code(site)
    for _ in range(10):
        wrong = site.client.get("/api/join/XXXXXX/suggest", params={"q": "גשר"})
        assert wrong.status_code == 404
        assert wrong.json()["error"]["key"] == "join.bad_code"
    # The address used its allowance: even the right code is refused now, here and at /api/join.
    limited = site.client.get(f"/api/join/{code}/suggest", params={"q": "גשר"})
    assert limited.status_code == 429
    assert limited.json()["error"]["key"] == "join.too_many"
    joined = site.client.post("/api/join", json={"code": code, "name": "x", "organization": "y"})
    assert joined.status_code == 429


def test_who_holds_a_name_is_for_staff_only(site: Site) -> None:
    meeting_id, code = open_code(site)
    joined = site.client.post(
        "/api/join", json={"code": code, "name": "משתתף 1", "organization": "עמותת גשר"}
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
