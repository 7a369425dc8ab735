"""One live meeting per group, as the database holds it: a start's write is where a start of
another meeting of the group, racing past the flow's check in another process, is refused."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db.models import Meeting
from facilitator.db.models.meetings import LIVE_INDEX
from facilitator.flow import Stage
from facilitator.services.commands import Context


async def claim_the_group(ctx: Context, to: Stage) -> None:
    """Write the start before anything it leads to. The database holds one live meeting per
    group (``uq_meetings_one_live_per_group``): a start of another meeting of the group that
    got past the flow's check at the same moment (another process, on PostgreSQL) makes this
    write fail, and the answer is then the flow's own refusal, before any commitment is
    reopened (the caller's transaction rolls back)."""
    meeting_id, group_id = ctx.meeting.id, ctx.meeting.group_id
    try:
        # In a savepoint, so the transaction can still read who holds the group (PostgreSQL
        # refuses every statement after an error until the transaction or savepoint ends);
        # changed only once inside it, since opening one first flushes what is pending.
        async with ctx.session.begin_nested():
            ctx.meeting.started_at, ctx.meeting.stage = ctx.now, to.value
            await ctx.session.flush()
    except IntegrityError as error:
        # PostgreSQL names the index; SQLite names the column the index covers.
        if LIVE_INDEX not in str(error) and "meetings.group_id" not in str(error):
            raise
        title = await live_meeting(ctx.session, group_id, meeting_id)
        # Closed again in the moment between: still refused, since it was live when we wrote.
        flow.check_start(Stage.LOBBY, title if title is not None else "")
        raise  # pragma: no cover - check_start refuses a meeting that is there


async def live_meeting(session: AsyncSession, group_id: int, meeting_id: int) -> str | None:
    """The title of another meeting of this group that started and has not closed."""
    title: str | None = await session.scalar(
        select(Meeting.title)
        .where(
            Meeting.group_id == group_id,
            Meeting.id != meeting_id,
            Meeting.started_at.is_not(None),
            Meeting.stage != Stage.CLOSED.value,
        )
        .limit(1)
    )
    return title
