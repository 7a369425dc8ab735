"""Reading bounce reports: which of our mails came back, and why (pure: bytes in, an answer
out; recording it is ``bounces``).

A receiving server that takes a mail and cannot deliver it sends a report to the mail's
envelope sender, most often as RFC 3464 (``multipart/report`` with a ``message/delivery-status``
part, or RFC 6533's ``message/global-delivery-status``). We find our mail by the tag it carried
(see ``tags``): in the address the report came to (VERP), or in the Message-ID the report
quotes. Only ``Action: failed`` is a bounce: a ``delayed`` report says the server is still
trying. A message with no such report counts only when it came to a tagged address from a
mailer daemon: a vacation reply to the same address is not a bounce.

Anyone can send a message to a bounce address, so reading is bounded and never raises: a
message too big or too strange to read is simply not a bounce of ours.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser

from facilitator.mail import tags

log = logging.getLogger(__name__)
#: Read at most this much of one report: the parts naming the mail come first, and a report
#: that returns a whole mail is cut, not refused.
MAX_BYTES = 256_000
#: A header section bigger than this is not a report (and would be slow to parse).
MAX_HEADER_BYTES = 32_000
#: More parts than this (nested or not) is not a report, and would be slow to parse.
MAX_PARTS = 100
#: Per-recipient blocks read from one report, and reasons kept from them.
MAX_BLOCKS, MAX_REASONS = 50, 3
#: Who sends bounces when the report is not a standard one (RFC 5321's names).
_DAEMONS = ("mailer-daemon", "postmaster")
#: The headers where a delivering server writes the address a message came to.
_ARRIVED_AT = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_HEADERS_TYPES = ("text/rfc822-headers", "message/global-headers")
_MESSAGE_TYPES = ("message/rfc822", "message/global")
_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")


@dataclass(frozen=True)
class Bounce:
    mail_id: int
    tag: str
    #: What the report said, for the backbone: ``5.1.1 smtp; 550 5.1.1 User unknown``.
    words: str


def read(raw: bytes, *, to: str | None = None) -> Bounce | None:
    """The bounce ``raw`` reports, or ``None`` when it is not a bounce of one of our mails.
    ``to``: the address it was delivered to, when the delivering program says so."""
    raw = raw[:MAX_BYTES]
    head = _BLANK_LINE.search(raw[: MAX_HEADER_BYTES + 4].decode("latin-1"))
    if head is None and len(raw) > MAX_HEADER_BYTES:
        return None
    if raw.lower().count(b"content-type") > MAX_PARTS:  # a report has a handful of parts
        return None
    try:
        return _read(BytesParser(policy=policy.default).parsebytes(raw), to)
    except Exception as strange:  # hostile input: whatever breaks the parser
        log.info("a message to the bounce address could not be read: %r", strange)
        return None


def _read(message: Message, to: str | None) -> Bounce | None:
    found = _by_address(message, to)
    by_address = found is not None
    if found is None:
        found = _by_quoted_id(message)
    if found is None:
        return None
    report = _recipients(message)
    if report:
        failed = [r for r in report if str(r.get("Action", "")).strip().lower() == "failed"]
        if not failed:
            return None  # delayed, delivered, relayed: nothing came back
        words = "; ".join(_words(r) for r in failed[:MAX_REASONS])
    elif by_address and _from_daemon(message):
        words = " ".join(str(message.get("Subject", "")).split())
    else:
        return None
    return Bounce(found[0], found[1], words[:500] or "returned, with no reason given")


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
        quoted: Message | None = None
        if kind == "text/rfc822-headers" and isinstance(part, EmailMessage):
            quoted = HeaderParser().parsestr(str(part.get_content()))
        elif kind in _HEADERS_TYPES + _MESSAGE_TYPES:
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            quoted = first if isinstance(first, Message) else None
        if quoted is not None and (found := tags.from_message_id(str(quoted.get("Message-ID")))):
            return found
    return None


def _recipients(message: Message) -> list[Message]:
    """The per-recipient blocks of a delivery status part (none when there is no such part).

    The first block is about the report, each later one about a recipient. The standard
    library reads ``message/delivery-status`` as one header block each, but the global kind as
    one message whose body holds the later blocks: those are read here."""
    for part in message.walk():
        if part.get_content_type() not in _STATUS_TYPES:
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list) or not blocks:
            return []
        if len(blocks) > 1:
            return [b for b in blocks[1:MAX_BLOCKS] if isinstance(b, Message)]
        rest = blocks[0].get_payload() if isinstance(blocks[0], Message) else None
        if not isinstance(rest, str):
            return []
        texts = [t for t in _BLANK_LINE.split(rest.strip()) if t.strip()]
        return [HeaderParser().parsestr(t) for t in texts[:MAX_BLOCKS]]
    return []


def _words(block: Message) -> str:
    status = " ".join(str(block.get("Status", "")).split())
    said = " ".join(str(block.get("Diagnostic-Code", "")).split())
    return f"{status} {said}".strip()


def _from_daemon(message: Message) -> bool:
    sender = " ".join(_addresses(message.get("From", ""))).lower()
    return any(sender.startswith(name) or f"<{name}" in sender for name in _DAEMONS)
