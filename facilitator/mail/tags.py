"""How a mail names its outbox row so that a bounce can find it again.

Every mail carries its row's number and random tag twice: in its Message-ID
(``<fm.12.3f9a0c1d2e4b@example.org>``, which a bounce report quotes), and, when
``FACILITATOR_BOUNCE_ADDRESS`` is set, in its envelope sender (VERP: ``bounces+12.3f9a0c1d2e4b@
example.org``), to which the receiving side sends a bounce even when it quotes nothing. The tag
proves the report saw the mail: a number alone could be guessed.
"""

from __future__ import annotations

import re
from email.utils import make_msgid

from facilitator.db.models import MailOut

_MESSAGE_ID = re.compile(r"<fm\.(\d{1,18})\.([0-9a-f]{12})@[^<>\s]+>", re.IGNORECASE)
_VERP = re.compile(r"^[^+@\s]+\+(\d{1,18})\.([0-9a-f]{12})@[^@\s]+$")


def message_id(row: MailOut, domain: str) -> str:
    """The same for every try of one mail (a retry is the same mail); a row with no tag (one
    written before tags were) gets a fresh one each time."""
    if row.tag is None or row.id is None:
        return make_msgid(domain=domain)
    return f"<fm.{row.id}.{row.tag}@{domain}>"


def return_path(bounce_address: str, row: MailOut) -> str | None:
    """The envelope sender for this row, or ``None`` (no bounce address set: the server's
    own sender stays)."""
    if not bounce_address or row.tag is None or row.id is None:
        return None
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{row.id}.{row.tag}@{domain}"


def from_message_id(text: str) -> tuple[int, str] | None:
    """The row a Message-ID (or a header holding one) names, with its tag."""
    found = _MESSAGE_ID.search(text)
    return (int(found[1]), found[2].lower()) if found else None


def from_return_path(address: str) -> tuple[int, str] | None:
    """The row a VERP address names, with its tag."""
    found = _VERP.match(address.strip().strip("<>").lower())
    return (int(found[1]), found[2]) if found else None
