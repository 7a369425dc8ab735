"""``facilitator remind``: write the mail due now, send what is pending, and exit (for cron or a
systemd timer; two at once send nothing twice)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from facilitator import migrate
from facilitator.db import Database
from facilitator.mail import bounce_command
from facilitator.mail.compose import Outgoing
from facilitator.mail.remind import run
from facilitator.mail.smtp import SmtpServer
from facilitator.settings import Settings


def add_parser(sub: Any) -> None:
    remind = sub.add_parser(
        "remind",
        help="send the mail due now (meeting records, reminders, overdue notices, the weekly "
        "digest) through FACILITATOR_SMTP_URL, then exit",
    )
    remind.add_argument(
        "--now",
        type=moment,
        help="act as if it were this moment (ISO 8601; UTC unless it names its offset)",
    )
    remind.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; send and write nothing"
    )
    remind.set_defaults(run=cmd_remind)
    bounce_command.add_parser(sub)


def moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 moment: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def cmd_remind(settings: Settings, args: argparse.Namespace) -> int:
    if not args.dry_run:
        if not settings.smtp_url:
            print("no SMTP server is set (FACILITATOR_SMTP_URL): nothing sent", file=sys.stderr)
            return 2
        if not settings.mail_from:
            print("no sender is set (FACILITATOR_MAIL_FROM): nothing sent", file=sys.stderr)
            return 2
        try:
            SmtpServer.from_url(settings.smtp_url)
        except ValueError as wrong:
            print(wrong, file=sys.stderr)
            return 2
    migrate.upgrade(settings.database_url)
    return asyncio.run(_remind(settings, args))


async def _remind(settings: Settings, args: argparse.Namespace) -> int:
    fixed: datetime | None = args.now
    db = Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        **({"clock": lambda: fixed} if fixed is not None else {}),
    )
    try:
        out = Outgoing(settings.public_url, settings.mail_from or "facilitator@localhost",
                       dry_run=args.dry_run, bounce_address=settings.bounce_address)  # fmt: skip
        tally = await run(db, settings.smtp_url, out)
    finally:
        await db.dispose()
    if args.dry_run:
        print(f"dry run: {tally.sent} would be sent, {tally.skipped} skipped", flush=True)
    else:
        print(tally.summary(), flush=True)
    return 0
