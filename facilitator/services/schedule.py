"""The group's next meeting, planned in one step from the record of a closed one.

The commitments still open need nothing here: starting the next meeting reopens them.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import AgendaItem, Group, Meeting, Network
from facilitator.flow import Action, Stage
from facilitator.services.actors import Actor
from facilitator.services.agenda import AgendaItemInput
from facilitator.services.commands import Change, Context, Result, meeting_day, run
from facilitator.services.lifecycle import MeetingPlan, open_meeting
from facilitator.services.views import clock_time

JSON = dict[str, Any]


def next_view(meeting: Meeting) -> JSON:
    """What a closed meeting's screens show of the next one (its join code is not theirs)."""
    return {
        "id": meeting.id,
        "title": meeting.title,
        "scheduled_on": meeting.scheduled_on.isoformat(),
        "starts_at": clock_time(meeting.starts_at),
        "place": meeting.place,
    }


async def schedule_next(
    db: Database,
    meeting_id: int,
    actor: Actor,
    title: str,
    scheduled_on: date | str,
    *,
    starts_at: time | str | None,
    place: str | None,
    copy_agenda: bool,
    client_msg_id: str | None = None,
) -> Result:
    """Create the group's next meeting from a closed one, optionally with the same agenda item
    titles, and tell the closed meeting's screens about it."""
    plan = MeetingPlan.checked(title, scheduled_on, starts_at, place)

    async def body(ctx: Context) -> Change:
        group = await ctx.session.get_one(Group, ctx.meeting.group_id)
        flow.check_group_open(group.archived_at is not None)
        flow.check_next_day(plan.day, ctx.today)
        items: list[AgendaItemInput] = []
        if copy_agenda:
            rows = await ctx.session.scalars(
                select(AgendaItem)
                .where(AgendaItem.meeting_id == ctx.meeting.id)
                .order_by(AgendaItem.position, AgendaItem.id)
            )
            # Titles and timeboxes carry over; decisions, presenters and kept time do not.
            items = [AgendaItemInput(r.title, r.minutes, r.kind, r.strategy_id) for r in rows]
        following, _ = await open_meeting(
            ctx.session, ctx.meeting.group_id, plan, items, ctx.actor, ctx.now
        )
        return Change("next_meeting_scheduled", {"next": next_view(following)})

    return await run(db, meeting_id, actor, Action.SCHEDULE_NEXT, body, client_msg_id=client_msg_id)


async def next_of(session: AsyncSession, meeting: Meeting, network: Network, today: date) -> JSON:
    """For a closed meeting: the group's next meeting if there is one, and what the console
    offers to schedule (same weekday, time and place, as many weeks on as the group's rhythm)."""
    day = meeting_day(meeting, network)
    others = (Meeting.group_id == meeting.group_id, Meeting.id != meeting.id)
    following = await session.scalar(
        select(Meeting)
        .where(*others, Meeting.stage != Stage.CLOSED.value, Meeting.scheduled_on >= day)
        .order_by(Meeting.scheduled_on, Meeting.starts_at, Meeting.id)
        .limit(1)
    )
    previous = await session.scalar(
        select(Meeting.scheduled_on)
        .where(
            *others,
            Meeting.stage == Stage.CLOSED.value,
            Meeting.cancelled_at.is_(None),
            Meeting.scheduled_on < day,
        )
        .order_by(Meeting.scheduled_on.desc())
        .limit(1)
    )
    return {
        "meeting": next_view(following) if following is not None else None,
        "suggested": {
            "title": meeting.title,
            "scheduled_on": flow.suggest_next_day(day, previous, today).isoformat(),
            "starts_at": clock_time(meeting.starts_at),
            "place": meeting.place,
        },
    }
