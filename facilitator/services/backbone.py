"""The backbone's review: carry-over across groups, accountability, attendance and
representation, opener trends. Read-only; the queries are in ``backbone_queries``, the figures
in ``backbone_figures`` and ``backbone_meetings``; every report runs off the event loop, in
the reports' worker process (``db.report_process``).

Definitions (also in the README). The day ("as of", default today) is the cut-off for what is
due: *overdue* — open and due before the day; *due this week* — open and due within seven days
from the day; *slipped* — slipped at least once, whatever its status now; *done on time* —
done, never slipped, and reported done no later than the first meeting held on or after its due
date (a group that meets monthly is not blamed for when it meets); *come due* — done, dropped,
or overdue; *on-time rate* — done on time ÷ come due (what is not due yet does not count).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, select

from facilitator.db import Database
from facilitator.db.models import Group
from facilitator.errors import Invalid
from facilitator.flow import Role
from facilitator.localtime import local_day
from facilitator.services import backbone_figures as figures
from facilitator.services import backbone_meetings as meetings
from facilitator.services import overview
from facilitator.services.backbone_queries import (
    STATUSES,
    Cursor,
    Filters,
    Page,
    Reach,
    ordered_ids,
    page_ids,
    timezone_of,
)
from facilitator.services.scope import scope_of

__all__ = ["STATUSES", "Cursor", "Filters", "Page", "Reach"]
JSON = dict[str, Any]
EXPORT_BATCH = 500


def reach_of(network_id: int, user_id: int, role: Role) -> Reach:
    """Whose reports: the backbone sees the whole network, a facilitator their groups."""
    return Reach(network_id, None if role is Role.BACKBONE else user_id)


async def visible_groups(db: Database, network_id: int, user_id: int, role: Role) -> list[int]:
    """The network's groups within the user's reach (``services.scope``, the one rule)."""
    reach = await scope_of(db, network_id, user_id, role)
    ids = await db.read_sync(
        lambda connection: list(connection.execute(_GROUPS, {"network": network_id}).scalars())
    )
    return reach.only(ids)


_GROUPS = select(Group.id).where(Group.network_id == bindparam("network")).order_by(Group.id)


async def today(db: Database, network_id: int) -> date:
    """The date it is now where the network meets (in one hop: every report asks)."""
    zone = await db.read_sync(lambda connection: timezone_of(connection, network_id))
    return local_day(db.now(), zone)


def _carryover(
    connection: Connection, reach: Reach, filters: Filters, as_of: date, page: Page
) -> JSON:
    timezone = timezone_of(connection, reach.network_id)
    ids, before, after = page_ids(connection, reach, filters, as_of, page)
    return {
        "as_of": as_of.isoformat(),
        "figures": figures.figures(connection, reach, filters, as_of),
        "commitments": figures.rows(connection, ids, as_of, timezone),
        "previous": before.text() if before else None,
        "next": after.text() if after else None,
    }


async def carryover(
    db: Database, reach: Reach, filters: Filters, as_of: date, page: Page | None = None
) -> JSON:
    """The figures of every confirmed commitment the filters keep, and one page of them:
    slipped twice or more first, then overdue, then by due date."""
    return await db.read_report(_carryover, reach, filters, as_of, page or Page())


def _rows(connection: Connection, reach: Reach, ids: list[int], as_of: date) -> list[JSON]:
    return figures.rows(connection, ids, as_of, timezone_of(connection, reach.network_id))


async def commitments_in_batches(
    db: Database, reach: Reach, filters: Filters, as_of: date, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[JSON]]:
    """Every commitment the filters keep, in the carry-over order, a batch at a time: the
    order is read once (ids only), then each batch of rows in its own short read, so an
    export holds one batch of rows whatever its length."""
    ids = await db.read_report(ordered_ids, reach, filters, as_of)
    for start in range(0, len(ids), batch):
        yield await db.read_report(_rows, reach, ids[start : start + batch], as_of)


def _accountability(connection: Connection, reach: Reach, by: str, as_of: date) -> JSON:
    timezone_of(connection, reach.network_id)  # an unknown network is not found
    rows = figures.breakdown(connection, reach, by, as_of)
    return {"as_of": as_of.isoformat(), "by": by, "rows": rows}


async def accountability(db: Database, reach: Reach, by: str, as_of: date) -> JSON:
    """Plain numbers per organization or per group: made, done, on time, slipped, overdue,
    dropped, and the on-time rate."""
    if by not in ("organization", "group"):
        raise Invalid("filter.bad_breakdown")
    return await db.read_report(_accountability, reach, by, as_of)


async def attendance(db: Database, reach: Reach) -> JSON:
    """Per group: who was at each meeting, which sectors sat at the table, who stopped coming
    (there before, absent from the group's last two meetings), and how often the community
    sector was present. Each meeting is compared with the group's roster (who is expected now):
    *expected* — the roster's size; *came* — how many of the expected came; *guests* — who came
    and is not on the roster; *rate* — came ÷ expected (per group: over all its meetings).
    Totals count every meeting held; the latest ``meetings.SHOWN`` are listed one by one."""
    return await db.read_report(meetings.attendance, reach)


async def opener_trends(db: Database, reach: Reach) -> JSON:
    """For each blocker, how many flagged it at each of a group's latest meetings, oldest
    first, and in all the group's meetings (``total``)."""
    return await db.read_report(meetings.opener_trends, reach)


async def history(db: Database, reach: Reach, commitment_id: int) -> JSON:
    """One commitment's journey: where it was made, every meeting that reviewed it, with the
    outcome, old and new due date, reason, and who reported it."""
    return await db.read_report(figures.journey, reach, commitment_id)


def _filter_choices(connection: Connection, network_id: int, groups: list[int]) -> JSON:
    shown = set(groups)
    return {
        "groups": [g for g in overview.groups_on(connection, network_id) if g["id"] in shown],
        "people": overview.people_on(connection, network_id),
        # Archived strategies too: past work is filtered by them.
        "strategies": overview.every_strategy_on(connection, network_id),
        "organizations": overview.organizations_on(connection, network_id),
    }


async def filter_choices(db: Database, network_id: int, groups: list[int]) -> JSON:
    """What the reports' filters offer: the groups within reach, people, every strategy and
    the organizations (a network's whole people list: read with the reports, off the loop)."""
    return await db.read_report(_filter_choices, network_id, groups)
