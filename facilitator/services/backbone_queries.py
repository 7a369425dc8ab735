"""The backbone's queries: every filter, the user's reach and the per-commitment facts (times
slipped, done on time, overdue) in SQL, so a report reads the rows it shows and the figures
it counts, never the network's whole history.

Definitions are in ``services/backbone.py``. Synchronous Core over one ``Connection``: the
reports run them off the event loop (``Database.read_report``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import Exists
from sqlalchemy.sql.functions import FunctionElement

from facilitator.db.models import (
    Commitment,
    CommitmentReview,
    Group,
    GroupStaff,
    Meeting,
    Network,
    Person,
)
from facilitator.errors import NotFound
from facilitator.flow import MADE, CommitmentStatus, Outcome

# Table aliases made once, not ORM ones per request: building the statement would otherwise
# cost more than running it.
_DONE = CommitmentReview.__table__.alias("done")
_EARLIER = CommitmentReview.__table__.alias("earlier")
_HEARD = Meeting.__table__.alias("heard")
STATUSES = ("open", "overdue", "done", "dropped", "slipped")
#: Made commitments: the one definition is the flow's (the close gate counts the same ones).
CONFIRMED = sorted(MADE)
PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What a report is narrowed to (parsed from the URL at the HTTP edge)."""

    group: int | None = None
    organization: int | None = None
    owner: int | None = None
    strategy: int | None = None
    status: str | None = None
    due_from: date | None = None
    due_to: date | None = None


@dataclass(frozen=True)
class Reach:
    """Whose report: the network, and the facilitator it is narrowed to (``None`` for the
    backbone, who sees every group of the network)."""

    network_id: int
    user_id: int | None = None


@dataclass(frozen=True)
class Cursor:
    """A place in the carry-over order: (rank, due date, id), see ``rank``."""

    rank: int
    due: date
    id: int

    def text(self) -> str:
        return f"{self.rank}.{self.due.isoformat()}.{self.id}"


@dataclass(frozen=True)
class Page:
    """Which page of a list: after or before a cursor (neither: the first page)."""

    after: Cursor | None = None
    before: Cursor | None = None
    size: int = PAGE_SIZE


class local_day(FunctionElement[date]):
    """The day a stored UTC moment was where the network meets (``localtime.local_day``)."""

    type = Date()
    inherit_cache = True
    name = "local_day"


@compiles(local_day)
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    # Registered on every SQLite connection by ``db.database``.
    return f"local_day({compiler.process(element.clauses, **kw)})"


@compiles(local_day, "postgresql")
def _local_day_postgresql(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    moment, zone = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(timezone({zone}, timezone('UTC', {moment})) AS DATE)"


def exists_one() -> Exists:
    """``EXISTS (SELECT 1 …)``: SQLite reads ``SELECT *`` from the table even when an index
    holds every column the condition needs."""
    return exists(literal_column("1"))


def day_of(meeting: Any, timezone: str) -> ColumnElement[date]:
    """``commands.meeting_day`` in SQL: the day it really ran, else the day planned.
    ``meeting``: the ``Meeting`` class or an alias of its table (``.c``)."""
    columns = getattr(meeting, "c", meeting)
    return case(
        (
            columns.started_at.is_not(None),
            local_day(columns.started_at, literal(timezone)),
        ),
        else_=columns.scheduled_on,
    )


def timezone_of(connection: Connection, network_id: int) -> str:
    zone = connection.scalar(select(Network.timezone).where(Network.id == network_id))
    if zone is None:
        raise NotFound("network.not_found")
    return zone


def in_reach(reach: Reach, group_id: Any) -> ColumnElement[bool]:
    """The group is the network's and within the user's reach (``services.scope``'s rule, as
    a subquery on the scope tables, never a list of ids): the big tables are then searched by
    their group index rather than scanned."""
    groups = select(Group.id).where(Group.network_id == reach.network_id)
    if reach.user_id is not None:
        groups = groups.where(
            Group.id.in_(select(GroupStaff.group_id).where(GroupStaff.user_id == reach.user_id))
        )
    condition: ColumnElement[bool] = group_id.in_(groups)
    return condition


def slips() -> ColumnElement[int]:
    """How often the commitment slipped, counted from its reviews."""
    return (
        select(func.count())
        .where(
            CommitmentReview.commitment_id == Commitment.id,
            CommitmentReview.outcome == Outcome.SLIPPED.value,
        )
        .correlate(Commitment)
        .scalar_subquery()
    )


def done_on_time(timezone: str) -> ColumnElement[bool]:
    """Done, never slipped, and reported done before any meeting on or after its due date
    heard it was not done yet (reviews in the order they were reopened). Worked out once per
    review and stored (``backbone_facts``); the reports sum the stored flag."""
    done, earlier = _DONE, _EARLIER
    lapsed_first = (
        exists_one()
        .where(
            earlier.c.commitment_id == Commitment.id,
            # The range alone lets the index skip every later review; the rest breaks ties.
            earlier.c.reopened_at <= done.c.reopened_at,
            or_(earlier.c.reopened_at < done.c.reopened_at, earlier.c.id < done.c.id),
            _HEARD.c.id == earlier.c.meeting_id,
            day_of(_HEARD, timezone) >= Commitment.due_on,
        )
        .correlate(Commitment, done)
    )
    never_slipped = not_(
        exists_one()
        .where(
            CommitmentReview.commitment_id == Commitment.id,
            CommitmentReview.outcome == Outcome.SLIPPED.value,
        )
        .correlate(Commitment)
    )
    reported_done = (
        exists_one()
        .where(
            done.c.commitment_id == Commitment.id,
            done.c.outcome == Outcome.DONE.value,
            not_(lapsed_first),
        )
        .correlate(Commitment)
    )
    return and_(Commitment.status == CommitmentStatus.DONE.value, never_slipped, reported_done)


def overdue(as_of: date) -> ColumnElement[bool]:
    return and_(Commitment.status == CommitmentStatus.OPEN.value, Commitment.due_on < as_of)


def due_this_week(as_of: date) -> ColumnElement[bool]:
    return and_(
        Commitment.status == CommitmentStatus.OPEN.value,
        Commitment.due_on.between(as_of, as_of + timedelta(days=6)),
    )


def rank(as_of: date) -> ColumnElement[int]:
    """The carry-over order's first key: open and slipped twice or more first (0–1), then
    overdue before the rest (even before odd)."""
    chronic = and_(Commitment.status == CommitmentStatus.OPEN.value, Commitment.slips >= 2)
    return case((chronic, 0), else_=2) + case((overdue(as_of), 0), else_=1)


def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """A condition as 1 or 0, to sum and to read alike on every database."""
    return case((condition, 1), else_=0)


def matching(reach: Reach, filters: Filters, as_of: date) -> list[ColumnElement[bool]]:
    """The conditions a confirmed commitment within reach meets to be in the report."""
    f = filters
    where: list[ColumnElement[bool]] = [
        Commitment.status.in_(CONFIRMED),
        in_reach(reach, Commitment.group_id),
    ]
    if f.group is not None:
        where.append(Commitment.group_id == f.group)
    if f.owner is not None:
        where.append(Commitment.owner_person_id == f.owner)
    if f.organization is not None:
        where.append(
            Commitment.owner_person_id.in_(
                select(Person.id).where(Person.organization_id == f.organization)
            )
        )
    if f.strategy is not None:
        where.append(Commitment.strategy_id == f.strategy)
    if f.due_from is not None:
        where.append(Commitment.due_on >= f.due_from)
    if f.due_to is not None:
        where.append(Commitment.due_on <= f.due_to)
    if f.status == "overdue":
        where.append(overdue(as_of))
    elif f.status == "slipped":
        where.append(Commitment.slips > 0)
    elif f.status is not None:
        where.append(Commitment.status == f.status)
    return where


def ordered_ids(connection: Connection, reach: Reach, filters: Filters, as_of: date) -> list[int]:
    """Every id the filters keep, in the carry-over order (what an export walks through)."""
    query = select(Commitment.id).where(*matching(reach, filters, as_of))
    found = connection.scalars(query.order_by(rank(as_of), Commitment.due_on, Commitment.id))
    return list(found)


def page_ids(
    connection: Connection, reach: Reach, filters: Filters, as_of: date, page: Page
) -> tuple[list[int], Cursor | None, Cursor | None]:
    """The ids of one page in the carry-over order, and the cursors of the pages around it."""
    key = rank(as_of).label("rank")
    query = select(Commitment.id, key, Commitment.due_on).where(*matching(reach, filters, as_of))
    backwards = page.before is not None and page.after is None
    at = page.before if backwards else page.after
    if at is not None:
        here = tuple_(key, Commitment.due_on, Commitment.id)
        there = tuple_(literal(at.rank), literal(at.due), literal(at.id))
        query = query.where(here < there if backwards else here > there)
    order = (key, Commitment.due_on, Commitment.id)
    query = query.order_by(*(o.desc() for o in order) if backwards else order)
    rows = list(connection.execute(query.limit(page.size + 1)).all())
    more = len(rows) > page.size
    rows = rows[: page.size]
    if backwards:
        rows.reverse()
    cursors = [Cursor(int(r[1]), r[2], int(r[0])) for r in rows]
    if not cursors:
        return [], None, None
    before = cursors[0] if (more if backwards else at is not None) else None
    after = cursors[-1] if (at is not None if backwards else more) else None
    return [c.id for c in cursors], before, after
