"""Bounces reach the backbone. The real ``facilitator remind`` sends each mail through a real
SMTP server (aiosmtpd) from its own tagged return address, with a Message-ID that names it;
the receiving side's reports then come back the two ways a network can set up: piped by a mail
server into ``facilitator bounces --stdin`` (a second aiosmtpd plays that server), and read from
a real IMAP mailbox (Dovecot) by ``facilitator bounces``. The backbone's page lists each
returned mail with the report's words; delays, vacation replies, forged tags and other people's
mail change nothing, and the mailbox's other messages stay unread."""

from __future__ import annotations

import asyncio
import re
import smtplib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.db import Database
from facilitator.db.models import MailOut, Person
from facilitator.services import lifecycle
from facilitator.settings import Settings
from tests.support.bounce_reports import report, vacation
from tests.support.imap_box import ImapBox
from tests.support.inbox import Inbox
from tests.support.mail_commands import SITE, at, facilitator, remind
from tests.support.meetings import add, new_meeting, run_to_commitments
from tests.support.ports import free_port
from tests.support.world import POSTGRES, TODAY, Clock, World

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(POSTGRES), reason="the commands run on the test's SQLite file"),
]

BOUNCES = "bounces@network.example"
ADDRESSES = ("ruth@partner.example", "dan@partner.example", "noa@partner.example")


class PipingServer:
    """The network's own mail server for the bounce address: each message is piped into
    ``facilitator bounces --stdin``, with the address it came to in ``ORIGINAL_RECIPIENT`` (as
    Postfix's pipe does); the command's failure is a temporary refusal, so nothing is lost."""

    def __init__(self, folder: Path, db_url: str) -> None:
        self.folder, self.db_url, self.port = folder, db_url, free_port()
        self.said: list[str] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        env = {"DATABASE_URL": self.db_url, "ORIGINAL_RECIPIENT": envelope.rcpt_tos[0]}
        status, said = await facilitator(self.folder, "bounces", "--stdin", env=env, stdin=raw)
        self.said.append(said)
        # As Postfix's pipe answers: 75 is "later", any other failure bounces the message.
        if status == 0:
            return "250 delivered"
        return "451 4.3.0 try again later" if status == 75 else f"554 5.3.0 failed ({status})"

    def deliver(self, to: str, raw: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as client:
            client.sendmail("", [to], raw)

    def __enter__(self) -> PipingServer:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()


async def _records(db: Database) -> dict[str, MailOut]:
    async with db.read() as session:
        rows = await session.scalars(select(MailOut).where(MailOut.kind == "record"))
        return {str(r.address): r for r in rows}


def _backbone_page(db_url: str, clock: Clock) -> str:
    """The backbone's page in English, on the test's calendar (its last 30 days)."""
    settings = Settings(database_url=db_url, public_url=SITE)
    database = Database(db_url, clock=clock)
    with TestClient(create_app(settings, database=database), base_url=SITE) as client:
        client.get("/login")
        signed_in = client.post(
            "/login",
            data={"csrf": client.cookies.get("fac_csrf"), "email": "bb@example.org",
                  "password": "a long password"},
            follow_redirects=False,
        )  # fmt: skip
        assert signed_in.status_code == 303, signed_in.text[:300]
        page = client.get("/backbone?lang=en")
        assert page.status_code == 200
        assert client.portal is not None
        client.portal.call(database.dispose)  # the app closes only a database it opened
        return page.text


async def test_bounces_come_back_to_the_backbone(
    db: Database,
    db_url: str,
    world: World,
    inbox: Inbox,
    imap: ImapBox,
    tmp_path: Path,
    clock: Clock,
) -> None:
    p = world.people
    async with db.write() as session:
        for n, address in enumerate(ADDRESSES):
            (await session.get_one(Person, p[n])).email = address
    meeting = await new_meeting(db, world)
    await run_to_commitments(db, world, meeting, p[:3])
    await add(db, world, meeting, "Map the mentoring programmes", p[0], TODAY + timedelta(days=9))
    await lifecycle.close(db, meeting, world.staff)
    await remind(db_url, inbox, tmp_path, at(TODAY, 12), FACILITATOR_BOUNCE_ADDRESS=BOUNCES)

    # Each record went from its own return address, with a Message-ID naming its row.
    rows = await _records(db)
    assert {a: rows[a].state for a in ADDRESSES} == dict.fromkeys(ADDRESSES, "sent")
    for address in ADDRESSES:
        row = rows[address]
        [mail] = inbox.to(address)
        assert re.fullmatch(r"[0-9a-f]{12}", str(row.tag))
        assert mail["Message-ID"] == f"<fm.{row.id}.{row.tag}@network.example>"
        assert inbox.senders[mail["Message-ID"]] == f"bounces+{row.id}.{row.tag}@network.example"
    ruth, dan, noa = (rows[a] for a in ADDRESSES)

    with PipingServer(tmp_path, db_url) as mx:
        # Ruth's partner server reports to her mail's return address; the report's own To
        # says only the plain address (the pipe's ORIGINAL_RECIPIENT names the tagged one).
        verp = inbox.senders[f"<fm.{ruth.id}.{ruth.tag}@network.example>"]
        await asyncio.to_thread(mx.deliver, verp, report(BOUNCES, ADDRESSES[0], "<x@mx>"))
        # A forged report: Noa's mail number with a made-up tag.
        forged = f"bounces+{noa.id}.0123456789ab@network.example"
        await asyncio.to_thread(mx.deliver, forged, report(forged, ADDRESSES[2], "<y@mx>"))
        # Someone's vacation reply to Noa's return address.
        noa_verp = f"bounces+{noa.id}.{noa.tag}@network.example"
        await asyncio.to_thread(mx.deliver, noa_verp, vacation(noa_verp))
        # Whatever arrives, however strange, is taken (a mail server would bounce the bounce
        # on any other answer) and changes nothing.
        for strange in (b"To: =?utf-8?q?<\r\n\r\n", b"\xff" * 900, b""):
            await asyncio.to_thread(mx.deliver, noa_verp, strange)
    last = [said.splitlines()[-1] for said in mx.said]
    assert last[0].startswith(f"mail {ruth.id} bounced: 5.1.1"), mx.said
    assert last[1:] == ["not a bounce of one of our mails"] * 5, mx.said

    # Dan's bounce lands in a mailbox read over IMAP, with a delay notice and a person's mail.
    dan_id = f"<fm.{dan.id}.{dan.tag}@network.example>"
    bounced = imap.deliver(report(BOUNCES, ADDRESSES[1], dan_id, status="5.2.2",
                                  diagnostic="smtp; 552 5.2.2 <{r}>: Mailbox full"))  # fmt: skip
    delayed = imap.deliver(
        report(BOUNCES, ADDRESSES[2], f"<fm.{noa.id}.{noa.tag}@network.example>",
               action="delayed", status="4.4.1")
    )  # fmt: skip
    personal = imap.deliver(vacation(BOUNCES).replace(b"Out of office", b"Lunch on Sunday?"))
    env = {"DATABASE_URL": db_url, "FACILITATOR_BOUNCE_IMAP_URL": imap.url}
    status, said = await facilitator(tmp_path, "bounces", env=env)
    assert (status, said.splitlines()[-1]) == (0, "2 reports read, 1 bounces of our mails recorded")
    assert imap.read_uids() == {bounced}  # the delay and the person's mail stay unread
    assert {delayed, personal}.isdisjoint(imap.read_uids())
    status, said = await facilitator(tmp_path, "bounces", env=env)
    assert (status, said.splitlines()[-1]) == (0, "1 reports read, 0 bounces of our mails recorded")

    rows = await _records(db)
    assert [rows[a].state for a in ADDRESSES] == ["bounced", "bounced", "sent"]
    assert "User unknown" in str(rows[ADDRESSES[0]].error)
    assert str(rows[ADDRESSES[1]].error).startswith("5.2.2 smtp; 552 5.2.2")
    assert rows[ADDRESSES[0]].bounced_at is not None

    # The backbone sees both as not arrived, with what the reports said.
    page = await asyncio.to_thread(_backbone_page, db_url, clock)
    part = page[page.index('id="mail-title"') :]
    assert part.count("Returned after sending") == 2
    assert "Mailbox full" in part
    assert ADDRESSES[2] not in part

    # No database where the pipe looks (another user, another folder): "try again later",
    # and nothing created there.
    missing = tmp_path / "elsewhere" / "facilitator.db"
    status, said = await facilitator(
        tmp_path, "bounces", "--stdin", stdin=report(verp, ADDRESSES[0], "<x@mx>"),
        env={"DATABASE_URL": f"sqlite+aiosqlite:///{missing}"},
    )  # fmt: skip
    assert (status, missing.exists()) == (75, False), said
    assert "no database at" in said

    # A mailbox that cannot be reached: the command says so and asks to be run again.
    status, said = await facilitator(
        tmp_path, "bounces",
        env={**env, "FACILITATOR_BOUNCE_IMAP_URL": f"imap://b:c@127.0.0.1:{free_port()}/INBOX"},
    )  # fmt: skip
    assert status == 75, said
    assert "bounces not read" in said
