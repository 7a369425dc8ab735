"""``facilitator serve`` sends mail by itself: the record of a meeting closed on its console
reaches the attendees' SMTP server within seconds, and its mail rounds read the bounce reports
in the IMAP mailbox it is given; with ``FACILITATOR_SCHEDULER=off`` mail is left for
``facilitator remind`` (cron) to send."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import MailOut, Person
from tests.support.bounce_reports import report
from tests.support.imap_box import ImapBox
from tests.support.inbox import Inbox
from tests.support.live_server import (
    Server,
    close_all_clients,
    cookie_header,
    local_today,
    new_meeting,
    open_client,
    staff_client,
    start_server,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    server = Inbox()
    server.start()
    yield server
    server.stop()


def _serve(template: str, folder: Path, inbox: Inbox, scheduler: str, **more: str) -> Server:
    return start_server(
        template,
        folder,
        extra_env={
            "FACILITATOR_SMTP_URL": inbox.url,
            "FACILITATOR_MAIL_FROM": "facilitator@network.example",
            "FACILITATOR_SCHEDULER": scheduler,
            **more,
        },
    )


async def _close_a_meeting(server: Server, title: str) -> list[str]:
    """A meeting on its console with two people marked present and one commitment, closed;
    returns their addresses."""
    db = Database(server.db_url)
    addresses = []
    try:
        async with db.write() as session:
            for person_id, _name, _org in server.seeded.people[:2]:
                person = await session.get_one(Person, person_id)
                person.email = f"{title}-{person_id}@network.example"
                addresses.append(person.email)
    finally:
        await db.dispose()
    staff = await staff_client(server)
    try:
        meeting_id, _code, _view = await new_meeting(server, staff, title)
        console = await open_client(server, meeting_id, "console", {}, cookie=cookie_header(staff))
        assert (await console.command("start"))["type"] == "ack"
        for person_id, _name, _org in server.seeded.people[:2]:
            marked = await console.command("mark_present", person_id=person_id)
            assert marked["type"] == "ack", marked
        for stage in ("opener", "agenda", "commitments"):
            assert (await console.command("move", stage=stage))["type"] == "ack"
        due = (date.fromisoformat(local_today()) + timedelta(days=14)).isoformat()
        owner = server.seeded.people[0][0]
        made = await console.command("add_commitment", text="לשלוח סיכום", owner_id=owner, due=due)
        assert made["type"] == "ack", made
        assert (await console.command("close"))["type"] == "ack"
    finally:
        await close_all_clients()
        await staff.aclose()
    return addresses


async def _arrived(inbox: Inbox, addresses: list[str]) -> None:
    for _ in range(150):  # the close wakes the server's mail round: seconds, not minutes
        if all(inbox.to(address) for address in addresses):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail to {addresses} within 15 s")


async def _states(db_url: str) -> dict[str, str]:
    db = Database(db_url)
    try:
        async with db.read() as session:
            rows = await session.execute(select(MailOut.address, MailOut.state))
            return {str(address): state for address, state in rows}
    finally:
        await db.dispose()


async def test_serve_sends_the_record_at_the_close(
    migrated_template: str, tmp_path: Path, inbox: Inbox
) -> None:
    box = ImapBox()
    box.start()
    try:
        server = await asyncio.to_thread(
            _serve, migrated_template, tmp_path, inbox, "on",
            FACILITATOR_BOUNCE_ADDRESS="bounces@network.example",
            FACILITATOR_BOUNCE_IMAP_URL=box.url,
        )  # fmt: skip
    except BaseException:
        box.stop()
        raise
    try:
        addresses = await _close_a_meeting(server, "on")
        await _arrived(inbox, addresses)
        for address in addresses:
            [record] = inbox.to(address)
            assert str(record["Subject"]).startswith("סיכום הפגישה: ")
        # The first one comes back; the server's next round (woken by the next close) reads
        # the report from the mailbox and the backbone's outbox shows it.
        [first] = inbox.to(addresses[0])
        box.deliver(report("bounces@network.example", addresses[0], str(first["Message-ID"])))
        later = await _close_a_meeting(server, "later")
        expected = ["bounced", "sent", "sent", "sent"]
        for _ in range(150):  # a mail is marked sent just after the SMTP server took it
            states = await _states(server.db_url)
            if [states.get(a) for a in addresses + later] == expected:
                break
            await asyncio.sleep(0.1)
        assert [states.get(a) for a in addresses + later] == expected
    finally:
        server.stop()
        box.stop()


async def test_with_the_scheduler_off_the_server_leaves_mail_to_cron(
    migrated_template: str, tmp_path: Path, inbox: Inbox
) -> None:
    server = await asyncio.to_thread(_serve, migrated_template, tmp_path, inbox, "off")
    try:
        addresses = await _close_a_meeting(server, "off")
        await asyncio.sleep(2)
        assert not any(inbox.to(address) for address in addresses)
        db = Database(server.db_url)
        try:
            async with db.read() as session:
                waiting = list(
                    await session.scalars(select(MailOut.state).where(MailOut.kind == "record"))
                )
        finally:
            await db.dispose()
        assert waiting == ["pending", "pending"]  # written with the close, for cron to send
        async with httpx.AsyncClient(base_url=server.base) as client:
            assert (await client.get("/healthz")).status_code == 200
    finally:
        server.stop()
