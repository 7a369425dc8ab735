"""After the close, a phone keeps the meeting's record and its own commitments as a calendar
file, each opened with its own token (posted, never in the address). In-process HTTP on a real
migrated SQLite file."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.db import Database
from facilitator.flow import Stage
from facilitator.services import access, commitments, joining, lifecycle
from facilitator.services.actors import Actor
from facilitator.settings import Settings
from tests.support.live_server import Seeded, local_today, seed
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")


@dataclass
class Room:
    client: TestClient
    meeting: int
    tokens: dict[str, str]  # who → their phone's token


async def _meeting(url: str, seeded: Seeded, *, close: bool) -> tuple[int, dict[str, str]]:
    """A meeting two people attend, each leaving with a commitment of their own; a third person
    holds a token but did not come."""
    db = Database(url)
    try:
        staff = Actor.staff(1)
        today = date.fromisoformat(local_today())
        mid = (
            await lifecycle.create_meeting(db, staff, seeded.group, "סגורה", today)
        ).event.meeting_id
        (dana, _, _), (omer, _, _), (absent, _, _) = seeded.people[:3]
        for person in (dana, omer):
            await joining.join(db, mid, person_id=person)
        await lifecycle.start(db, mid, staff)
        for stage in (Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS):
            await lifecycle.move(db, mid, staff, stage)
        later = today + timedelta(days=14)
        await commitments.add(db, mid, staff, "הצעת התקציב של דנה", dana, later)
        await commitments.add(db, mid, staff, "Omer's parents' evening", omer, later)
        await commitments.review(db, mid, staff, seeded.carried, "on_track")
        if close:
            await lifecycle.close(db, mid, staff)
        tokens = {
            who: await access.issue_participant_token(db, person)
            for who, person in (("dana", dana), ("omer", omer), ("absent", absent))
        }
        return mid, tokens
    finally:
        await db.dispose()


def _room(template: str, folder: Path, *, close: bool) -> Iterator[Room]:
    db_file = folder / "record.db"
    shutil.copyfile(template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    seeded = asyncio.run(seed(url))
    mid, tokens = asyncio.run(_meeting(url, seeded, close=close))
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=url)),
        base_url="http://testserver",
    ) as client:
        yield Room(client, mid, tokens)


@pytest.fixture
def closed(migrated_template: str, tmp_path: Path) -> Iterator[Room]:
    yield from _room(migrated_template, tmp_path, close=True)


@pytest.fixture
def still_open(migrated_template: str, tmp_path: Path) -> Iterator[Room]:
    yield from _room(migrated_template, tmp_path, close=False)


def summaries(calendar: bytes) -> list[str]:
    return [str(e["summary"]) for e in Calendar.from_ical(calendar).walk("VEVENT")]


def test_each_phone_downloads_only_its_own_open_commitments(closed: Room) -> None:
    dana = closed.client.post("/p/commitments.ics", data={"token": closed.tokens["dana"]})
    assert dana.status_code == 200
    assert dana.headers["content-type"].startswith("text/calendar")
    assert dana.headers["content-disposition"].startswith("attachment")
    assert dana.headers["cache-control"] == "no-store"
    # Dana's own: made today, and the one she carried from the earlier meeting.
    assert sorted(summaries(dana.content)) == sorted(["הצעת התקציב של דנה", "להפיץ נתונים"])

    omer = closed.client.post("/p/commitments.ics", data={"token": closed.tokens["omer"]})
    assert summaries(omer.content) == ["Omer's parents' evening"]
    nothing = closed.client.post("/p/commitments.ics", data={"token": closed.tokens["absent"]})
    assert nothing.status_code == 200
    assert summaries(nothing.content) == []

    for refused in ({"token": "made-up"}, {}, {"token": ""}):
        answer = closed.client.post("/p/commitments.ics", data=refused)
        assert answer.status_code == 404
        assert b"VCALENDAR" not in answer.content
    # A token in the address is no token: only the posted form counts.
    assert closed.client.get(f"/p/commitments.ics?token={closed.tokens['dana']}").status_code == 405
    foreign = closed.client.post(
        "/p/commitments.ics",
        data={"token": closed.tokens["dana"]},
        headers={"origin": "https://elsewhere.example"},
    )
    assert foreign.status_code == 404


def test_the_record_opens_for_whoever_attended_once_it_is_closed(closed: Room) -> None:
    path = f"/m/{closed.meeting}/summary"
    for who in ("dana", "omer"):
        record = closed.client.post(f"{path}?lang=en", data={"token": closed.tokens[who]})
        assert record.status_code == 200
        assert "Meeting record" in record.text
        assert "הצעת התקציב של דנה" in record.text
        assert "Omer&#39;s parents&#39; evening" in record.text
        assert record.headers["cache-control"] == "no-store"
        assert "?view=" not in record.text  # the staff's share link is not handed to phones
        assert "?lang=he" not in record.text  # a GET link would lose the posted token
    for refused in (closed.tokens["absent"], "made-up", ""):
        answer = closed.client.post(path, data={"token": refused})
        assert answer.status_code == 404
        assert "הצעת התקציב של דנה" not in answer.text
    # Without a token the page is still the staff's (or a view link's).
    assert closed.client.get(path, follow_redirects=False).status_code == 303


def test_the_record_waits_for_the_close(still_open: Room) -> None:
    answer = still_open.client.post(
        f"/m/{still_open.meeting}/summary", data={"token": still_open.tokens["dana"]}
    )
    assert answer.status_code == 404
    assert "הצעת התקציב של דנה" not in answer.text
