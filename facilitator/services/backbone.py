"""The backbone's review: carry-over across groups, accountability, attendance and
representation, opener trends. Read-only.

Definitions (also in the README). The day ("as of", default today) is the cut-off for what is
due: *overdue* — open and due before the day; *due this week* — open and due within seven days
from the day; *slipped* — slipped at least once, whatever its status now; *done on time* —
done, never slipped, and reported done no later than the first meeting held on or after its due
date (a group that meets monthly is not blamed for when it meets); *come due* — done, dropped,
or overdue; *on-time rate* — done on time ÷ come due (what is not due yet does not count).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    Blocker,
    Commitment,
    CommitmentReview,
    Group,
    GroupMember,
    Meeting,
    Network,
    OpenerResponse,
    Organization,
    Person,
    StaffUser,
    Strategy,
)
from facilitator.errors import Invalid, NotFound
from facilitator.flow import CommitmentStatus, Outcome, Role
from facilitator.services.commands import meeting_day
from facilitator.services.scope import scope_of
from facilitator.validate import MAX_ID

JSON = dict[str, Any]
_DIGITS = re.compile(r"[0-9]{1,19}")  # str.isdigit() also takes "²", which int() refuses
STATUSES = ("open", "overdue", "done", "dropped", "slipped")
CONFIRMED = (
    CommitmentStatus.OPEN.value,
    CommitmentStatus.DONE.value,
    CommitmentStatus.DROPPED.value,
)


@dataclass(frozen=True)
class Filters:
    group: int | None = None
    organization: int | None = None
    owner: int | None = None
    strategy: int | None = None
    status: str | None = None
    due_from: date | None = None
    due_to: date | None = None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Filters:
        """From a URL's query (so a view can be bookmarked); bad values are refused by name."""
        values: dict[str, Any] = {}
        for name in ("group", "organization", "owner", "strategy"):
            raw = (query.get(name) or "").strip()
            if raw:
                if not _DIGITS.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
                    raise Invalid("filter.bad_choice", field=name)
                values[name] = int(raw)
        status = (query.get("status") or "").strip()
        if status:
            if status not in STATUSES:
                raise Invalid("filter.bad_status")
            values["status"] = status
        for name in ("due_from", "due_to"):
            raw = (query.get(name) or "").strip()
            if raw:
                try:
                    values[name] = date.fromisoformat(raw)
                except ValueError:
                    raise Invalid("input.bad_date", field=name) from None
        if (
            values.get("due_from")
            and values.get("due_to")
            and values["due_from"] > values["due_to"]
        ):
            raise Invalid("filter.bad_range")
        return cls(**values)

    def query(self) -> dict[str, str]:
        """The filters as URL query parameters (empty ones left out)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
        return out


async def visible_groups(db: Database, network_id: int, user_id: int, role: Role) -> list[int]:
    """The network's groups within the user's reach (``services.scope``, the one rule)."""
    reach = await scope_of(db, network_id, user_id, role)
    async with db.read() as session:
        ids = await session.scalars(
            select(Group.id).where(Group.network_id == network_id).order_by(Group.id)
        )
        return reach.only(ids)


@dataclass
class _Facts:
    """Everything the reports read, loaded once per request."""

    network: Network
    groups: dict[int, Group]
    meetings: dict[int, Meeting]
    commitments: list[Commitment]
    reviews: dict[int, list[CommitmentReview]]
    people: dict[int, Person]
    organizations: dict[int, Organization]
    strategies: dict[int, Strategy]


async def _facts(db: Database, network_id: int, group_ids: Iterable[int]) -> _Facts:
    ids = list(group_ids)
    async with db.read() as session:
        network = await session.get(Network, network_id)
        if network is None:
            raise NotFound("network.not_found")
        groups = {g.id: g for g in await session.scalars(select(Group).where(Group.id.in_(ids)))}
        meetings = {
            m.id: m for m in await session.scalars(select(Meeting).where(Meeting.group_id.in_(ids)))
        }
        commitments = list(
            await session.scalars(
                select(Commitment).where(
                    Commitment.group_id.in_(ids), Commitment.status.in_(CONFIRMED)
                )
            )
        )
        reviews: dict[int, list[CommitmentReview]] = defaultdict(list)
        for review in await session.scalars(
            select(CommitmentReview)
            .where(CommitmentReview.commitment_id.in_([c.id for c in commitments]))
            .order_by(CommitmentReview.reopened_at, CommitmentReview.id)
        ):
            reviews[review.commitment_id].append(review)
        people = {
            p.id: p
            for p in await session.scalars(select(Person).where(Person.network_id == network_id))
        }
        organizations = {
            o.id: o
            for o in await session.scalars(
                select(Organization).where(Organization.network_id == network_id)
            )
        }
        strategies = {
            s.id: s
            for s in await session.scalars(
                select(Strategy).where(Strategy.network_id == network_id)
            )
        }
    return _Facts(
        network, groups, meetings, commitments, reviews, people, organizations, strategies
    )


def _slips(reviews: list[CommitmentReview]) -> int:
    return sum(1 for r in reviews if r.outcome == Outcome.SLIPPED.value)


def _done_on_time(facts: _Facts, commitment: Commitment) -> bool:
    reviews = facts.reviews.get(commitment.id, [])
    if commitment.status != CommitmentStatus.DONE.value or _slips(reviews):
        return False
    for review in reviews:  # in meeting order
        day = meeting_day(facts.meetings[review.meeting_id], facts.network)
        if review.outcome == Outcome.DONE.value:
            return True  # reported done before any meeting past its due date let it lapse
        if day >= commitment.due_on:
            return False  # a meeting on or after the due date heard it was not done yet
    return False


def _row(facts: _Facts, commitment: Commitment, as_of: date) -> JSON:
    owner = facts.people.get(commitment.owner_person_id)
    org = (
        facts.organizations.get(owner.organization_id) if owner and owner.organization_id else None
    )
    origin = facts.meetings.get(commitment.origin_meeting_id)
    strategy = facts.strategies.get(commitment.strategy_id) if commitment.strategy_id else None
    slips = _slips(facts.reviews.get(commitment.id, []))
    is_open = commitment.status == CommitmentStatus.OPEN.value
    return {
        "id": commitment.id,
        "text": commitment.text,
        "status": commitment.status,
        "due": commitment.due_on.isoformat(),
        "overdue": is_open and commitment.due_on < as_of,
        "due_this_week": is_open and as_of <= commitment.due_on <= as_of + timedelta(days=6),
        "times_slipped": slips,
        "done_on_time": _done_on_time(facts, commitment),
        "group": {"id": commitment.group_id, "name": facts.groups[commitment.group_id].name},
        "owner": {"id": owner.id, "name": owner.name} if owner else None,
        "organization": {"id": org.id, "name": org.name, "sector": org.sector} if org else None,
        "strategy": {"id": strategy.id, "title": strategy.title} if strategy else None,
        "origin": {
            "id": origin.id,
            "title": origin.title,
            "day": meeting_day(origin, facts.network).isoformat(),
        }
        if origin
        else None,
    }


def _keep(row: JSON, f: Filters) -> bool:
    checks = [
        f.group is None or row["group"]["id"] == f.group,
        f.organization is None or (row["organization"] or {}).get("id") == f.organization,
        f.owner is None or (row["owner"] or {}).get("id") == f.owner,
        f.strategy is None or (row["strategy"] or {}).get("id") == f.strategy,
        f.due_from is None or row["due"] >= f.due_from.isoformat(),
        f.due_to is None or row["due"] <= f.due_to.isoformat(),
    ]
    if f.status == "overdue":
        checks.append(row["overdue"])
    elif f.status == "slipped":
        checks.append(row["times_slipped"] > 0)
    elif f.status is not None:
        checks.append(row["status"] == f.status)
    return all(checks)


def _figures(rows: list[JSON]) -> JSON:
    return {
        "made": len(rows),
        "come_due": sum(r["status"] in ("done", "dropped") or r["overdue"] for r in rows),
        "open": sum(r["status"] == "open" for r in rows),
        "due_this_week": sum(r["due_this_week"] for r in rows),
        "overdue": sum(r["overdue"] for r in rows),
        "done": sum(r["status"] == "done" for r in rows),
        "done_on_time": sum(r["done_on_time"] for r in rows),
        "slipped": sum(r["times_slipped"] > 0 for r in rows),
        "dropped": sum(r["status"] == "dropped" for r in rows),
    }


async def carryover(
    db: Database, network_id: int, groups: Iterable[int], filters: Filters, as_of: date
) -> JSON:
    """Every confirmed commitment of the groups with its figures; slipped twice or more first,
    then overdue, then by due date."""
    facts = await _facts(db, network_id, groups)
    rows = [r for r in (_row(facts, c, as_of) for c in facts.commitments) if _keep(r, filters)]
    rows.sort(
        key=lambda r: (
            not (r["status"] == "open" and r["times_slipped"] >= 2),
            not r["overdue"],
            r["due"],
            r["id"],
        )
    )
    return {"as_of": as_of.isoformat(), "figures": _figures(rows), "commitments": rows}


def _rate(done_on_time: int, made: int) -> float | None:
    return round(done_on_time / made, 3) if made else None


async def accountability(
    db: Database, network_id: int, groups: Iterable[int], by: str, as_of: date
) -> JSON:
    """Plain numbers per organization or per group: made, done, on time, slipped, overdue,
    dropped, and the on-time rate."""
    if by not in ("organization", "group"):
        raise Invalid("filter.bad_breakdown")
    facts = await _facts(db, network_id, groups)
    buckets: dict[tuple[int, str], list[JSON]] = defaultdict(list)
    for commitment in facts.commitments:
        row = _row(facts, commitment, as_of)
        target = row[by] or {"id": 0, "name": "—"}
        buckets[(target["id"], target["name"])].append(row)
    table = []
    for (target_id, name), rows in buckets.items():
        figures = _figures(rows)
        table.append(
            {
                "id": target_id,
                "name": name,
                **figures,
                "on_time_rate": _rate(figures["done_on_time"], figures["come_due"]),
            }
        )
    table.sort(key=lambda r: (-r["made"], r["name"]))
    return {"as_of": as_of.isoformat(), "by": by, "rows": table}


async def attendance(db: Database, network_id: int, groups: Iterable[int]) -> JSON:
    """Per group: who was at each meeting, which sectors sat at the table, who stopped coming
    (there before, absent from the group's last two meetings), and how often the community
    sector was present. Each meeting is compared with the group's roster (who is expected now):
    *expected* — the roster's size; *came* — how many of the expected came; *guests* — who came
    and is not on the roster; *rate* — came ÷ expected (per group: over all its meetings)."""
    facts = await _facts(db, network_id, groups)
    held = [
        m for m in facts.meetings.values() if m.started_at is not None and m.cancelled_at is None
    ]
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Attendance.meeting_id, Attendance.person_id).where(
                    Attendance.meeting_id.in_([m.id for m in held])
                )
            )
        ).all()
        roster_rows = (
            await session.execute(
                select(GroupMember.group_id, GroupMember.person_id).where(
                    GroupMember.group_id.in_(list(facts.groups))
                )
            )
        ).all()
    present: dict[int, set[int]] = defaultdict(set)
    for meeting_id, person_id in rows:
        present[meeting_id].add(person_id)
    rosters: dict[int, set[int]] = defaultdict(set)
    for group_id, person_id in roster_rows:
        rosters[group_id].add(person_id)

    def sector_of(pid: int) -> str | None:
        person = facts.people.get(pid)
        org = (
            facts.organizations.get(person.organization_id)
            if person and person.organization_id
            else None
        )
        return org.sector if org else None

    report = []
    for group in facts.groups.values():
        timeline = sorted(
            (m for m in held if m.group_id == group.id),
            key=lambda m: (meeting_day(m, facts.network), m.id),
        )
        meetings: list[JSON] = []
        roster = rosters[group.id]
        for meeting in timeline:
            people = present[meeting.id]
            sectors = sorted({s for s in map(sector_of, people) if s})
            came = len(people & roster)
            meetings.append(
                {
                    "id": meeting.id,
                    "title": meeting.title,
                    "day": meeting_day(meeting, facts.network).isoformat(),
                    "attended": len(people),
                    "organizations": len(
                        {facts.people[p].organization_id for p in people if p in facts.people}
                        - {None}
                    ),
                    "sectors": sectors,
                    "expected": len(roster),
                    "came": came,
                    "guests": len(people - roster),
                    "rate": _rate(came, len(roster)),
                }
            )
        came_total = sum(m["came"] for m in meetings)
        recent: set[int] = set()
        for m in timeline[-2:]:
            recent |= present[m.id]
        earlier: set[int] = set()
        for m in timeline[:-2]:
            earlier |= present[m.id]
        stopped = sorted(earlier - recent)
        recent_orgs = {facts.people[p].organization_id for p in recent if p in facts.people}
        earlier_orgs = {facts.people[p].organization_id for p in earlier if p in facts.people}
        stopped_orgs = sorted(o for o in earlier_orgs - recent_orgs if o is not None)
        with_community = sum("community" in m["sectors"] for m in meetings)
        sectors_seen: set[str] = set()
        for held_meeting in meetings:
            sectors_seen |= set(held_meeting["sectors"])
        report.append(
            {
                "id": group.id,
                "name": group.name,
                "meetings": meetings,
                "sectors": sorted(sectors_seen),
                "stopped_coming": [
                    {"id": p, "name": facts.people[p].name} for p in stopped if p in facts.people
                ],
                "organizations_stopped": [
                    {"id": o, "name": facts.organizations[o].name}
                    for o in stopped_orgs
                    if o in facts.organizations
                ],
                "community_present": with_community,
                "community_rate": _rate(with_community, len(meetings)),
                "expected": len(roster),
                "came": came_total,
                "guests": sum(m["guests"] for m in meetings),
                "rate": _rate(came_total, len(roster) * len(meetings)),
            }
        )
    return {"groups": report}


async def opener_trends(db: Database, network_id: int, groups: Iterable[int]) -> JSON:
    """For each blocker, how many flagged it at each meeting of each group, oldest first."""
    facts = await _facts(db, network_id, groups)
    async with db.read() as session:
        blockers = list(
            await session.scalars(
                select(Blocker).where(Blocker.network_id == network_id).order_by(Blocker.position)
            )
        )
        counts = (
            await session.execute(
                select(OpenerResponse.meeting_id, OpenerResponse.blocker_id).where(
                    OpenerResponse.meeting_id.in_(list(facts.meetings))
                )
            )
        ).all()
    per: dict[tuple[int, int], int] = defaultdict(int)
    for meeting_id, blocker_id in counts:
        per[(meeting_id, blocker_id)] += 1
    report = []
    for group in facts.groups.values():
        timeline = sorted(
            (
                m
                for m in facts.meetings.values()
                if m.group_id == group.id and m.started_at and m.cancelled_at is None
            ),
            key=lambda m: (meeting_day(m, facts.network), m.id),
        )
        report.append(
            {
                "id": group.id,
                "name": group.name,
                "meetings": [
                    {"id": m.id, "day": meeting_day(m, facts.network).isoformat()} for m in timeline
                ],
                "blockers": [
                    {
                        "id": b.id,
                        "he": b.label_he,
                        "en": b.label_en,
                        "counts": [per[(m.id, b.id)] for m in timeline],
                        "total": sum(per[(m.id, b.id)] for m in timeline),
                    }
                    for b in blockers
                ],
            }
        )
    return {"groups": report}


async def history(db: Database, commitment_id: int, groups: Iterable[int]) -> JSON:
    """One commitment's journey: where it was made, every meeting that reviewed it, with the
    outcome, old and new due date, reason, and who reported it."""
    async with db.read() as session:
        commitment = await session.get(Commitment, commitment_id)
        if commitment is None or commitment.group_id not in set(groups):
            raise NotFound("commitment.not_found")
        network_id = (await session.get_one(Group, commitment.group_id)).network_id
    facts = await _facts(db, network_id, [commitment.group_id])
    row = _row(facts, commitment, date.max)
    async with db.read() as session:
        users = {u.id: u.name for u in await session.scalars(select(StaffUser))}
    journey = []
    for review in facts.reviews.get(commitment.id, []):
        meeting = facts.meetings[review.meeting_id]
        reporter = (
            facts.people[review.reviewer_person_id].name
            if review.reviewer_person_id in facts.people
            else users.get(review.reviewer_user_id or 0)
        )
        journey.append(
            {
                "meeting": {
                    "id": meeting.id,
                    "title": meeting.title,
                    "day": meeting_day(meeting, facts.network).isoformat(),
                },
                "outcome": review.outcome,
                "old_due": review.old_due.isoformat(),
                "new_due": review.new_due.isoformat() if review.new_due else None,
                "reason": review.reason,
                "reported_by": reporter,
                "reported_by_owner": review.reviewer_person_id == commitment.owner_person_id,
            }
        )
    row.pop("overdue")
    row.pop("due_this_week")
    return {"commitment": row, "reviews": journey, "still_open": commitment.status == "open"}
