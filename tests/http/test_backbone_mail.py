"""'Between meetings' on the backbone's page counts the mail sent and not arrived (failed, or
returned by a bounce) about each group in the last 30 days and lists those with what the mail
server said, escaped, in both languages; a facilitator sees their groups' mail only, and no
digests."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.db import Database
from facilitator.db.models import MailOut, StaffUser
from facilitator.services import network
from facilitator.settings import Settings
from tests.support.admin_site import Site, seed_admin_network
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")

REJECTED = "550 5.1.1 <ruth@example.org>: Recipient address rejected <b>here</b>"
FULL = "452 4.2.2 Mailbox full (תיבה מלאה)"
DIGEST_DOWN = "421 4.3.0 Service not available"
LONG_AGO = "554 an old failure, outside the window"
BOUNCED = "5.1.1 smtp; 550 5.1.1 <r2@example.org>: User unknown"


def _put(url: str, ids: dict[str, int]) -> dict[str, int]:
    """A second group the facilitator does not look after, the facilitator on the first, and
    mails about both and about no group."""

    async def run() -> dict[str, int]:
        db = Database(url)
        try:
            other = await network.add_group(db, ids["network"], "פורום <i>שכונה</i>", "forum")
            async with db.read() as session:
                found = await session.execute(select(StaffUser.email, StaffUser.id))
                users = {row.email: row.id for row in found}
            await network.assign_staff(db, ids["group"], users["fac@example.org"])
            now = datetime.now(UTC)
            rows: list[dict[str, Any]] = [
                # The working group: two went, one failed.
                {"kind": "record", "about": "meeting:1/person:1", "group_id": ids["group"],
                 "person_id": ids["ruth"], "state": "sent", "address": "ruth@example.org"},
                {"kind": "reminder", "about": "commitment:1", "group_id": ids["group"],
                 "person_id": ids["ruth2"], "state": "sent", "address": "r2@example.org"},
                {"kind": "due", "about": "commitment:2", "group_id": ids["group"],
                 "person_id": ids["ruth"], "state": "failed", "address": "ruth@example.org",
                 "error": REJECTED},
                # Taken by our server, then sent back by the receiving side: not arrived.
                {"kind": "reminder", "about": "commitment:5", "group_id": ids["group"],
                 "person_id": ids["ruth2"], "state": "bounced", "address": "r2@example.org",
                 "error": BOUNCED},
                # Still pending, and skipped: neither sent nor failed.
                {"kind": "overdue", "about": "commitment:3", "group_id": ids["group"],
                 "person_id": ids["ruth"], "state": "pending"},
                {"kind": "overdue", "about": "commitment:4", "group_id": ids["group"],
                 "person_id": ids["ruth"], "state": "skipped", "error": "no address"},
                # The other group: one failed.
                {"kind": "record", "about": "meeting:2/person:3", "group_id": other,
                 "person_id": ids["dan"], "state": "failed", "address": "dan@example.org",
                 "error": FULL},
                # About no group: the backbone's digest failed.
                {"kind": "digest", "about": f"user:{users['bb@example.org']}", "group_id": None,
                 "staff_user_id": users["bb@example.org"], "state": "failed",
                 "address": "bb@example.org", "error": DIGEST_DOWN},
                # Long ago: outside the 30 days.
                {"kind": "record", "about": "meeting:0/person:1", "group_id": ids["group"],
                 "person_id": ids["ruth"], "state": "failed", "address": "ruth@example.org",
                 "error": LONG_AGO, "created_at": now - timedelta(days=40)},
            ]  # fmt: skip
            async with db.write() as session:
                for row in rows:
                    session.add(
                        MailOut(
                            network_id=ids["network"],
                            day=date(2026, 3, 1),
                            attempts=1,
                            next_try_at=now,
                            **{"created_at": now - timedelta(hours=2), **row},
                        )
                    )
            return {"other": other}
        finally:
            await db.dispose()

    return asyncio.run(run())


def _mail_part(page: str) -> str:
    start = page.index('id="mail-title"')
    return page[start : page.index("</section>", start)]


def _counts(part: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(
        r'<tr class="mail-group"><td dir="auto">(.*?)</td><td class="num">(\d+)</td>'
        r'<td class="num[^"]*">(\d+)</td></tr>',
        part,
    )
    return {html.unescape(name): (int(sent), int(failed)) for name, sent, failed in rows}


@pytest.fixture
def mailed(migrated_template: str, tmp_path: Path) -> Iterator[Site]:
    """The admin network with mail in its outbox, served."""
    db_file = tmp_path / "admin.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    ids = asyncio.run(seed_admin_network(url))
    ids.update(_put(url, ids))
    settings = Settings(allowed_hosts=("testserver",), database_url=url)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield Site(client, ids)


def test_mail_sent_and_failed_between_meetings(mailed: Site) -> None:
    site = mailed

    site.login("bb@example.org")
    page = site.client.get("/backbone?lang=en")
    assert page.status_code == 200
    part = _mail_part(page.text)
    assert "Mail in the last 30 days" in part
    assert _counts(part) == {"פורום <i>שכונה</i>": (0, 1), "קבוצת עבודה": (2, 2)}
    assert "&lt;i&gt;שכונה&lt;/i&gt;" in part
    assert "<i>" not in part
    # Each failure with what the server said, escaped; the digest's too; not the old one.
    assert html.escape(REJECTED, quote=False) in part
    assert "<b>here</b>" not in part
    assert html.escape(FULL, quote=False) in part
    assert DIGEST_DOWN in part
    assert LONG_AGO not in part
    # The bounce is listed with the report's words and marked as returned.
    returned = part[part.rindex("<tr>", 0, part.index("r2@example.org")) :]
    returned = returned[: returned.index("</tr>")]
    assert "Returned after sending" in returned
    assert html.escape(BOUNCED, quote=False) in returned
    assert part.count("Returned after sending") == 1
    assert "weekly digest" in part
    assert "meeting record" in part
    assert "dan@example.org" in part
    assert "Dan &lt;b&gt;Levi&lt;/b&gt;" in part
    digest = part[part.index("weekly digest") : part.index(DIGEST_DOWN)]
    assert '<td dir="auto">—</td>' in digest  # about no group

    hebrew = _mail_part(site.client.get("/backbone?lang=he").text)
    assert "דוא״ל ב-30 הימים האחרונים" in hebrew
    assert "תשובת שרת הדואר" in hebrew
    assert "סיכום שבועי" in hebrew
    assert "הוחזרה אחרי שנשלחה" in hebrew

    # The facilitator looks after the working group only: its mail, and no digest.
    site.login("fac@example.org")
    theirs = _mail_part(site.client.get("/backbone?lang=en").text)
    assert _counts(theirs) == {"קבוצת עבודה": (2, 2)}
    assert html.escape(REJECTED, quote=False) in theirs
    assert FULL not in theirs
    assert html.escape(FULL, quote=False) not in theirs
    assert DIGEST_DOWN not in theirs
