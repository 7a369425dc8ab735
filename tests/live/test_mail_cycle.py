"""A commitment's mail over simulated days, against a real SMTP server (aiosmtpd) and the real
``facilitator remind`` command: the record with its calendar file at the close, one reminder
three days before, no duplicate however often (or concurrently) it runs, a server that is down
retried later and sent once, an unsubscribe honoured, a refused address shown as failed, and
Hebrew read back correctly by ``email.parser``."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.db import Database
from facilitator.db.models import MailOut, Person
from facilitator.services import lifecycle
from facilitator.settings import Settings
from tests.support.inbox import Inbox
from tests.support.mail_commands import SITE, at, remind
from tests.support.meetings import add, new_meeting, run_to_commitments
from tests.support.world import POSTGRES, TODAY, Clock, World

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(POSTGRES), reason="the command runs on the test's SQLite file"),
]

MAPPING = "למפות את תכניות החונכות בעיר"
MENTORS = "Recruit three mentors"
DUE = TODAY + timedelta(days=10)


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


def calendar_of(message: EmailMessage) -> Calendar:
    [ics] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert ics.get_filename() == "commitments.ics"
    content = ics.get_content()
    return Calendar.from_ical(content if isinstance(content, bytes) else content.encode())


async def _people(db: Database, world: World) -> None:
    async with db.write() as session:
        for n, (address, language) in enumerate(
            (
                ("p0@network.example", None),
                ("p1@network.example", "en"),
                ("gone@network.example", None),
            )
        ):
            person = await session.get_one(Person, world.people[n])
            person.email, person.language = address, language


async def _rows(db: Database, kind: str) -> list[MailOut]:
    async with db.read() as session:
        return list(await session.scalars(select(MailOut).where(MailOut.kind == kind)))


async def test_a_commitments_mail_from_the_close_to_the_due_day(
    db: Database, db_url: str, world: World, inbox: Inbox, tmp_path: Path, clock: Clock
) -> None:
    p = world.people
    await _people(db, world)
    inbox.refused.add("gone@network.example")
    meeting = await new_meeting(db, world)
    await run_to_commitments(db, world, meeting, p[:3])
    await add(db, world, meeting, MAPPING, p[0], DUE)
    await add(db, world, meeting, MENTORS, p[1], DUE)
    await add(db, world, meeting, "לבדוק כתובת", p[2], DUE)
    await lifecycle.close(db, meeting, world.staff)

    # The close: the record to everyone who came, in their language, with a calendar file.
    said = await remind(db_url, inbox, tmp_path, at(TODAY, 12))
    assert "1 failed" in said
    [record] = inbox.to("p0@network.example")
    assert str(record["Subject"]).startswith("סיכום הפגישה: ")
    assert MAPPING in body(record, "plain")
    assert MAPPING in body(record, "html")
    assert 'dir="rtl"' in body(record, "html")
    [event] = calendar_of(record).walk("VEVENT")
    assert (str(event["SUMMARY"]), event.decoded("DTSTART")) == (MAPPING, DUE)
    [english] = inbox.to("p1@network.example")
    assert str(english["Subject"]).startswith("Meeting record: ")
    assert MENTORS in body(english, "plain")
    # Every mail leads to the person's page and can be turned off in one click.
    assert f"{SITE}/me/" in body(record, "plain")
    assert record["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A refused address is failed for good, with the server's words for the backbone.
    [refused] = [r for r in await _rows(db, "record") if r.address == "gone@network.example"]
    assert (refused.state, refused.attempts) == ("failed", 1)
    assert "550" in (refused.error or "")
    [digest] = inbox.to("bb@example.org")
    assert MAPPING in body(digest, "plain")

    # Three days before the due date: one reminder each, however often remind runs, and when
    # two run at once.
    before = at(DUE - timedelta(days=3), 10)
    await asyncio.gather(*(remind(db_url, inbox, tmp_path, before) for _ in range(2)))
    await remind(db_url, inbox, tmp_path, at(DUE - timedelta(days=3), 15))
    await remind(db_url, inbox, tmp_path, at(DUE - timedelta(days=2), 10))
    [reminder] = inbox.to("p0@network.example", "נשארו 3 ימים")
    assert MAPPING in str(reminder["Subject"])
    assert len(inbox.to("p1@network.example", "Due in 3 days")) == 1
    assert len(inbox.received) == len({m["Message-ID"] for m in inbox.received})
    # The link in the reminder opens the owner's page with the commitment on it.
    page_link = (
        next(line for line in body(reminder, "plain").splitlines() if f"{SITE}/me/" in line)
        .split(": ", 1)[1]
        .strip()
    )

    # The due day with the server down: kept, tried again later, sent once.
    inbox.stop()
    down = await remind(db_url, inbox, tmp_path, at(DUE, 10))
    assert "3 to retry" in down  # the refused address too: refused only once it connects
    inbox.start()
    await remind(db_url, inbox, tmp_path, at(DUE, 10, 1))  # before its next try: nothing yet
    assert inbox.to("p0@network.example", "היום היעד") == []
    await remind(db_url, inbox, tmp_path, at(DUE, 10, 10))
    await remind(db_url, inbox, tmp_path, at(DUE, 11))
    [due] = inbox.to("p0@network.example", "היום היעד")
    # User text in a sentence is isolated (U+2068…U+2069), so mixed directions keep their order.
    assert "היום היעד של המחויבות שלך בקבוצה \u2068קבוצת עבודה\u2069:" in body(due, "plain")
    assert len(inbox.to("p1@network.example", "Due today")) == 1
    assert [r.attempts for r in await _rows(db, "due") if r.state == "sent"] == [1, 1]

    # One click on the record's "unsubscribe": no more records, other kinds still come.
    unsubscribe = str(record["List-Unsubscribe"]).strip().strip("<>")
    settings = Settings(database_url=db_url, public_url=SITE)

    def visit() -> tuple[int, int, str]:
        with TestClient(create_app(settings), base_url=SITE) as client:
            asked = client.get(unsubscribe.removeprefix(SITE))
            done = client.post(
                unsubscribe.removeprefix(SITE), content=b"List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )  # fmt: skip
            page = client.get(page_link.removeprefix(SITE))
        assert asked.status_code == 200, (unsubscribe, asked.text[:300])
        assert "לא יישלחו אליך עוד" not in asked.text  # a scanner's visit changes nothing
        return done.status_code, page.status_code, done.text + page.text

    status, page_status, text = await asyncio.to_thread(visit)
    assert (status, page_status) == (200, 200)
    assert "לא יישלחו אליך עוד: סיכומי פגישות" in text
    assert MAPPING in text
    clock.set_day(DUE + timedelta(days=1), 14)
    second = await new_meeting(db, world, group=world.other_group, day=DUE + timedelta(days=1))
    await run_to_commitments(db, world, second, p[:2])
    await add(db, world, second, "להמשיך", p[1], DUE + timedelta(days=20))
    await lifecycle.close(db, second, world.staff)
    await remind(db_url, inbox, tmp_path, at(DUE + timedelta(days=1), 16))
    assert len(inbox.to("p0@network.example", "סיכום הפגישה")) == 1
    assert len(inbox.to("p1@network.example", "Meeting record")) == 2
    [skipped] = [
        r for r in await _rows(db, "record") if r.meeting_id == second and r.person_id == p[0]
    ]
    assert (skipped.state, skipped.error) == ("skipped", "unsubscribed")
    # An overdue notice still comes the day after (another kind).
    await remind(db_url, inbox, tmp_path, at(DUE + timedelta(days=1), 17))
    assert len(inbox.to("p0@network.example", "עבר היעד")) == 1
