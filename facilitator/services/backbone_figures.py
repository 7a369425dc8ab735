"""The backbone's figures as SQL aggregates, and the rows a page shows, over the queries in
``backbone_queries``. Synchronous Core over one ``Connection`` (run off the event loop)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, true

from facilitator.db.models import (
    Commitment,
    CommitmentReview,
    Group,
    Meeting,
    Organization,
    Person,
    StaffUser,
    Strategy,
)
from facilitator.errors import NotFound
from facilitator.services import backbone_queries as q

JSON = dict[str, Any]
FIGURES = (
    "made", "come_due", "open", "due_this_week", "overdue", "done", "done_on_time", "slipped",
    "dropped",
)  # fmt: skip


def _counts(
    connection: Connection, reach: q.Reach, filters: q.Filters, as_of: date, key: Any
) -> dict[Any, list[int]]:
    """The figures (in the order of ``FIGURES``) per ``key``: counted per status from the
    commitments' index (with the facts their reviews stored), then the open ones due before
    the week's end read as a short range of that index."""
    where = q.matching(reach, filters, as_of)
    counted = (
        select(
            key,
            Commitment.status,
            func.count(),
            func.count().filter(Commitment.done_on_time == true()),
            func.count().filter(Commitment.slips > 0),
        )
        .where(*where)
        # By group in the index's order, the counts stream; naming the group twice, or
        # anything before the owner, makes SQLite sort more.
        .group_by(key, Commitment.status)
    )
    week_end = as_of + timedelta(days=6)
    due = (
        select(
            key,
            func.count().filter(Commitment.due_on < as_of),
            func.count().filter(Commitment.due_on >= as_of),
        )
        .where(*where, Commitment.status == "open", Commitment.due_on <= week_end)
        .group_by(key)
    )
    figures: dict[Any, list[int]] = {}
    for row in connection.execute(counted):
        made, status, on_time, slipped = int(row[2]), row[1], int(row[3]), int(row[4])
        found = figures.setdefault(row[0], [0] * len(FIGURES))
        found[0] += made
        found[FIGURES.index(status) if status != "open" else 2] += made
        found[6] += on_time
        found[7] += slipped
        if status != "open":
            found[1] += made  # come due: done or dropped
    for k, late, this_week in connection.execute(due):
        found = figures[k]
        found[1] += int(late)
        found[3] += int(this_week)
        found[4] += int(late)
    return figures


def figures(connection: Connection, reach: q.Reach, filters: q.Filters, as_of: date) -> JSON:
    """The carry-over's tiles over everything the filters keep."""
    totals = [0] * len(FIGURES)
    for counts in _counts(connection, reach, filters, as_of, Commitment.group_id).values():
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    return dict(zip(FIGURES, totals, strict=True))


def rate(done_on_time: int, made: int) -> float | None:
    return round(done_on_time / made, 3) if made else None


def breakdown(connection: Connection, reach: q.Reach, by: str, as_of: date) -> list[JSON]:
    """The figures per organization (the owner's) or per group, biggest first."""
    by_key = Commitment.group_id if by == "group" else Commitment.owner_person_id
    sums = _counts(connection, reach, q.Filters(), as_of, by_key)
    if by == "group":
        names = connection.execute(
            select(Group.id, Group.id, Group.name).where(q.in_reach(reach, Group.id))
        )
    else:
        names = connection.execute(
            select(Person.id, Organization.id, Organization.name)
            .outerjoin(Organization, Organization.id == Person.organization_id)
            .where(Person.network_id == reach.network_id)
        )
    totals: dict[tuple[int, str], list[int]] = {}
    for key, target, name in names:
        if key in sums:
            total = totals.setdefault((target or 0, name if target else "—"), [0] * len(FIGURES))
            for i, value in enumerate(sums[key]):
                total[i] += value
    table: list[JSON] = []
    for (target, name), values in totals.items():
        numbers = dict(zip(FIGURES, values, strict=True))
        table.append(
            {
                "id": target,
                "name": name,
                **numbers,
                "on_time_rate": rate(numbers["done_on_time"], numbers["come_due"]),
            }
        )
    table.sort(key=lambda r: (-int(r["made"]), str(r["name"])))
    return table


def rows(
    connection: Connection, ids: Sequence[int], as_of: date | None, timezone: str
) -> list[JSON]:
    """The commitments ``ids`` (one page: a short list) as the reports show them, in order."""
    if not ids:
        return []
    origin = Meeting.__table__.alias("origin")
    found = connection.execute(
        select(
            Commitment.id,
            Commitment.text,
            Commitment.status,
            Commitment.due_on,
            Commitment.group_id,
            Group.name,
            Person.id,
            Person.name,
            Organization.id,
            Organization.name,
            Organization.sector,
            Strategy.id,
            Strategy.title,
            origin.c.id,
            origin.c.title,
            q.day_of(origin, timezone),
            Commitment.slips,
            q.flag(Commitment.done_on_time == true()),
            q.flag(q.overdue(as_of or date.min)),
            q.flag(q.due_this_week(as_of or date.min)),
        )
        .join(Group, Group.id == Commitment.group_id)
        .outerjoin(Person, Person.id == Commitment.owner_person_id)
        .outerjoin(Organization, Organization.id == Person.organization_id)
        .outerjoin(Strategy, Strategy.id == Commitment.strategy_id)
        .outerjoin(origin, origin.c.id == Commitment.origin_meeting_id)
        .where(Commitment.id.in_(list(ids)))
    )
    by_id: dict[int, JSON] = {}
    for r in found:
        row: JSON = {
            "id": r[0],
            "text": r[1],
            "status": r[2],
            "due": r[3].isoformat(),
            "overdue": bool(r[18]),
            "due_this_week": bool(r[19]),
            "times_slipped": int(r[16]),
            "done_on_time": bool(r[17]),
            "group": {"id": r[4], "name": r[5]},
            "owner": {"id": r[6], "name": r[7]} if r[6] is not None else None,
            "organization": {"id": r[8], "name": r[9], "sector": r[10]}
            if r[8] is not None
            else None,
            "strategy": {"id": r[11], "title": r[12]} if r[11] is not None else None,
            "origin": {"id": r[13], "title": r[14], "day": r[15].isoformat()}
            if r[13] is not None
            else None,
        }
        if as_of is None:
            del row["overdue"], row["due_this_week"]
        by_id[row["id"]] = row
    return [by_id[i] for i in ids if i in by_id]


def journey(connection: Connection, reach: q.Reach, commitment_id: int) -> JSON:
    """One commitment's reviews with their meetings and who reported each: that commitment's
    rows and the names they need, nothing else."""
    found = connection.execute(
        select(Commitment.owner_person_id, Commitment.status).where(
            Commitment.id == commitment_id, q.in_reach(reach, Commitment.group_id)
        )
    ).first()
    if found is None:
        raise NotFound("commitment.not_found")
    owner, status = found
    timezone = q.timezone_of(connection, reach.network_id)
    reporter = Person.__table__.alias("reporter")
    reviews = connection.execute(
        select(
            Meeting.id,
            Meeting.title,
            q.day_of(Meeting, timezone),
            CommitmentReview.outcome,
            CommitmentReview.old_due,
            CommitmentReview.new_due,
            CommitmentReview.reason,
            CommitmentReview.reviewer_person_id,
            reporter.c.name,
            StaffUser.name,
        )
        .join(Meeting, Meeting.id == CommitmentReview.meeting_id)
        .outerjoin(
            reporter,
            (reporter.c.id == CommitmentReview.reviewer_person_id)
            & (reporter.c.network_id == reach.network_id),
        )
        .outerjoin(
            StaffUser,
            (StaffUser.id == CommitmentReview.reviewer_user_id)
            & (StaffUser.network_id == reach.network_id),
        )
        .where(CommitmentReview.commitment_id == commitment_id)
        .order_by(CommitmentReview.reopened_at, CommitmentReview.id)
    )
    return {
        "commitment": rows(connection, [commitment_id], None, timezone)[0],
        "reviews": [
            {
                "meeting": {"id": r[0], "title": r[1], "day": r[2].isoformat()},
                "outcome": r[3],
                "old_due": r[4].isoformat(),
                "new_due": r[5].isoformat() if r[5] else None,
                "reason": r[6],
                "reported_by": r[8] if r[8] is not None else r[9],
                "reported_by_owner": r[7] == owner,
            }
            for r in reviews
        ],
        "still_open": status == "open",
    }
