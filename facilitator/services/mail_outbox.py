"""The mail outbox: every mail is a row, written in the transaction that caused it and sent
after that committed, so a mail is neither lost with a rolled-back change nor sent for one.

``(kind, about, day)`` is unique: writing the same mail again (the reminders run twice, or
at once from cron and the server) writes nothing. Senders claim rows before sending them, so
two senders never send one row; a claim lapses after ``CLAIM``, so a sender that died while
holding one does not keep it from going.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import MailOptOut, MailOut, UnsubscribeLink
from facilitator.services import access

#: Minutes to wait before each retry after a temporary failure; after the last, it failed.
RETRY_MINUTES = (2, 5, 15, 30, 60, 120, 240, 480)
#: How long a sender holds the rows it took before another may take them over.
CLAIM = timedelta(minutes=10)
#: A mail not sent by then is skipped rather than sent late (a reminder after its day, the
#: record of a meeting long past): mail written while no SMTP server was set stays unsent.
STALE = timedelta(days=3)
#: The SMTP server's words kept with a failed mail.
MAX_ERROR = 500
#: A mail's tag (in its Message-ID and return address): 12 hex digits, not to be guessed.
TAG_BYTES = 6
#: What the backbone counts as not arrived: refused by our server, or sent back after.
NOT_ARRIVED = ("failed", "bounced")


@dataclass(frozen=True)
class Mail:
    """A mail to write: what it is (``kind``), about what, for which day, and to whom."""

    network_id: int
    kind: str
    about: str
    day: date
    person_id: int | None = None
    staff_user_id: int | None = None
    group_id: int | None = None
    meeting_id: int | None = None
    commitment_id: int | None = None

    @property
    def recipient(self) -> str:
        return recipient_of(self.person_id, self.staff_user_id)


def recipient_of(person_id: int | None, staff_user_id: int | None) -> str:
    """``person:7`` or ``user:3``: how opt-outs and unsubscribe links name a recipient."""
    return f"person:{person_id}" if person_id is not None else f"user:{staff_user_id}"


async def put(session: AsyncSession, mails: Iterable[Mail], now: datetime) -> int:
    """Write these mails in the caller's transaction; those already written are left as they
    are. Returns how many were new."""
    rows = [
        {**asdict(mail), "state": "pending", "attempts": 0, "next_try_at": now, "created_at": now,
         "tag": secrets.token_hex(TAG_BYTES)}
        for mail in mails
    ]  # fmt: skip
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    written = 0
    for start in range(0, len(rows), 200):  # bounded statements on every database
        result = await session.execute(
            insert(MailOut)
            .values(rows[start : start + 200])
            .on_conflict_do_nothing(index_elements=["kind", "about", "day"])
        )
        written += max(getattr(result, "rowcount", 0) or 0, 0)
    return written


async def again(session: AsyncSession, mail: Mail, now: datetime) -> bool:
    """Make a written mail that failed or was skipped pending again (staff asked once more,
    after fixing the address, say); whether there was one."""
    result = await session.execute(
        update(MailOut)
        .where(
            MailOut.kind == mail.kind,
            MailOut.about == mail.about,
            MailOut.day == mail.day,
            MailOut.state.in_(("failed", "skipped", "bounced")),
        )
        .values(
            state="pending", attempts=0, error=None, next_try_at=now, created_at=now,
            claim=None, claimed_until=None, bounced_at=None,
            # A new tag: a late bounce of the earlier try does not mark this one.
            tag=secrets.token_hex(TAG_BYTES),
        )
    )  # fmt: skip
    return bool(getattr(result, "rowcount", 0))


async def unwritten(session: AsyncSession, mails: list[Mail]) -> list[Mail]:
    """Those of ``mails`` not in the outbox yet."""
    written: set[tuple[str, str, date]] = set()
    abouts = sorted({mail.about for mail in mails})
    for start in range(0, len(abouts), 500):
        rows = await session.execute(
            select(MailOut.kind, MailOut.about, MailOut.day).where(
                MailOut.about.in_(abouts[start : start + 500])
            )
        )
        written.update((kind, about, day) for kind, about, day in rows)
    return [mail for mail in mails if (mail.kind, mail.about, mail.day) not in written]


def _takeable(now: datetime) -> ColumnElement[bool]:
    return and_(
        MailOut.state == "pending",
        MailOut.next_try_at <= now,
        or_(MailOut.claimed_until.is_(None), MailOut.claimed_until < now),
    )


async def claim_due(db: Database, now: datetime, limit: int = 50) -> tuple[str, list[MailOut]]:
    """Take up to ``limit`` mails due to be tried now; returns the claim and the rows."""
    claim = secrets.token_hex(8)
    async with db.write() as session:
        ids = list(
            await session.scalars(
                select(MailOut.id).where(_takeable(now)).order_by(MailOut.id).limit(limit)
            )
        )
        if not ids:
            return claim, []
        # The condition again: on PostgreSQL a concurrent sender may have taken some meanwhile.
        await session.execute(
            update(MailOut)
            .where(MailOut.id.in_(ids), _takeable(now))
            .values(claim=claim, claimed_until=now + CLAIM)
        )
        rows = list(await session.scalars(select(MailOut).where(MailOut.claim == claim)))
    return claim, rows


async def pending(db: Database, now: datetime) -> list[MailOut]:
    """What would be tried now, taking nothing (``remind --dry-run``)."""
    async with db.read() as session:
        return list(await session.scalars(select(MailOut).where(_takeable(now))))


async def sent(db: Database, row: MailOut, claim: str, address: str) -> None:
    await _settle(db, row, claim, state="sent", address=address, sent_at=db.now(), error=None)


async def skipped(db: Database, row: MailOut, claim: str, reason: str) -> None:
    await _settle(db, row, claim, state="skipped", error=reason)


async def failed(
    db: Database, row: MailOut, claim: str, address: str | None, error: str, *, permanent: bool
) -> None:
    """A failed try: tried again later after a temporary failure, else marked failed (the
    backbone sees it)."""
    attempts = row.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "address": address, "error": error[:MAX_ERROR]}
    if permanent or attempts > len(RETRY_MINUTES):
        await _settle(db, row, claim, state="failed", **values)
    else:
        delay = timedelta(minutes=RETRY_MINUTES[attempts - 1])
        await _settle(db, row, claim, state="pending", next_try_at=db.now() + delay, **values)


async def bounced(db: Database, mail_id: int, tag: str, words: str) -> str | None:
    """The receiving side sent this mail back: the backbone sees it as not arrived, with what
    the report said. Only a mail that went out, and only with its own tag (no one marks
    another's mail by guessing its number). ``"bounced"`` when it is marked now, ``"pending"``
    when it is not marked sent yet (the report came first: to be read again later), another
    state's name for our mail in it (a second report of one bounce), ``None`` for no mail of
    ours."""
    async with db.write() as session:
        mine = and_(MailOut.id == mail_id, MailOut.tag == tag)
        result = await session.execute(
            update(MailOut)
            .where(mine, MailOut.state == "sent")
            .values(state="bounced", bounced_at=db.now(), error=words[:MAX_ERROR])
        )
        if getattr(result, "rowcount", 0):
            return "bounced"
        state = await session.scalar(select(MailOut.state).where(mine))
        return str(state) if state is not None else None


async def _settle(db: Database, row: MailOut, claim: str, **values: Any) -> None:
    async with db.write() as session:
        await session.execute(
            update(MailOut)
            .where(MailOut.id == row.id, MailOut.claim == claim)
            .values(claim=None, claimed_until=None, **values)
        )


def stale(row: MailOut, now: datetime) -> bool:
    """Too late to be worth sending: written long ago, or the record of a meeting long past
    (closed while no server was set, say)."""
    if row.kind == "record" and row.day < now.date() - STALE:
        return True
    return row.created_at < now - STALE


async def opted_out(session: AsyncSession, recipient: str, kind: str) -> bool:
    found = await session.scalar(
        select(MailOptOut.id).where(MailOptOut.recipient == recipient, MailOptOut.kind == kind)
    )
    return found is not None


async def unsubscribe_token(session: AsyncSession, recipient: str, kind: str, now: datetime) -> str:
    """A new secret for a mail's one-click unsubscribe link (stored hashed)."""
    token = access.new_token()
    session.add(
        UnsubscribeLink(
            token_hash=access.digest(token), recipient=recipient, kind=kind, created_at=now
        )
    )
    return token


async def unsubscribe_of(db: Database, token: object) -> tuple[str, str] | None:
    """Whose and which kind an unsubscribe link ends, or ``None`` (unknown or malformed)."""
    if not access.usable(token):
        return None
    async with db.read() as session:
        row = (
            await session.execute(
                select(UnsubscribeLink.recipient, UnsubscribeLink.kind).where(
                    UnsubscribeLink.token_hash == access.digest(str(token))
                )
            )
        ).first()
    return (row[0], row[1]) if row is not None else None


async def unsubscribe(db: Database, token: object) -> str | None:
    """No more mails of the link's kind for its recipient; the kind, or ``None`` for a link
    that is not one. Doing it twice is the same as once."""
    found = await unsubscribe_of(db, token)
    if found is None:
        return None
    recipient, kind = found
    async with db.write() as session:
        if not await opted_out(session, recipient, kind):
            session.add(MailOptOut(recipient=recipient, kind=kind, created_at=db.now()))
    return kind


async def counts_by_group(
    session: AsyncSession, group_ids: Sequence[int], since: datetime
) -> dict[int, dict[str, int]]:
    """Mails sent and not arrived (failed or bounced, counted as ``failed``) about each group
    since ``since``."""
    found: dict[int, dict[str, int]] = {}
    for start in range(0, len(group_ids), 500):
        rows = await session.execute(
            select(MailOut.group_id, MailOut.state, func.count())
            .where(
                MailOut.group_id.in_(group_ids[start : start + 500]),
                MailOut.created_at >= since,
                MailOut.state.in_(("sent", *NOT_ARRIVED)),
            )
            .group_by(MailOut.group_id, MailOut.state)
        )
        for group_id, state, count in rows:
            if group_id is not None:
                counts = found.setdefault(group_id, {"sent": 0, "failed": 0})
                counts["sent" if state == "sent" else "failed"] += int(count)
    return found


async def failures(
    session: AsyncSession,
    network_id: int,
    since: datetime,
    limit: int = 50,
    *,
    group_ids: Sequence[int] | None = None,
    group_less: bool = True,
) -> list[MailOut]:
    """The network's mails that failed for good or bounced since ``since``, newest first: with
    ``group_ids``, only those about these groups, and those about no group (digests, links)
    when ``group_less``; without, all of them."""
    where = [
        MailOut.network_id == network_id,
        MailOut.state.in_(NOT_ARRIVED),
        MailOut.created_at >= since,
    ]
    if group_ids is not None:
        about = MailOut.group_id.in_(list(group_ids))
        where.append(or_(about, MailOut.group_id.is_(None)) if group_less else about)
    return list(
        await session.scalars(
            select(MailOut)
            .where(*where)
            .order_by(MailOut.created_at.desc(), MailOut.id.desc())
            .limit(limit)
        )
    )
