"""Reading bounce reports: which of our mails came back, and why.

A receiving server that takes a mail and cannot deliver it sends a report to the mail's
envelope sender, most often as RFC 3464 (``multipart/report`` with a ``message/delivery-status``
part). We find our mail by the tag it carried (see ``tags``): in the address the report came
to (VERP), or in the Message-ID the report quotes. Only ``Action: failed`` is a bounce: a
``delayed`` report says the server is still trying. A message with no such report counts only
when it came to a tagged address from a mailer daemon: a vacation reply to the same address
is not a bounce.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from typing import cast

from facilitator.db import Database
from facilitator.mail import tags
from facilitator.mail.imap import Mailbox
from facilitator.services import mail_outbox

log = logging.getLogger(__name__)
#: Read at most this much of one report (the part naming the mail comes first).
MAX_BYTES = 5_000_000
#: Who sends bounces when the report is not a standard one (RFC 5321's names).
_DAEMONS = ("mailer-daemon", "postmaster")
#: The headers where a delivering server writes the address a message came to.
_ARRIVED_AT = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


@dataclass(frozen=True)
class Bounce:
    mail_id: int
    tag: str
    #: What the report said, for the backbone: ``5.1.1 smtp; 550 5.1.1 User unknown``.
    words: str


def read(raw: bytes, *, to: str | None = None) -> Bounce | None:
    """The bounce ``raw`` reports, or ``None`` when it is not a bounce of one of our mails.
    ``to``: the address it was delivered to, when the delivering program says so."""
    message = BytesParser(policy=policy.default).parsebytes(raw[:MAX_BYTES])
    found = _by_address(message, to)
    by_address = found is not None
    if found is None:
        found = _by_quoted_id(message)
    if found is None:
        return None
    report = _recipients(message)
    if report:
        failed = [r for r in report if r.get("Action", "").strip().lower() == "failed"]
        if not failed:
            return None  # delayed, delivered, relayed: nothing came back
        words = "; ".join(_words(r) for r in failed[:3])
    elif by_address and _from_daemon(message):
        words = " ".join(str(message.get("Subject", "")).split())
    else:
        return None
    return Bounce(found[0], found[1], words or "returned, with no reason given")


async def record(db: Database, raw: bytes, *, to: str | None = None) -> Bounce | None:
    """Read ``raw`` and mark the mail it reports as bounced; the bounce, or ``None`` when it
    is not a bounce of one of our mails (a report naming a mail with the wrong tag is not). A
    second report of one bounce changes nothing."""
    bounce = read(raw, to=to)
    if bounce is None:
        return None
    done = await mail_outbox.bounced(db, bounce.mail_id, bounce.tag, bounce.words)
    if done is None:
        log.info("a bounce report named mail %s with a tag it does not have", bounce.mail_id)
        return None
    if done == "bounced":
        log.warning("mail %s bounced: %s", bounce.mail_id, bounce.words)
    return bounce


@dataclass
class Reader:
    """Reads a mailbox's bounce reports round after round, remembering the messages it read
    that were not ours so that it does not fetch them again."""

    box: Mailbox
    not_ours: set[int] = field(default_factory=set)

    async def round(self, db: Database) -> tuple[int, int]:
        """One round: (reports read, bounces of ours among them)."""
        today = db.now().date()
        reports = await asyncio.to_thread(self.box.unread_reports, today, frozenset(self.not_ours))
        ours: list[int] = []
        for uid, raw in reports:
            if await record(db, raw) is not None:
                ours.append(uid)
            else:
                self.not_ours.add(uid)
        await asyncio.to_thread(self.box.mark_read, ours)
        if len(self.not_ours) > 10_000:  # a long-running server: start over rather than grow
            self.not_ours.clear()
        return len(reports), len(ours)


def _by_address(message: Message, to: str | None) -> tuple[int, str] | None:
    addresses = [to] if to else []
    for header in _ARRIVED_AT:
        for value in message.get_all(header, []):
            addresses.extend(_addresses(value))
    for address in addresses:
        found = tags.from_return_path(address)
        if found is not None:
            return found
    return None


def _addresses(value: object) -> list[str]:
    listed = getattr(value, "addresses", None)
    if listed is not None:
        return [str(a.addr_spec) for a in listed]
    return [str(value)]


def _by_quoted_id(message: Message) -> tuple[int, str] | None:
    """The Message-ID of the mail a report returns (its headers, or the whole of it)."""
    for part in message.walk():
        kind = part.get_content_type()
        quoted: Message | None
        if kind == "text/rfc822-headers":
            quoted = HeaderParser().parsestr(str(cast(EmailMessage, part).get_content()))
        elif kind == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            quoted = first if isinstance(first, Message) else None
        else:
            continue
        if quoted is not None and (found := tags.from_message_id(str(quoted.get("Message-ID")))):
            return found
    return None


def _recipients(message: Message) -> list[Message]:
    """The per-recipient blocks of a ``message/delivery-status`` part (none when there is no
    such part)."""
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            blocks = part.get_payload()
            if isinstance(blocks, list):
                # The first block is about the report; each later one is about a recipient.
                return [b for b in blocks[1:] if isinstance(b, Message)]
    return []


def _words(block: Message) -> str:
    status = " ".join(str(block.get("Status", "")).split())
    said = " ".join(str(block.get("Diagnostic-Code", "")).split())
    return f"{status} {said}".strip()


def _from_daemon(message: Message) -> bool:
    sender = " ".join(_addresses(message.get("From", ""))).lower()
    return any(sender.startswith(name) or f"<{name}" in sender for name in _DAEMONS)
