"""Read models for the staff pages: the network at a glance, one meeting to prepare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select, tuple_

from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    Commitment,
    Group,
    GroupMember,
    Meeting,
    Network,
    Organization,
    Person,
    SharedValue,
    Strategy,
)
from facilitator.errors import NotFound
from facilitator.flow import CommitmentStatus, Stage
from facilitator.services.backbone_queries import day_of
from facilitator.services.commands import local_today, meeting_day
from facilitator.services.scope import Scope
from facilitator.services.views import meeting_view, value_view

JSON = dict[str, Any]
PAST_SHOWN = 5


async def network_overview(db: Database, reach: Scope) -> JSON:
    """The groups within reach (archived ones left out) with their meetings (upcoming first)
    and how many commitments each has open."""
    network_id = reach.network_id
    async with db.read() as session:
        network = await session.get(Network, network_id)
        if network is None:
            raise NotFound("network.not_found")
        today = local_today(network, db.now())
        groups = [
            g
            for g in await session.scalars(
                select(Group)
                .where(Group.network_id == network_id, Group.archived_at.is_(None))
                .order_by(Group.id)
            )
            if reach.sees(g.id)
        ]
        ids = [g.id for g in groups]
        # Every meeting not closed yet, and the last five closed of each group: not the years.
        latest = (
            select(
                Meeting.id,
                func.row_number()
                .over(
                    partition_by=Meeting.group_id,
                    order_by=(Meeting.scheduled_on.desc(), Meeting.id.desc()),
                )
                .label("back"),
            )
            .where(Meeting.group_id.in_(ids), Meeting.stage == Stage.CLOSED.value)
            .subquery()
        )
        meetings = (
            await session.scalars(
                select(Meeting)
                .where(
                    Meeting.group_id.in_(ids),
                    (Meeting.stage != Stage.CLOSED.value)
                    | Meeting.id.in_(select(latest.c.id).where(latest.c.back <= PAST_SHOWN)),
                )
                .order_by(Meeting.scheduled_on.desc(), Meeting.id.desc())
            )
        ).all()
        open_counts = dict(
            (
                await session.execute(
                    select(Commitment.group_id, func.count())
                    .where(
                        Commitment.status == CommitmentStatus.OPEN.value,
                        Commitment.group_id.in_([g.id for g in groups]),
                    )
                    .group_by(Commitment.group_id)
                )
            ).all()
        )
        overdue_counts = dict(
            (
                await session.execute(
                    select(Commitment.group_id, func.count())
                    .where(
                        Commitment.status == CommitmentStatus.OPEN.value,
                        Commitment.group_id.in_([g.id for g in groups]),
                        Commitment.due_on < today,
                    )
                    .group_by(Commitment.group_id)
                )
            ).all()
        )
    by_group: dict[int, list[JSON]] = {g.id: [] for g in groups}
    for meeting in meetings:
        day = meeting_day(meeting, network).isoformat()
        by_group[meeting.group_id].append({**meeting_view(meeting), "day": day})
    return {
        "network": {"id": network.id, "name": network.name, "language": network.default_language},
        "whole_network": reach.whole_network,
        "today": today.isoformat(),
        "groups": [
            {
                "id": g.id,
                "name": g.name,
                "kind": g.kind,
                "open_commitments": open_counts.get(g.id, 0),
                "overdue_commitments": overdue_counts.get(g.id, 0),
                "upcoming": [m for m in by_group[g.id] if m["stage"] != Stage.CLOSED.value][::-1],
                "past": [m for m in by_group[g.id] if m["stage"] == Stage.CLOSED.value][
                    :PAST_SHOWN
                ],
            }
            for g in groups
        ],
    }


async def network_lists(db: Database, network_id: int) -> JSON:
    """Strategies, people, values and groups: what the forms offer to choose from."""
    async with db.read() as session:
        strategies = (
            await session.scalars(
                # An archived strategy is not offered for new links (old links keep it).
                select(Strategy)
                .where(Strategy.network_id == network_id, Strategy.archived_at.is_(None))
                .order_by(Strategy.id)
            )
        ).all()
        connection = await session.connection()
        people = await connection.run_sync(people_on, network_id)
        groups = await connection.run_sync(groups_on, network_id)
        values = (
            await session.scalars(
                select(SharedValue)
                .where(SharedValue.network_id == network_id)
                .order_by(SharedValue.position)
            )
        ).all()
    return {
        "strategies": [{"id": s.id, "title": s.title, "target": s.target} for s in strategies],
        "people": people,
        "values": [value_view(v) for v in values],
        "groups": groups,
    }


# The lists, each read once here, as plain Core on a connection: the forms read them through
# a session, the backbone's filters in the reports' worker (``backbone.filter_choices``).


def people_on(connection: Connection, network_id: int) -> list[JSON]:
    rows = connection.execute(
        select(Person.id, Person.name, Organization.name)
        .outerjoin(Organization, Organization.id == Person.organization_id)
        # Archived and merged people are not offered (their history keeps them).
        .where(Person.network_id == network_id, Person.archived_at.is_(None))
        .order_by(Person.name)
    )
    return [{"id": p, "name": n, "organization": o} for p, n, o in rows]


def groups_on(connection: Connection, network_id: int) -> list[JSON]:
    rows = connection.execute(
        select(Group.id, Group.name, Group.kind)
        .where(Group.network_id == network_id)
        .order_by(Group.id)
    )
    return [{"id": g, "name": n, "kind": k} for g, n, k in rows]


def every_strategy_on(connection: Connection, network_id: int) -> list[JSON]:
    """All of the network's strategies, archived ones too: what reports filter past work by."""
    rows = connection.execute(
        select(Strategy.id, Strategy.title, Strategy.target, Strategy.archived_at)
        .where(Strategy.network_id == network_id)
        .order_by(Strategy.id)
    )
    return [{"id": s, "title": t, "target": g, "archived": a is not None} for s, t, g, a in rows]


def organizations_on(connection: Connection, network_id: int) -> list[JSON]:
    rows = connection.execute(
        select(Organization.id, Organization.name, Organization.sector)
        .where(Organization.network_id == network_id, Organization.archived_at.is_(None))
        .order_by(Organization.name)
    )
    return [{"id": o, "name": n, "sector": s} for o, n, s in rows]


async def every_strategy(db: Database, network_id: int) -> list[JSON]:
    return await db.read_sync(lambda connection: every_strategy_on(connection, network_id))


async def meeting_network(db: Database, meeting_id: int) -> int | None:
    """Which network a meeting belongs to (``None`` if there is no such meeting)."""
    found = await meeting_access(db, meeting_id)
    return None if found is None else found[0]


async def meeting_access(
    db: Database, meeting_id: int
) -> tuple[int, str | None, str | None] | None:
    """A meeting's network, projector view token and join code."""
    async with db.read() as session:
        row = (
            await session.execute(
                select(Group.network_id, Meeting.view_token, Meeting.join_code)
                .join(Meeting, Meeting.group_id == Group.id)
                .where(Meeting.id == meeting_id)
            )
        ).first()
    return None if row is None else (int(row[0]), row[1], row[2])


async def stage_of(db: Database, meeting_id: int) -> Stage | None:
    """Where a meeting is in its flow (``None`` if there is no such meeting)."""
    async with db.read() as session:
        stage = await session.scalar(select(Meeting.stage).where(Meeting.id == meeting_id))
    return None if stage is None else Stage(stage)


async def open_meetings(db: Database, network_id: int) -> list[int]:
    """The network's meetings that are not closed (their screens may be live)."""
    async with db.read() as session:
        rows = await session.scalars(
            select(Meeting.id)
            .join(Group, Group.id == Meeting.group_id)
            .where(Group.network_id == network_id, Meeting.stage != Stage.CLOSED.value)
        )
        return list(rows)


async def organizations(db: Database, network_id: int) -> list[JSON]:
    return await db.read_sync(lambda connection: organizations_on(connection, network_id))


ATTENDANCE_BATCH = 100  # meetings a read


async def attendance_batches(
    db: Database, groups: list[int]
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Who attended which meeting: group, meeting, day, person, organization, sector, and
    whether they are on the group's roster (expected) or came as a guest; a batch of meetings
    at a time (each its own short read, off the event loop), so an export's memory stays flat."""
    after: tuple[date, int] | None = None
    while True:
        rows, after = await db.read_report(_attendance_batch, groups, after)
        if rows:
            yield rows
        if after is None:
            return


def _attendance_batch(
    connection: Connection, groups: list[int], after: tuple[date, int] | None
) -> tuple[list[tuple[Any, ...]], tuple[date, int] | None]:
    page = select(Meeting.id, Meeting.scheduled_on).where(Meeting.group_id.in_(groups))
    if after is not None:
        page = page.where(tuple_(Meeting.scheduled_on, Meeting.id) > tuple_(*after))
    chosen = connection.execute(
        page.order_by(Meeting.scheduled_on, Meeting.id).limit(ATTENDANCE_BATCH)
    ).all()
    if not chosen:
        return [], None
    network_id = connection.scalar(select(Group.network_id).where(Group.id == groups[0]))
    timezone = connection.scalar(select(Network.timezone).where(Network.id == network_id))
    rows = connection.execute(
        select(
            Group.name,
            Meeting.title,
            day_of(Meeting, timezone or "UTC"),
            Person.name,
            Organization.name,
            Organization.sector,
            GroupMember.id,
        )
        .select_from(Attendance)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(Group, Group.id == Meeting.group_id)
        .join(Person, Person.id == Attendance.person_id)
        .outerjoin(Organization, Organization.id == Person.organization_id)
        .outerjoin(
            GroupMember,
            (GroupMember.group_id == Group.id) & (GroupMember.person_id == Person.id),
        )
        .where(Attendance.meeting_id.in_([m[0] for m in chosen]))
        .order_by(Meeting.scheduled_on, Meeting.id, Person.name)
    )
    found = [
        (g, m, d.isoformat(), p, o, s, member is not None) for g, m, d, p, o, s, member in rows
    ]
    last = chosen[-1]
    more = len(chosen) == ATTENDANCE_BATCH
    return found, ((last[1], last[0]) if more else None)
