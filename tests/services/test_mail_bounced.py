"""Marking a mail bounced, on the test database (SQLite, or PostgreSQL in ``make test-postgres``):
only with the mail's own tag, only once it went, once however often the report comes; a mail
sent again gets a new tag, so a late report of the earlier try does not mark it; the backbone
counts a bounce as not arrived."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import MailOut
from facilitator.services import mail_outbox
from facilitator.services.mail_outbox import Mail
from tests.support.world import TODAY, World


async def _row(db: Database) -> MailOut:
    async with db.read() as session:
        return (await session.scalars(select(MailOut))).one()


async def test_a_bounce_needs_the_mails_own_tag_and_a_mail_that_went(
    db: Database, world: World
) -> None:
    mail = Mail(world.network, "link", f"person:{world.people[0]}", TODAY,
                person_id=world.people[0], group_id=world.group)  # fmt: skip
    async with db.write() as session:
        assert await mail_outbox.put(session, [mail], db.now()) == 1
    row = await _row(db)
    assert row.tag is not None
    assert len(row.tag) == 12
    # Not sent yet: the report came first, and is to be read again later.
    assert await mail_outbox.bounced(db, row.id, row.tag, "5.1.1 early") == "pending"
    claim, [taken] = await mail_outbox.claim_due(db, db.now())
    await mail_outbox.sent(db, taken, claim, "ruth@partner.example")

    assert await mail_outbox.bounced(db, row.id, "0123456789ab", "forged") is None
    assert await mail_outbox.bounced(db, row.id + 1, row.tag, "no such mail") is None
    assert (await _row(db)).state == "sent"
    assert await mail_outbox.bounced(db, row.id, row.tag, "5.1.1 user unknown") == "bounced"
    assert await mail_outbox.bounced(db, row.id, row.tag, "5.1.1 again") == "bounced"
    bounced = await _row(db)
    assert (bounced.state, bounced.error) == ("bounced", "5.1.1 user unknown")
    assert bounced.bounced_at is not None

    async with db.read() as session:
        counts = await mail_outbox.counts_by_group(
            session, [world.group], db.now() - timedelta(days=30)
        )
        listed = await mail_outbox.failures(session, world.network, db.now() - timedelta(days=30))
    assert counts == {world.group: {"sent": 0, "failed": 1}}
    assert [r.id for r in listed] == [row.id]

    # Staff send it again (a fixed address): a new tag, so the old report marks nothing.
    async with db.write() as session:
        assert await mail_outbox.again(session, mail, db.now())
    again = await _row(db)
    assert again.state == "pending"
    assert again.tag != row.tag
    assert again.bounced_at is None
    claim, [taken] = await mail_outbox.claim_due(db, db.now())
    await mail_outbox.sent(db, taken, claim, "ruth@partner.example")
    assert await mail_outbox.bounced(db, row.id, row.tag, "late report") is None
    assert (await _row(db)).state == "sent"
