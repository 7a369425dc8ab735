"""Send what is due: write the reminders, notices and digests due by ``now`` into the outbox,
then send every pending mail whose time has come (``facilitator remind``, and every few
minutes inside ``facilitator serve`` unless ``FACILITATOR_SCHEDULER=off``).

Safe to run twice at once: the outbox's unique key writes each mail once, and a sender sends
only rows it claimed. SMTP talk runs on a thread; the event loop only waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from facilitator.db import Database
from facilitator.db.models import MailOut
from facilitator.mail import tags
from facilitator.mail.bounces import Reader
from facilitator.mail.compose import Outgoing, Skip, compose
from facilitator.mail.imap import MailboxTrouble
from facilitator.mail.smtp import SendFailed, SmtpServer
from facilitator.services import mail_due, mail_outbox

log = logging.getLogger(__name__)
#: How often ``serve`` looks for mail to send.
EVERY_SECONDS = 300.0


@dataclass
class Tally:
    written: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.written} written, {self.sent} sent, {self.retrying} to retry, "
            f"{self.failed} failed, {self.skipped} skipped"
        )


async def run(
    db: Database, smtp_url: str, out: Outgoing, *, say: Callable[[str], None] | None = None
) -> Tally:
    """One round at ``db.now()``. With ``out.dry_run`` nothing is written or sent: what would
    go is said instead."""
    tally = Tally()
    now = db.now()
    if out.dry_run:
        unwritten = await mail_due.unwritten(db, now)
        rows = await mail_outbox.pending(db, now) + [unsent_row(mail, now) for mail in unwritten]
        for row in rows:
            if mail_outbox.stale(row, now):
                tally.lines.append(f"skip  {row.kind} {row.about} {row.day}: too late")
                tally.skipped += 1
                continue
            try:
                message = await compose(db, row, out)
            except Skip as reason:
                tally.lines.append(f"skip  {row.kind} {row.about} {row.day}: {reason}")
                tally.skipped += 1
                continue
            tally.lines.append(f"send  {row.kind} {row.about} {row.day} to {message['To']}: "
                               f"{message['Subject']}")  # fmt: skip
            tally.sent += 1
        for line in tally.lines:
            (say or print)(line)
        return tally
    server = SmtpServer.from_url(smtp_url)
    tally.written = await mail_due.write_due(db, now)
    while True:
        claim, rows = await mail_outbox.claim_due(db, now)
        if not rows:
            return tally
        for row in rows:
            await _send(db, server, out, row, claim, tally)


async def _send(
    db: Database, server: SmtpServer, out: Outgoing, row: MailOut, claim: str, tally: Tally
) -> None:
    if mail_outbox.stale(row, db.now()):
        await mail_outbox.skipped(db, row, claim, "too late")
        tally.skipped += 1
        return
    try:
        message = await compose(db, row, out)
    except Skip as reason:
        await mail_outbox.skipped(db, row, claim, str(reason))
        tally.skipped += 1
        return
    except Exception as broken:  # one mail that cannot be written must not hold up the rest
        log.exception("mail %s %s could not be composed", row.kind, row.about)
        await mail_outbox.failed(db, row, claim, None, f"not composed: {broken!r}", permanent=True)
        tally.failed += 1
        return
    address = str(message["To"].addresses[0].addr_spec)
    try:
        await asyncio.to_thread(server.send, message, tags.return_path(out.bounce_address, row))
    except SendFailed as failure:
        await mail_outbox.failed(db, row, claim, address, str(failure), permanent=failure.permanent)
        permanent = failure.permanent or row.attempts + 1 > len(mail_outbox.RETRY_MINUTES)
        if permanent:
            tally.failed += 1
        else:
            tally.retrying += 1
        log.warning("mail %s %s not sent (%s): %s", row.kind, row.about, address, failure)
        return
    await mail_outbox.sent(db, row, claim, address)
    tally.sent += 1


def unsent_row(mail: mail_outbox.Mail, now: object) -> MailOut:
    return MailOut(**asdict(mail), state="pending", attempts=0, next_try_at=now, created_at=now)


class Scheduler:
    """``serve``'s own round every ``EVERY_SECONDS`` (and soon after ``wake``)."""

    def __init__(
        self, db: Database, smtp_url: str, out: Outgoing, bounces: Reader | None = None
    ) -> None:
        self.db, self.smtp_url, self.out, self.bounces = db, smtp_url, out, bounces
        self._wake = asyncio.Event()
        self._bounces_due = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._wake.set()  # a first round at once: mail that waited while the server was down
        self._tasks.append(asyncio.create_task(self._loop(), name="mail-scheduler"))
        if self.bounces is not None:
            # Its own task: a slow mailbox never holds up the mail, nor a failed mail round it.
            self._tasks.append(asyncio.create_task(self._bounce_loop(), name="mail-bounces"))

    def wake(self) -> None:
        """Something was written to send now (a link staff sent): don't wait for the round."""
        self._wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), EVERY_SECONDS)
            self._wake.clear()
            self._bounces_due.set()  # reports are read after each mail round, whatever it did
            try:
                tally = await run(self.db, self.smtp_url, self.out)
            except Exception:  # one bad round must not end the rounds to come
                log.exception("mail round failed")
                continue
            if tally.written or tally.sent or tally.failed or tally.retrying:
                log.info("mail: %s", tally.summary())

    async def _bounce_loop(self) -> None:
        assert self.bounces is not None
        while True:
            await self._bounces_due.wait()
            self._bounces_due.clear()
            try:
                read, ours = await self.bounces.round(self.db)
            except MailboxTrouble as trouble:  # the mailbox is down: the next round tries
                log.warning("bounce reports not read: %s", trouble)
            except Exception:
                log.exception("bounce round failed")
            else:
                if ours:
                    log.info("bounces: %s reports read, %s of our mails came back", read, ours)
