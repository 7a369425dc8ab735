"""Recording bounces: a report read (``reports``) marks its mail bounced, so the backbone sees
that it did not arrive. Reports come one at a time from a mail server's pipe
(``facilitator bounces --stdin``) or round after round from an IMAP mailbox (``Reader``)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from enum import StrEnum

from facilitator.db import Database
from facilitator.mail import reports
from facilitator.mail.imap import Mailbox
from facilitator.services import mail_outbox

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    #: Marked bounced now.
    RECORDED = "recorded"
    #: Ours, and marked before (a second report of one bounce).
    AGAIN = "again"
    #: Ours, but not marked sent yet (the report beat the sender's own note): try again later.
    EARLY = "early"
    #: Not a bounce, or not of one of our mails.
    NOT_OURS = "not ours"


async def record(
    db: Database, raw: bytes, *, to: str | None = None
) -> tuple[Outcome, reports.Bounce | None]:
    """Read ``raw`` (on a thread: a hostile message must not hold up the room) and mark the
    mail it reports as bounced. A report naming a mail with the wrong tag is not ours."""
    bounce = await asyncio.to_thread(reports.read, raw, to=to)
    if bounce is None:
        return Outcome.NOT_OURS, None
    done = await mail_outbox.bounced(db, bounce.mail_id, bounce.tag, bounce.words)
    if done is None:
        log.info("a bounce report named mail %s with a tag it does not have", bounce.mail_id)
        return Outcome.NOT_OURS, None
    if done == "bounced":
        log.warning("mail %s bounced: %s", bounce.mail_id, bounce.words)
        return Outcome.RECORDED, bounce
    return (Outcome.EARLY if done == "pending" else Outcome.AGAIN), bounce


@dataclass
class Reader:
    """Reads a mailbox's bounce reports round after round, remembering the messages it read
    that were not ours (by the mailbox's UIDVALIDITY: a rebuilt mailbox starts over) so that it
    does not fetch them again."""

    box: Mailbox
    not_ours: set[int] = field(default_factory=set)
    validity: str = ""

    async def round(self, db: Database) -> tuple[int, int]:
        """One round: (reports read, bounces of ours among them)."""
        today = db.now().date()
        validity, found = await asyncio.to_thread(
            self.box.unread_reports, today, frozenset(self.not_ours)
        )
        if validity != self.validity or len(self.not_ours) > 10_000:
            self.validity, self.not_ours = validity, set()
        ours: list[int] = []
        for uid, raw in found:
            outcome, _ = await record(db, raw)
            if outcome in (Outcome.RECORDED, Outcome.AGAIN):
                ours.append(uid)
            elif outcome is Outcome.NOT_OURS:
                self.not_ours.add(uid)
            # EARLY: left unread, for the next round
        await asyncio.to_thread(self.box.mark_read, ours)
        return len(found), len(ours)
