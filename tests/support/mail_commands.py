"""The real ``facilitator remind`` and ``facilitator bounces`` commands, run as a mail server or
cron would run them, on the test's database."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

from tests.support.inbox import Inbox

BIN = Path(sys.executable).parent
SITE = "http://meet.example"
MAIL_FROM = "facilitator@network.example"


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), UTC).isoformat()


async def facilitator(
    folder: Path, *args: str, env: dict[str, str], stdin: bytes | None = None
) -> tuple[int, str]:
    """Run the command; its exit status and what it said."""
    process = await asyncio.create_subprocess_exec(
        str(BIN / "facilitator"), *args, cwd=folder, env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def remind(db_url: str, inbox: Inbox, folder: Path, now: str, **more: str) -> str:
    """``facilitator remind --now NOW`` through ``inbox``; what it said (it must succeed)."""
    env = {
        "DATABASE_URL": db_url,
        "FACILITATOR_SMTP_URL": inbox.url,
        "FACILITATOR_MAIL_FROM": MAIL_FROM,
        "FACILITATOR_PUBLIC_URL": SITE,
        **more,
    }
    status, said = await facilitator(folder, "remind", "--now", now, env=env)
    assert status == 0, said
    return said
