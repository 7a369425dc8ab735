"""``facilitator bounces``: record the bounce reports of our mails, from a mail server's pipe
(``--stdin``, one message) or from the IMAP mailbox ``FACILITATOR_BOUNCE_IMAP_URL``.

A mail server treats a pipe's exit status as its answer: 0 is "delivered", 75 (EX_TEMPFAIL)
"keep it and try again later", anything else "bounce it". So with ``--stdin`` the command
exits 0 for any message it read, ours or not, and 75 when it could not record (no database,
or one not at this version's schema); it never migrates or creates a database, since it may
run as the mail server's own user in another directory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from facilitator import migrate
from facilitator.db import Database
from facilitator.db.database import sqlite_file
from facilitator.mail import bounces
from facilitator.mail.imap import Mailbox, MailboxTrouble
from facilitator.mail.reports import MAX_BYTES
from facilitator.settings import Settings

log = logging.getLogger(__name__)
TRY_LATER = 75  # EX_TEMPFAIL


class NotReady(Exception):
    """The database is not there, or not at this version's schema."""


def add_parser(sub: Any) -> None:
    command = sub.add_parser(
        "bounces",
        help="record bounce reports of our mails (shown to the backbone): one message on "
        "standard input (--stdin, for a mail server's pipe), else the unread reports in "
        "FACILITATOR_BOUNCE_IMAP_URL",
    )
    command.add_argument(
        "--stdin", action="store_true", help="read one message from standard input"
    )
    command.add_argument(
        "--to",
        default=os.environ.get("ORIGINAL_RECIPIENT") or os.environ.get("RECIPIENT"),
        help="the address the message came to (a mail server's pipe sets ORIGINAL_RECIPIENT)",
    )
    command.set_defaults(run=cmd_bounces)


def cmd_bounces(settings: Settings, args: argparse.Namespace) -> int:
    if not args.stdin and not settings.bounce_imap_url:
        print("nothing to read: give --stdin, or set FACILITATOR_BOUNCE_IMAP_URL", file=sys.stderr)
        return 2
    try:
        box = None if args.stdin else Mailbox.from_url(settings.bounce_imap_url)
    except ValueError as wrong:
        print(wrong, file=sys.stderr)
        return 2
    try:
        raw = sys.stdin.buffer.read(MAX_BYTES) if args.stdin else b""
        return asyncio.run(_bounces(settings, raw, args.to, box))
    except (NotReady, MailboxTrouble, SQLAlchemyError, OSError) as trouble:
        print(f"bounces not read: {trouble}", file=sys.stderr)
        return TRY_LATER
    except Exception:  # a mail server must hear "later", never "bounce the bounce"
        if box is not None:
            raise
        log.exception("a bounce report could not be recorded")
        return TRY_LATER


async def _bounces(settings: Settings, raw: bytes, to: str | None, box: Mailbox | None) -> int:
    path = sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        raise NotReady(f"no database at {path} (is DATABASE_URL set for this user?)")
    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        await _at_this_schema(db)
        if box is None:
            outcome, found = await bounces.record(db, raw, to=to)
            if outcome is bounces.Outcome.EARLY:
                print("a bounce of a mail not marked sent yet: try again later", flush=True)
                return TRY_LATER
            print(f"mail {found.mail_id} bounced: {found.words}" if found
                  else "not a bounce of one of our mails", flush=True)  # fmt: skip
        else:
            read, ours = await bounces.Reader(box).round(db)
            print(f"{read} reports read, {ours} bounces of our mails recorded", flush=True)
    finally:
        await db.dispose()
    return 0


async def _at_this_schema(db: Database) -> None:
    async with db.read() as session:
        try:
            found = await session.scalar(text("SELECT version_num FROM alembic_version"))
        except SQLAlchemyError:
            found = None
    if found != migrate.known_revisions()[-1]:
        raise NotReady(f"the database's schema is {found or 'none'}: run 'facilitator migrate'")
