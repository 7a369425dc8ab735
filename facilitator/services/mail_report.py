"""What the backbone sees of the mail between meetings: how many went and how many failed about
each group lately, and which failed with what the mail server said, so someone can call the
person the mail did not reach."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db.models import Group, MailOut, Person, StaffUser
from facilitator.localtime import local_day
from facilitator.services import mail_outbox

JSON = dict[str, Any]
#: The failed mails listed at most (the newest).
FAILURES_SHOWN = 50


async def lately(
    session: AsyncSession,
    network_id: int,
    timezone: str,
    group_ids: list[int],
    since: datetime,
    *,
    group_less: bool,
) -> JSON:
    """Mails about these groups since ``since``: sent and failed per group (the groups with
    any), and the failed ones, newest first. ``group_less``: also the failed mails about no
    group (the backbone's digests, links sent by staff), for the backbone only."""
    counts = await mail_outbox.counts_by_group(session, group_ids, since)
    failed = await mail_outbox.failures(
        session, network_id, since, FAILURES_SHOWN, group_ids=group_ids, group_less=group_less
    )
    names = await _group_names(session, {*counts, *(r.group_id for r in failed if r.group_id)})
    recipients = await _recipient_names(session, failed)
    return {
        "groups": sorted(
            ({"id": gid, "name": names.get(gid, ""), **found} for gid, found in counts.items()),
            key=lambda g: (g["name"], g["id"]),
        ),
        "failed": [_failure(row, names, recipients, timezone) for row in failed],
    }


def _failure(row: MailOut, names: dict[int, str], recipients: dict[str, str], zone: str) -> JSON:
    at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    recipient = mail_outbox.recipient_of(row.person_id, row.staff_user_id)
    return {
        "id": row.id,
        "kind": row.kind,
        "address": row.address,
        "recipient": recipients.get(recipient),
        "group": names.get(row.group_id) if row.group_id is not None else None,
        "error": row.error or "",
        # Our server took it and the receiving side sent it back (a bounce report).
        "bounced": row.state == "bounced",
        "at": at.isoformat(),
        "day": local_day(at, zone).isoformat(),
        "time": at.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
    }


async def _group_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Group.id, Group.name).where(Group.id.in_(ids)))
    return {int(gid): str(name) for gid, name in rows}


async def _recipient_names(session: AsyncSession, rows: list[MailOut]) -> dict[str, str]:
    """``person:7`` / ``user:3`` to the name of whom each failed mail was for."""
    people = {r.person_id for r in rows if r.person_id is not None}
    users = {r.staff_user_id for r in rows if r.staff_user_id is not None}
    found: dict[str, str] = {}
    if people:
        for pid, name in await session.execute(
            select(Person.id, Person.name).where(Person.id.in_(people))
        ):
            found[f"person:{pid}"] = name
    if users:
        for uid, name in await session.execute(
            select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(users))
        ):
            found[f"user:{uid}"] = name
    return found
