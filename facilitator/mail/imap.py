"""Reading bounce reports from a mailbox (``FACILITATOR_BOUNCE_IMAP_URL``), for a network whose
mail is hosted where no program can be run on arrival.

``imaps://user:password@host/INBOX`` is TLS from the first byte; ``imap://…`` must offer
STARTTLS unless the host is this computer. Only unread messages of the last days that look like
reports (from a mailer daemon or postmaster, or a ``report`` content type) are read, without
marking them; those recognised as bounces of our mails are marked read after they are recorded,
so a mailbox that is also someone's inbox keeps the rest as it was. Blocking: callers run it on
a thread.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

TIMEOUT = 30.0
#: How far back a round looks, and how many reports it reads at most.
DAYS = 8
PER_ROUND = 200
#: What is fetched of one message (the reader reads no more of it).
MAX_BYTES = 256_000
_LOOK_LIKE_REPORTS = '(OR OR FROM "mailer-daemon" FROM "postmaster" HEADER "Content-Type" "report")'


class MailboxTrouble(Exception):
    """The mailbox could not be read (the reason is said); the next round tries again."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    tls: bool
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            shown = f"{parts.scheme}://{parts.hostname or ''}" if parts.scheme else "that"
            raise ValueError(
                "FACILITATOR_BOUNCE_IMAP_URL is imaps://user:password@host/INBOX or imap://…, "
                f"not {shown!r}"
            )
        tls = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if tls else 143),
            tls=tls,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.strip("/")) or "INBOX",
        )

    def unread_reports(
        self, today: date, skip: frozenset[int] = frozenset()
    ) -> tuple[str, list[tuple[int, bytes]]]:
        """The mailbox's UIDVALIDITY (UIDs mean the same only while it stays), and its unread
        messages that look like reports, the newest ``PER_ROUND``, as (UID, the message's
        first ``MAX_BYTES``), leaving them unread; those in ``skip`` (read before and
        not ours) are not fetched again."""
        since = (today - timedelta(days=DAYS)).strftime("%d-%b-%Y")
        with _trouble(), self._open() as client:
            _ok(client.select(_quoted(self.folder), readonly=True))
            validity = client.response("UIDVALIDITY")[1]
            found = _ok(client.uid("SEARCH", "UNSEEN", "SINCE", since, _LOOK_LIKE_REPORTS))
            uids = [int(u) for u in (found[0] or b"").split()]
            fresh = [u for u in uids if u not in skip][-PER_ROUND:]
            read: list[tuple[int, bytes]] = []
            for uid in fresh:
                fetched = _ok(client.uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{MAX_BYTES}>)"))
                for item in fetched:
                    if isinstance(item, tuple) and len(item) == 2:
                        read.append((uid, item[1]))
            said = validity[0] if validity and isinstance(validity[0], bytes) else b""
            return said.decode("ascii", "replace"), read

    def mark_read(self, uids: list[int]) -> None:
        if not uids:
            return
        with _trouble(), self._open() as client:
            _ok(client.select(_quoted(self.folder)))
            _ok(client.uid("STORE", ",".join(map(str, uids)), "+FLAGS", "(\\Seen)"))

    def _open(self) -> imaplib.IMAP4:
        with _trouble():
            if self.tls:
                client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT
                )
            else:
                client = imaplib.IMAP4(self.host, self.port, timeout=TIMEOUT)
                if "STARTTLS" in client.capabilities:
                    client.starttls(ssl_context=ssl.create_default_context())
                elif self.host not in ("localhost", "127.0.0.1", "::1"):
                    client.logout()
                    raise MailboxTrouble(
                        "the mailbox offers no STARTTLS: the password is not sent in the clear"
                    )
            client.login(self.user, self.password)
        return client


@contextlib.contextmanager
def _trouble() -> Iterator[None]:
    """A dropped connection or a refusal, said as ``MailboxTrouble``."""
    try:
        yield
    except (OSError, UnicodeError, imaplib.IMAP4.error) as trouble:
        raise MailboxTrouble(f"{type(trouble).__name__}: {trouble}"[:300]) from None


def _ok(answer: tuple[str, list[Any]]) -> list[Any]:
    status, data = answer
    if status != "OK":
        raise MailboxTrouble(f"the mailbox said {status}: {data!r}"[:300])
    return data


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
