"""The network's shared values stand on every agenda, so a change to them is an event in the
log of each meeting that is still open: numbered, stored in the change's own transaction, and
caught up like any other by a screen or a process that missed it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db.models import Group, Meeting
from facilitator.flow import Action
from facilitator.services.commands import Change, Event, append_event
from facilitator.services.state import values


async def tell_open_meetings(
    session: AsyncSession, network_id: int, user_id: int | None, now: datetime
) -> list[Event]:
    """Log the network's values as they now stand in each of its open meetings (locked, so a
    command numbering the same log at once waits for this one on PostgreSQL)."""
    stages = [s.value for s in flow.STAGE_WINDOWS[Action.EDIT_VALUES]]
    meetings = await session.scalars(
        select(Meeting)
        .join(Group, Group.id == Meeting.group_id)
        .where(Group.network_id == network_id, Meeting.stage.in_(stages))
        .order_by(Meeting.id)
        .with_for_update(of=Meeting)
    )
    told = {"values": await values(session, network_id)}
    actor = f"user:{user_id}" if user_id is not None else "system"
    change = Change("values_changed", told, actor)
    return [
        await append_event(session, meeting, change, Action.EDIT_VALUES, now)
        for meeting in list(meetings)
    ]
