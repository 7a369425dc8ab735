"""A meeting's life: create and reschedule it, move it through the stages, close or cancel it
behind the gates."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow, joincodes
from facilitator.db import Database
from facilitator.db.models import (
    AgendaItem,
    Commitment,
    CommitmentReview,
    Group,
    Meeting,
    MeetingEvent,
)
from facilitator.errors import Conflict, Forbidden, Invalid, NotFound
from facilitator.flow import Action, CommitmentStatus, Stage
from facilitator.services import backbone_facts, claims, commitments, mail_due
from facilitator.services.actors import Actor
from facilitator.services.agenda import (
    AgendaItemInput,
    check_item,
    check_strategy,
    one_line,
    stop_timer,
)
from facilitator.services.commands import (
    Change,
    Context,
    Event,
    Result,
    append_event,
    check_staff,
    local_today,
    network_of_group,
    replay_of,
    run,
)
from facilitator.services.live_claim import claim_the_group, live_meeting
from facilitator.services.views import agenda_item_view, clock_time, meeting_view
from facilitator.validate import clean_text, optional_time, parse_date, positive_id
from facilitator.validate import client_msg_id as check_msg_id


async def _unused_code(session: AsyncSession) -> str:
    for _ in range(20):
        code = joincodes.new_code()
        if await session.scalar(select(Meeting.id).where(Meeting.join_code == code)) is None:
            return code
    raise Conflict("meeting.no_free_code")  # pragma: no cover - 148 million codes


async def create_meeting(
    db: Database,
    actor: Actor,
    group_id: int,
    title: str,
    scheduled_on: date | str,
    agenda: Sequence[AgendaItemInput] = (),
    *,
    starts_at: time | str | None = None,
    place: str | None = None,
    client_msg_id: str | None = None,
) -> Result:
    """A new meeting in the lobby with a fresh join code and its agenda."""
    msg_id = check_msg_id(client_msg_id)
    flow.authorize(actor.role, Action.CREATE_MEETING)
    plan = MeetingPlan.checked(title, scheduled_on, starts_at, place)
    flow.check_agenda_room(0, len(agenda))
    items = [check_item(item) for item in agenda]
    async with db.write() as session:
        group = await session.get(Group, positive_id(group_id, "group"))
        if group is None:
            raise NotFound("group.not_found")
        await check_staff(session, actor, group.id)
        network = await network_of_group(session, group.id)
        flow.check_group_open(group.archived_at is not None)
        if msg_id is not None:
            existing = await session.scalar(select(Meeting).where(Meeting.create_msg_id == msg_id))
            if existing is not None:
                return await _creation_replay(session, existing, actor, group.id)
        now = db.now()
        flow.check_next_day(plan.day, local_today(network, now))
        for item in items:
            await check_strategy(session, network.id, item.strategy_id)
        _meeting, event = await open_meeting(session, group.id, plan, items, actor, now, msg_id)
        return Result(event)


@dataclass(frozen=True)
class MeetingPlan:
    """When and where a meeting happens, and what it is called: checked at the edge."""

    title: str
    day: date
    starts_at: time | None
    place: str | None

    @classmethod
    def checked(cls, title: object, day: object, starts_at: object, place: object) -> MeetingPlan:
        return cls(
            clean_text(title, "title", kind="title"),
            parse_date(day, "scheduled_on"),
            optional_time(starts_at, "starts_at"),
            one_line(place, "place", "title"),
        )


async def open_meeting(
    session: AsyncSession,
    group_id: int,
    plan: MeetingPlan,
    items: Sequence[AgendaItemInput],
    actor: Actor,
    now: datetime,
    msg_id: str | None = None,
) -> tuple[Meeting, Event]:
    """Write a new meeting in the lobby, its agenda and its first event, in the caller's
    transaction (the checks are the caller's)."""
    meeting = Meeting(
        group_id=group_id,
        title=plan.title,
        scheduled_on=plan.day,
        starts_at=plan.starts_at,
        place=plan.place,
        join_code=await _unused_code(session),
        stage=Stage.LOBBY.value,
        last_seq=0,
        created_at=now,
        create_msg_id=msg_id,
        view_token=secrets.token_urlsafe(24),
    )
    session.add(meeting)
    await session.flush()
    rows = [
        AgendaItem(
            meeting_id=meeting.id,
            position=position,
            title=item.title,
            minutes=item.minutes,
            kind=item.kind,
            strategy_id=item.strategy_id,
            presenter=item.presenter,
        )
        for position, item in enumerate(items, start=1)
    ]
    session.add_all(rows)
    await session.flush()
    payload = {"meeting": meeting_view(meeting), "agenda": [agenda_item_view(r) for r in rows]}
    event = await append_event(
        session,
        meeting,
        Change("meeting_created", payload, actor.key),
        Action.CREATE_MEETING,
        now,
        msg_id,
    )
    return meeting, event


async def _creation_replay(
    session: AsyncSession, meeting: Meeting, actor: Actor, group_id: int
) -> Result:
    """The stored answer to a resent creation: only for the same sender and the same group (the
    group checked above is the one asked for now, not the one the stored meeting is in)."""
    if meeting.group_id != group_id:
        raise Forbidden("input.msg_id_reused")
    row = await session.scalar(
        select(MeetingEvent).where(MeetingEvent.meeting_id == meeting.id, MeetingEvent.seq == 1)
    )
    if row is None:  # pragma: no cover - a meeting is written with its first event
        raise Forbidden("input.msg_id_reused")
    return replay_of(row, actor, Action.CREATE_MEETING, None)


async def update_meeting(
    db: Database,
    meeting_id: int,
    actor: Actor,
    title: str,
    scheduled_on: date | str,
    *,
    starts_at: time | str | None,
    place: str | None,
    client_msg_id: str | None = None,
) -> Result:
    """Rename, reschedule or move a meeting (a started one keeps its day); an empty time or
    place clears it."""
    plan = MeetingPlan.checked(title, scheduled_on, starts_at, place)

    async def body(ctx: Context) -> Change:
        day = plan.day
        started = ctx.meeting.started_at is not None
        flow.check_reschedule(started, ctx.meeting.scheduled_on, day, ctx.today)
        ctx.meeting.title, ctx.meeting.scheduled_on = plan.title, day
        ctx.meeting.starts_at, ctx.meeting.place = plan.starts_at, plan.place
        return Change(
            "meeting_updated",
            {
                "title": plan.title,
                "scheduled_on": day.isoformat(),
                "starts_at": clock_time(plan.starts_at),
                "place": plan.place,
            },
        )

    return await run(db, meeting_id, actor, Action.EDIT_AGENDA, body, client_msg_id=client_msg_id)


async def move(
    db: Database,
    meeting_id: int,
    actor: Actor,
    target: Stage | str,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """Go to the next stage or back to an earlier one. Leaving the lobby starts the meeting and
    reopens every open commitment the group carried from earlier meetings."""
    try:
        to = Stage(target)
    except ValueError:
        raise Invalid("flow.bad_stage") from None

    async def body(ctx: Context) -> Change:
        flow.check_move(ctx.stage, to)
        if flow.reopens_commitments(ctx.stage, to):
            flow.check_start(ctx.stage, await _other_live_meeting(ctx))
        return await _go(ctx, to)

    return await run(db, meeting_id, actor, Action.MOVE, body, client_msg_id=client_msg_id)


async def start(
    db: Database, meeting_id: int, actor: Actor, *, client_msg_id: str | None = None
) -> Result:
    """Start the meeting: from the lobby to the review of carried commitments. Refused once
    started, so a resent "start" never drags a running meeting back to the review."""

    async def body(ctx: Context) -> Change:
        flow.check_start(ctx.stage, await _other_live_meeting(ctx))
        return await _go(ctx, Stage.REVIEW)

    return await run(db, meeting_id, actor, Action.START, body, client_msg_id=client_msg_id)


async def _go(ctx: Context, to: Stage) -> Change:
    current = ctx.stage
    payload: dict[str, Any] = {"stage": to.value, "previous": current.value}
    if flow.stops_item_clock(current, to) and ctx.meeting.item_started_at is not None:
        payload["elapsed"] = await stop_timer(ctx)
    if flow.reopens_commitments(current, to):
        if ctx.meeting.started_at is None:
            await claim_the_group(ctx, to)
        payload["reopened"] = await commitments.reopen_for(ctx)
    ctx.meeting.stage = to.value
    return Change("stage_changed", payload)


async def _other_live_meeting(ctx: Context) -> str | None:
    return await live_meeting(ctx.session, ctx.meeting.group_id, ctx.meeting.id)


async def close_facts(session: AsyncSession, meeting: Meeting, day: date) -> flow.CloseFacts:
    """What the close gate needs to know about a meeting, read in the caller's transaction."""
    made = (
        await session.execute(
            select(Commitment.owner_person_id, Commitment.due_on).where(
                Commitment.origin_meeting_id == meeting.id,
                Commitment.status.in_(flow.MADE),
            )
        )
    ).all()
    pending = await session.scalar(
        select(func.count()).where(
            Commitment.origin_meeting_id == meeting.id,
            Commitment.status == CommitmentStatus.PROPOSED,
        )
    )
    unreviewed = await session.scalar(
        select(func.count()).where(
            CommitmentReview.meeting_id == meeting.id, CommitmentReview.outcome.is_(None)
        )
    )
    return flow.CloseFacts(
        meeting_day=day,
        made=[flow.MadeCommitment(owner, due) for owner, due in made],
        pending_proposals=pending or 0,
        unreviewed=unreviewed or 0,
    )


async def close(
    db: Database, meeting_id: int, actor: Actor, *, client_msg_id: str | None = None
) -> Result:
    """Close the meeting once every gate holds; its join code stops working."""

    async def body(ctx: Context) -> Change:
        facts = await close_facts(ctx.session, ctx.meeting, ctx.day)
        flow.check_close(ctx.stage, facts)
        previous = ctx.meeting.stage
        ctx.meeting.stage = Stage.CLOSED.value
        ctx.meeting.closed_at = ctx.now
        ctx.meeting.join_code = None
        await claims.refuse_open(ctx.session, ctx.meeting.id, ctx.now)
        # The record goes to everyone who came, written with the close: never without it.
        attended = await mail_due.write_records(
            ctx.session, ctx.network.id, ctx.meeting, ctx.day, ctx.now
        )
        return Change(
            "meeting_closed",
            {
                "stage": Stage.CLOSED.value,
                "previous": previous,
                "commitments": len(facts.made),
                "attendance": attended,
            },
        )

    return await run(db, meeting_id, actor, Action.CLOSE, body, client_msg_id=client_msg_id)


async def cancel(
    db: Database, meeting_id: int, actor: Actor, *, client_msg_id: str | None = None
) -> Result:
    """Call a meeting off: only while nothing was committed in it. Proposals are turned down and
    reopened commitments that got no report wait for the group's next meeting; reports already
    given stay in their history."""

    async def body(ctx: Context) -> Change:
        made = await ctx.session.scalar(
            select(func.count()).where(
                Commitment.origin_meeting_id == ctx.meeting.id,
                Commitment.status.in_(flow.MADE),
            )
        )
        flow.check_cancel(made or 0)
        await ctx.session.execute(
            update(Commitment)
            .where(
                Commitment.origin_meeting_id == ctx.meeting.id,
                Commitment.status == CommitmentStatus.PROPOSED,
            )
            .values(status=CommitmentStatus.REJECTED.value)
        )
        here = CommitmentReview.meeting_id == ctx.meeting.id
        unheard = here & CommitmentReview.outcome.is_(None)
        carried = list(
            await ctx.session.scalars(select(CommitmentReview.commitment_id).where(unheard))
        )
        await ctx.session.execute(delete(CommitmentReview).where(unheard))
        if carried:
            # A reopening that no longer happened may have been what made one of them late.
            await ctx.session.execute(
                backbone_facts.refresh(Commitment.id.in_(carried), ctx.network.timezone)
            )
        previous = ctx.meeting.stage
        ctx.meeting.stage = Stage.CLOSED.value
        ctx.meeting.closed_at = ctx.meeting.cancelled_at = ctx.now
        ctx.meeting.join_code = None
        await claims.refuse_open(ctx.session, ctx.meeting.id, ctx.now)
        return Change("meeting_cancelled", {"stage": Stage.CLOSED.value, "previous": previous})

    return await run(db, meeting_id, actor, Action.CANCEL, body, client_msg_id=client_msg_id)
