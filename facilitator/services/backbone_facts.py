"""The facts a commitment's reviews decide, stored on its row: how often it slipped and whether
it was done on time (the README's definitions, worked out in SQL by ``backbone_queries``).

The review that decides them writes them in its own transaction, so the backbone's figures
are plain sums over an index instead of a search of every commitment's reviews. Migration
0008 filled them for earlier rows with the same definition.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, Update, select, update

from facilitator.db.models import Commitment
from facilitator.services import backbone_queries as q


def decided(commitment_id: int, timezone: str) -> Select[int, int]:
    """The commitment's slips and done-on-time as its reviews say now (after a flush)."""
    return select(q.slips(), q.flag(q.done_on_time(timezone))).where(Commitment.id == commitment_id)


def refresh(where: ColumnElement[bool], timezone: str) -> Update:
    """Work the facts out again for the commitments ``where`` keeps, in one statement (a
    meeting's reviews removed, a database filled without the services)."""
    return (
        update(Commitment)
        .where(where)
        .values(slips=q.slips(), done_on_time=q.done_on_time(timezone))
        # Nothing in the session reads these facts back: no need to find its copies.
        .execution_options(synchronize_session=False)
    )
