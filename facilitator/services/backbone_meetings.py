"""The backbone's meeting reports, attendance and opener trends, over each group's latest
``SHOWN`` meetings (a year of monthly meetings): the page, and the work behind it, stay the
same size however many years a group has met. Synchronous Core (run off the event loop)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, cast, func, select, type_coerce

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
        for group_id, start, meeting_id, title in connection.execute(
            held.where(*_held(reach))
        ).all():
            ran[group_id].append((start, meeting_id, title))
        self.held = {group_id: len(meetings) for group_id, meetings in ran.items()}
        self.latest = {g: _latest(meetings, timezone) for g, meetings in ran.items()}

    def shown(self, group_id: int) -> list[tuple[int, str, str]]:
        return self.latest.get(group_id, [])

    def shown_ids(self) -> list[int]:
        # At most SHOWN per group: a short list whatever the years.
        return [m[0] for g, _name in self.groups for m in self.shown(g)]


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
    came_to = _came(connection, shown)
    rosters = _rosters(connection, reach)
    who = _Who(connection, shown)
    report = []
    for group_id, name in lines.groups:
        roster = rosters.get(group_id, set())
        expected = len(roster)
        timeline = lines.shown(group_id)
        meetings: list[JSON] = []
        seen: set[str] = set()
        with_community = 0
        for meeting_id, title, day in timeline:
            present = came_to.get(meeting_id, [])
            orgs = who.organizations(present)
            sectors = who.sectors(orgs)
            came = len(roster.intersection(present))
            with_community += "community" in sectors
            seen |= sectors
            meetings.append(
                {
                    "id": meeting_id, "title": title, "day": day, "attended": len(present),
                    "organizations": len(orgs), "sectors": sorted(sectors),
                    "expected": expected, "came": came, "guests": len(present) - came,
                    "rate": rate(came, expected),
                }
            )  # fmt: skip
        came = sum(int(m["came"]) for m in meetings)
        stopped, orgs_stopped = _stopped([came_to.get(m[0], []) for m in timeline], who)
        report.append(
            {
                "id": group_id, "name": name, "meetings": meetings,
                "held": lines.held.get(group_id, 0),
                "sectors": sorted(seen),
                "stopped_coming": stopped, "organizations_stopped": orgs_stopped,
                "community_present": with_community,
                "community_rate": rate(with_community, len(meetings)),
                "expected": expected, "came": came,
                "guests": sum(int(m["guests"]) for m in meetings),
                "rate": rate(came, expected * len(meetings)),
            }
        )  # fmt: skip
    return {"groups": report, "shown": SHOWN}


def _came(connection: Connection, shown: list[int]) -> dict[int, list[int]]:
    """Who came to each meeting shown. One row a meeting, its people's ids as text: a row a
    person (18,000 on a 5-year network) took twice as long, most of it the driver's and
    SQLAlchemy's cost per row. The figures are then set arithmetic."""
    ids = func.aggregate_strings(cast(Attendance.person_id, String), ",")
    found = connection.execute(
        select(Attendance.meeting_id, ids)
        .where(Attendance.meeting_id.in_(shown))
        .group_by(Attendance.meeting_id)
    ).all()
    return {meeting_id: list(map(int, text.split(","))) for meeting_id, text in found}


def _rosters(connection: Connection, reach: q.Reach) -> dict[int, set[int]]:
    """Each group's roster: who is expected now."""
    members: dict[int, set[int]] = defaultdict(set)
    for group_id, person_id in connection.execute(
        select(GroupMember.group_id, GroupMember.person_id).where(
            q.in_reach(reach, GroupMember.group_id)
        )
    ).all():
        members[group_id].add(person_id)
    return members


class _Who:
    """The names, organizations and sectors of the people who came to the meetings shown, read
    once each rather than joined to each of the 18,000 times someone came. Found by a subquery,
    not a list of their ids: a list of one parameter a person could pass the drivers' limit
    (32,767) in a large network."""

    def __init__(self, connection: Connection, shown: list[int]) -> None:
        came = select(Attendance.person_id).where(Attendance.meeting_id.in_(shown))
        self.name: dict[int, str] = {}
        self.organization: dict[int, int] = {}
        self.org_name: dict[int, str] = {}
        self.sector: dict[int, str] = {}
        for person_id, name, org_id, org_name, sector in connection.execute(
            select(Person.id, Person.name, Organization.id, Organization.name, Organization.sector)
            .outerjoin(Organization, Organization.id == Person.organization_id)
            .where(Person.id.in_(came))
        ).all():
            self.name[person_id] = name
            if org_id is not None:
                self.organization[person_id] = org_id
                self.org_name[org_id] = org_name
                if sector is not None:
                    self.sector[org_id] = sector

    def organizations(self, people: Iterable[int]) -> set[int]:
        return {self.organization[p] for p in people if p in self.organization}

    def sectors(self, orgs: Iterable[int]) -> set[str]:
        return {self.sector[o] for o in orgs if o in self.sector}


def _stopped(came: list[list[int]], who: _Who) -> tuple[list[JSON], list[JSON]]:
    """Who came to the group's meetings shown (``came``: to each, in order) and missed its
    last two, and the organizations none of whose people came to those two."""
    ever: set[int] = set().union(*came)
    lately: set[int] = set().union(*came[-2:])
    orgs = who.organizations(ever) - who.organizations(lately)
    return (
        [{"id": p, "name": who.name[p]} for p in sorted(ever - lately)],
        [{"id": o, "name": who.org_name[o]} for o in sorted(orgs)],
    )


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
