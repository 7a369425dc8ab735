"""The backbone's meeting reports, attendance and opener trends, as SQL aggregates over each
group's latest ``SHOWN`` meetings (a year of monthly meetings): the page, and the work behind
it, stay the same size however many years a group has met. Synchronous Core (run off the
event loop)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, func, select, type_coerce

from facilitator.db.models import (
    Attendance,
    Blocker,
    Group,
    GroupMember,
    Meeting,
    OpenerResponse,
    Organization,
    Person,
)
from facilitator.localtime import local_day
from facilitator.services import backbone_queries as q
from facilitator.services.backbone_figures import rate

JSON = dict[str, Any]
SHOWN = 12


def _held(reach: q.Reach) -> list[ColumnElement[bool]]:
    return [
        q.in_reach(reach, Meeting.group_id),
        Meeting.started_at.is_not(None),
        Meeting.cancelled_at.is_(None),
    ]


class _Timelines:
    """Each group's latest ``SHOWN`` held meetings in the order they ran, (id, title, day), and
    how many it held."""

    def __init__(self, connection: Connection, reach: q.Reach) -> None:
        timezone = q.timezone_of(connection, reach.network_id)
        self.groups = connection.execute(
            select(Group.id, Group.name).where(q.in_reach(reach, Group.id)).order_by(Group.id)
        ).all()
        ran: dict[int, list[tuple[Any, int, str]]] = defaultdict(list)
        # The start as stored: SQLite's text sorts as the moments do (PostgreSQL's are moments
        # already), and turning 3,000 of them into datetimes to keep twelve a group was most
        # of this step's time.
        started = type_coerce(Meeting.started_at, String)
        held = select(Meeting.group_id, started, Meeting.id, Meeting.title)
        for group_id, start, meeting_id, title in connection.execute(held.where(*_held(reach))):
            ran[group_id].append((start, meeting_id, title))
        self.held = {group_id: len(meetings) for group_id, meetings in ran.items()}
        self.latest = {g: _latest(meetings, timezone) for g, meetings in ran.items()}

    def shown(self, group_id: int) -> list[tuple[int, str, str]]:
        return self.latest.get(group_id, [])

    def shown_ids(self) -> list[int]:
        # At most SHOWN per group: a short list whatever the years.
        return [m[0] for g, _name in self.groups for m in self.shown(g)]

    def recent_ids(self) -> list[int]:
        return [m[0] for g, _name in self.groups for m in self.shown(g)[-2:]]


def _day(start: datetime | str, timezone: str) -> date:
    """The day a stored start was where the network meets (naive: UTC, as stored)."""
    moment = start if isinstance(start, datetime) else datetime.fromisoformat(start)
    return local_day(moment, timezone)


def _latest(ran: list[tuple[Any, int, str]], timezone: str) -> list[tuple[int, str, str]]:
    """The latest ``SHOWN`` of a group's held meetings by (day, id), ``commands.meeting_day``'s
    order. A held meeting's day is the day it started, so the days follow the start times:
    only the last ones, and those sharing the earliest of their days, need a day worked out
    (a group's years of meetings do not)."""
    ran.sort()
    first = max(len(ran) - SHOWN, 0)
    if first:
        boundary = _day(ran[first][0], timezone)
        while first and _day(ran[first - 1][0], timezone) == boundary:
            first -= 1
    days = [(_day(start, timezone), mid, title) for start, mid, title in ran[first:]]
    days.sort(key=lambda m: (m[0], m[1]))
    return [(mid, title, day.isoformat()) for day, mid, title in days[-SHOWN:]]


def attendance(connection: Connection, reach: q.Reach) -> JSON:
    """See ``backbone.attendance``."""
    lines = _Timelines(connection, reach)
    shown = lines.shown_ids()
    on_roster = q.exists_one().where(
        GroupMember.group_id == Meeting.group_id, GroupMember.person_id == Attendance.person_id
    )
    # One pass, by meeting and sector: an organization has one sector, so its distinct
    # organizations add up to the meeting's.
    per: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # present, orgs, came, community
    sectors: dict[int, set[str]] = defaultdict(set)
    for meeting_id, sector, present, orgs, expected in connection.execute(
        select(
            Attendance.meeting_id,
            Organization.sector,
            func.count(),
            func.count(func.distinct(Person.organization_id)),
            func.sum(q.flag(on_roster)),
        )
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(Person, Person.id == Attendance.person_id)
        .outerjoin(Organization, Organization.id == Person.organization_id)
        .where(Attendance.meeting_id.in_(shown))
        .group_by(Attendance.meeting_id, Organization.sector)
    ):
        numbers = per[meeting_id]
        numbers[0] += int(present)
        numbers[1] += int(orgs)
        numbers[2] += int(expected or 0)
        numbers[3] |= int(sector == "community")
        if sector is not None:
            sectors[meeting_id].add(sector)
    rosters = dict(
        connection.execute(
            select(GroupMember.group_id, func.count())
            .where(q.in_reach(reach, GroupMember.group_id))
            .group_by(GroupMember.group_id)
        ).all()
    )
    stopped, orgs_stopped = _stopped(connection, shown, lines.recent_ids())
    report = []
    for group_id, name in lines.groups:
        roster = int(rosters.get(group_id, 0))
        meetings: list[JSON] = []
        for meeting_id, title, day in lines.shown(group_id):
            present, orgs, came, _community = per[meeting_id]
            meetings.append(
                {
                    "id": meeting_id, "title": title, "day": day, "attended": present,
                    "organizations": orgs, "sectors": sorted(sectors[meeting_id]),
                    "expected": roster, "came": came, "guests": present - came,
                    "rate": rate(came, roster),
                }
            )  # fmt: skip
        came = sum(int(m["came"]) for m in meetings)
        with_community = sum(per[int(m["id"])][3] for m in meetings)
        seen: set[str] = set()
        for m in meetings:
            seen.update(m["sectors"])
        report.append(
            {
                "id": group_id, "name": name, "meetings": meetings,
                "held": lines.held.get(group_id, 0),
                "sectors": sorted(seen),
                "stopped_coming": stopped[group_id], "organizations_stopped": orgs_stopped[group_id],
                "community_present": with_community,
                "community_rate": rate(with_community, len(meetings)),
                "expected": roster, "came": came, "guests": sum(int(m["guests"]) for m in meetings),
                "rate": rate(came, roster * len(meetings)),
            }
        )  # fmt: skip
    return {"groups": report, "shown": SHOWN}


def _stopped(
    connection: Connection, shown: list[int], recent: list[int]
) -> tuple[dict[int, list[JSON]], dict[int, list[JSON]]]:
    """Who came to the group's meetings shown and missed its last two, and the organizations
    none of whose people came to those two (one pass: a person has one organization)."""
    people: dict[int, list[JSON]] = defaultdict(list)
    orgs: dict[int, dict[int, JSON]] = defaultdict(dict)
    still: dict[int, set[int]] = defaultdict(set)
    for group_id, person_id, name, org_id, org_name, came_lately in connection.execute(
        select(
            Meeting.group_id,
            Person.id,
            Person.name,
            Organization.id,
            Organization.name,
            func.max(q.flag(Meeting.id.in_(recent))),
        )
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .join(Person, Person.id == Attendance.person_id)
        .outerjoin(Organization, Organization.id == Person.organization_id)
        .where(Meeting.id.in_(shown))
        # By keys alone (the names follow from them), in no order: sorting by the names as well,
        # and then again for an ORDER BY, was most of this query's time.
        .group_by(Meeting.group_id, Person.id, Organization.id)
    ):
        if not came_lately:
            people[group_id].append({"id": person_id, "name": name})
        if org_id is not None:
            orgs[group_id][org_id] = {"id": org_id, "name": org_name}
            if came_lately:
                still[group_id].add(org_id)
    for found in people.values():
        found.sort(key=lambda p: int(p["id"]))
    stopped_orgs = {
        g: [found[o] for o in sorted(found) if o not in still[g]] for g, found in orgs.items()
    }
    return people, defaultdict(list, stopped_orgs)


def opener_trends(connection: Connection, reach: q.Reach) -> JSON:
    """See ``backbone.opener_trends``."""
    lines = _Timelines(connection, reach)
    blockers = connection.execute(
        select(Blocker.id, Blocker.label_he, Blocker.label_en)
        .where(Blocker.network_id == reach.network_id)
        .order_by(Blocker.position)
    ).all()
    counts = {
        (m, b): int(n)
        for m, b, n in connection.execute(
            select(OpenerResponse.meeting_id, OpenerResponse.blocker_id, func.count())
            .where(OpenerResponse.meeting_id.in_(lines.shown_ids()))
            .group_by(OpenerResponse.meeting_id, OpenerResponse.blocker_id)
        )
    }
    report = []
    for group_id, name in lines.groups:
        timeline = lines.shown(group_id)
        report.append(
            {
                "id": group_id,
                "name": name,
                "held": lines.held.get(group_id, 0),
                "meetings": [{"id": m[0], "day": m[2]} for m in timeline],
                "blockers": [
                    {
                        "id": b,
                        "he": he,
                        "en": en,
                        "counts": [counts.get((m[0], b), 0) for m in timeline],
                        "total": sum(counts.get((m[0], b), 0) for m in timeline),
                    }
                    for b, he, en in blockers
                ],
            }
        )
    return {"groups": report, "shown": SHOWN}
