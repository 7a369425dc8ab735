"""The backbone's weekly digest: for each group, what was committed this week, what falls due
in the next, what is overdue, who said they are stuck, and what slipped twice or more."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db.models import Commitment, Group, Meeting, Network, Person
from facilitator.localtime import local_day
from facilitator.services.mail_due import open_and_made
from facilitator.services.personal import latest_reports

JSON = dict[str, Any]
WEEK = timedelta(days=7)
#: Lines shown per list in one group; the rest are counted ("and 12 more").
SHOWN = 15
PARTS = ("stuck", "overdue", "due", "slipped", "new")


async def digest(session: AsyncSession, network: Network, today: date) -> JSON:
    """``{"groups": [{"name", "stuck": [...], "overdue": [...], ...}], "total": n}``; each
    line is ``{"text", "owner", "due", "note"}``."""
    rows = (
        await session.execute(
            select(Commitment, Group.name, Person.name)
            .join(Meeting, Meeting.id == Commitment.origin_meeting_id)
            .join(Group, Group.id == Commitment.group_id)
            .join(Person, Person.id == Commitment.owner_person_id)
            .where(open_and_made(network.id))
            .order_by(Group.name, Commitment.due_on, Commitment.id)
        )
    ).all()
    reports = await latest_reports(session, [c.id for c, _g, _o in rows], network.timezone)
    groups: dict[str, dict[str, list[JSON]]] = {}
    for commitment, group, owner in rows:
        said = reports.get(commitment.id)
        line = {
            "text": commitment.text,
            "owner": owner,
            "due": commitment.due_on.isoformat(),
            "note": said.get("note") if said else None,
        }
        parts = groups.setdefault(group, {part: [] for part in PARTS})
        if said and said["outcome"] == "stuck":
            parts["stuck"].append(line)
        if commitment.due_on < today:
            parts["overdue"].append(line)
        elif commitment.due_on < today + WEEK:
            parts["due"].append(line)
        if commitment.slips >= 2:
            parts["slipped"].append(line)
        if local_day(commitment.created_at, network.timezone) > today - WEEK:
            parts["new"].append(line)
    shown = [
        {
            "name": name,
            **{part: lines[:SHOWN] for part, lines in parts.items()},
            "more": {part: max(len(lines) - SHOWN, 0) for part, lines in parts.items()},
        }
        for name, parts in groups.items()
        if any(parts.values())
    ]
    total = sum(len(lines) for parts in groups.values() for lines in parts.values())
    return {"groups": shown, "total": total, "since": (today - WEEK).isoformat()}
