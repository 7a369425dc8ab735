"""Meetings: create and prepare, join, move through the stages, close behind the gates."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow, joincodes, names
from facilitator.db import Database
from facilitator.db.models import (
    ITEM_KINDS,
    AgendaItem,
    Attendance,
    Commitment,
    CommitmentReview,
    Group,
    Meeting,
    MeetingEvent,
    Strategy,
)
from facilitator.errors import Conflict, Forbidden, Invalid, NotFound, Refused
from facilitator.flow import Action, CommitmentStatus, Stage
from facilitator.services import commitments, identity, roster
from facilitator.services.actors import Actor
from facilitator.services.commands import (
    Change,
    Context,
    Event,
    Result,
    append_event,
    check_staff,
    local_today,
    network_of_group,
    run,
)
from facilitator.services.views import agenda_item_view, clock_time, meeting_view, person_view
from facilitator.validate import (
    bounded_int,
    clean_text,
    optional_text,
    optional_time,
    parse_date,
    positive_id,
)
from facilitator.validate import client_msg_id as check_msg_id

MAX_AGENDA_ITEMS = 40
MAX_ITEM_MINUTES = 480


@dataclass(frozen=True)
class AgendaItemInput:
    title: str
    minutes: int
    kind: str = "discussion"
    strategy_id: int | None = None
    presenter: str | None = None


def _check_item(item: AgendaItemInput) -> AgendaItemInput:
    if item.kind not in ITEM_KINDS:
        raise Invalid("agenda.bad_kind")
    return AgendaItemInput(
        title=clean_text(item.title, "title", kind="title"),
        minutes=bounded_int(item.minutes, "minutes", 0, MAX_ITEM_MINUTES),
        kind=item.kind,
        strategy_id=None if item.strategy_id is None else positive_id(item.strategy_id, "strategy"),
        presenter=_one_line(item.presenter, "presenter", "name"),
    )


def _one_line(value: object, field: str, kind: str) -> str | None:
    """Optional short text (a presenter, a place): blank is absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return clean_text(value, field, kind=kind)


async def _check_strategy(
    session: AsyncSession, network_id: int, strategy_id: int | None, kept: int | None = None
) -> None:
    """A strategy of the network, and not archived unless it is the link already there."""
    if strategy_id is None:
        return
    strategy = await session.get(Strategy, strategy_id)
    if strategy is None or strategy.network_id != network_id:
        raise NotFound("strategy.not_found")
    if strategy.archived_at is not None and strategy_id != kept:
        raise Refused("strategy.archived")


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
    if len(agenda) > MAX_AGENDA_ITEMS:
        raise Invalid("agenda.too_many", limit=MAX_AGENDA_ITEMS)
    items = [_check_item(item) for item in agenda]
    async with db.write() as session:
        group = await session.get(Group, positive_id(group_id, "group"))
        if group is None:
            raise NotFound("group.not_found")
        network = await network_of_group(session, group.id)
        await check_staff(session, actor, network.id, group.id)
        if group.archived_at is not None:
            raise Refused("group.archived")
        if msg_id is not None:
            existing = await session.scalar(select(Meeting).where(Meeting.create_msg_id == msg_id))
            if existing is not None:
                return await _creation_replay(session, existing, actor)
        now = db.now()
        flow.check_next_day(plan.day, local_today(network, now))
        for item in items:
            await _check_strategy(session, network.id, item.strategy_id)
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
            _one_line(place, "place", "title"),
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


async def _creation_replay(session: AsyncSession, meeting: Meeting, actor: Actor) -> Result:
    row = await session.scalar(
        select(MeetingEvent).where(MeetingEvent.meeting_id == meeting.id, MeetingEvent.seq == 1)
    )
    if row is None or row.actor != actor.key:
        raise Forbidden("input.msg_id_reused")
    return Result(Event.of(row), replayed=True)


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
        if ctx.meeting.started_at is not None and day != ctx.meeting.scheduled_on:
            raise Refused("meeting.started_keeps_day")
        if day != ctx.meeting.scheduled_on:
            flow.check_next_day(day, ctx.today)
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


async def add_agenda_item(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item: AgendaItemInput,
    *,
    client_msg_id: str | None = None,
) -> Result:
    checked = _check_item(item)

    async def body(ctx: Context) -> Change:
        await _check_strategy(ctx.session, ctx.network.id, checked.strategy_id)
        count = await ctx.session.scalar(
            select(func.count()).where(AgendaItem.meeting_id == ctx.meeting.id)
        )
        if (count or 0) >= MAX_AGENDA_ITEMS:
            raise Invalid("agenda.too_many", limit=MAX_AGENDA_ITEMS)
        top = await ctx.session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == ctx.meeting.id)
        )
        row = AgendaItem(
            meeting_id=ctx.meeting.id,
            position=int(top or 0) + 1,
            title=checked.title,
            minutes=checked.minutes,
            kind=checked.kind,
            strategy_id=checked.strategy_id,
            presenter=checked.presenter,
        )
        ctx.session.add(row)
        await ctx.session.flush()
        return Change("agenda_item_added", {"item": agenda_item_view(row)})

    return await run(db, meeting_id, actor, Action.EDIT_AGENDA, body, client_msg_id=client_msg_id)


async def _agenda_item(ctx: Context, item_id: int) -> AgendaItem:
    item = await ctx.session.get(AgendaItem, positive_id(item_id, "item"))
    if item is None or item.meeting_id != ctx.meeting.id:
        raise NotFound("agenda.item_not_found")
    return item


async def update_agenda_item(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item_id: int,
    item: AgendaItemInput,
    *,
    client_msg_id: str | None = None,
) -> Result:
    checked = _check_item(item)

    async def body(ctx: Context) -> Change:
        row = await _agenda_item(ctx, item_id)
        await _check_strategy(ctx.session, ctx.network.id, checked.strategy_id, row.strategy_id)
        row.title, row.minutes = checked.title, checked.minutes
        row.kind, row.strategy_id = checked.kind, checked.strategy_id
        row.presenter = checked.presenter
        return Change("agenda_item_updated", {"item": agenda_item_view(row)})

    return await run(db, meeting_id, actor, Action.EDIT_AGENDA, body, client_msg_id=client_msg_id)


async def remove_agenda_item(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item_id: int,
    *,
    client_msg_id: str | None = None,
) -> Result:
    async def body(ctx: Context) -> Change:
        row = await _agenda_item(ctx, item_id)
        if ctx.meeting.current_item_id == row.id:
            ctx.meeting.current_item_id = None
            ctx.meeting.item_started_at = None
        await ctx.session.delete(row)
        return Change("agenda_item_removed", {"item_id": row.id})

    return await run(db, meeting_id, actor, Action.EDIT_AGENDA, body, client_msg_id=client_msg_id)


async def focus_item(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item_id: int | None,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """Put an agenda item on screen and run its timer from the time it already ran (``None``
    clears the screen). The item that leaves keeps the time it ran."""

    async def body(ctx: Context) -> Change:
        elapsed = await _stop_timer(ctx)
        if item_id is None:
            ctx.meeting.current_item_id = None
        else:
            row = await _agenda_item(ctx, item_id)
            ctx.meeting.current_item_id = row.id
            ctx.meeting.item_started_at = ctx.now
        started = ctx.meeting.item_started_at
        return Change(
            "agenda_focus",
            {
                "item_id": ctx.meeting.current_item_id,
                "started_at": started.isoformat() if started else None,
                "elapsed": elapsed,
            },
        )

    return await run(db, meeting_id, actor, Action.FOCUS_ITEM, body, client_msg_id=client_msg_id)


async def _stop_timer(ctx: Context) -> dict[str, int]:
    """Fold the running item's current run into its kept time; returns ``{item id: seconds}``
    for the item whose time changed (none when nothing ran)."""
    started, current = ctx.meeting.item_started_at, ctx.meeting.current_item_id
    ctx.meeting.item_started_at = None
    if started is None or current is None:
        return {}
    row = await ctx.session.get(AgendaItem, current)
    if row is None or row.meeting_id != ctx.meeting.id:
        return {}
    row.elapsed_seconds += flow.seconds_run(started, ctx.now)
    return {str(row.id): row.elapsed_seconds}


async def pause_item(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item_id: int,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """Stop the clock of the item on screen; it keeps the time it ran."""

    async def body(ctx: Context) -> Change:
        running = ctx.meeting.item_started_at is not None
        flow.check_pause(ctx.meeting.current_item_id, item_id, running)
        elapsed = await _stop_timer(ctx)
        return Change("agenda_timer", {"item_id": item_id, "started_at": None, "elapsed": elapsed})

    return await run(db, meeting_id, actor, Action.TIME_ITEM, body, client_msg_id=client_msg_id)


async def resume_item(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item_id: int,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """Run the paused item's clock again, from the time it already ran."""

    async def body(ctx: Context) -> Change:
        running = ctx.meeting.item_started_at is not None
        flow.check_resume(ctx.meeting.current_item_id, item_id, running)
        ctx.meeting.item_started_at = ctx.now
        return Change(
            "agenda_timer", {"item_id": item_id, "started_at": ctx.now.isoformat(), "elapsed": {}}
        )

    return await run(db, meeting_id, actor, Action.TIME_ITEM, body, client_msg_id=client_msg_id)


async def move_agenda_item(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item_id: int,
    position: int,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """Move an agenda item to ``position`` (1 is the first); the others close up around it."""
    target = bounded_int(position, "position", 1, MAX_AGENDA_ITEMS)

    async def body(ctx: Context) -> Change:
        rows = list(
            await ctx.session.scalars(
                select(AgendaItem)
                .where(AgendaItem.meeting_id == ctx.meeting.id)
                .order_by(AgendaItem.position, AgendaItem.id)
            )
        )
        order = flow.reorder([r.id for r in rows], positive_id(item_id, "item"), target)
        by_id = {r.id: r for r in rows}
        for number, row_id in enumerate(order, start=1):
            by_id[row_id].position = number
        return Change("agenda_item_moved", {"item_id": item_id, "order": order})

    return await run(db, meeting_id, actor, Action.EDIT_AGENDA, body, client_msg_id=client_msg_id)


async def record_decision(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item_id: int,
    decision: str | None,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """The decision (or notes) taken on an agenda item; empty text clears it."""
    text = optional_text(decision, "decision", kind="decision")

    async def body(ctx: Context) -> Change:
        row = await _agenda_item(ctx, item_id)
        row.decision = text
        return Change("decision_recorded", {"item": agenda_item_view(row)})

    return await run(
        db, meeting_id, actor, Action.RECORD_DECISION, body, client_msg_id=client_msg_id
    )


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
        payload["elapsed"] = await _stop_timer(ctx)
    if flow.reopens_commitments(current, to):
        if ctx.meeting.started_at is None:
            ctx.meeting.started_at = ctx.now
        payload["reopened"] = await commitments.reopen_for(ctx)
    ctx.meeting.stage = to.value
    return Change("stage_changed", payload)


async def _other_live_meeting(ctx: Context) -> str | None:
    """The title of another meeting of this group that started and has not closed."""
    title: str | None = await ctx.session.scalar(
        select(Meeting.title)
        .where(
            Meeting.group_id == ctx.meeting.group_id,
            Meeting.id != ctx.meeting.id,
            Meeting.started_at.is_not(None),
            Meeting.stage != Stage.CLOSED.value,
        )
        .limit(1)
    )
    return title


async def close_facts(session: AsyncSession, meeting: Meeting, day: date) -> flow.CloseFacts:
    """What the close gate needs to know about a meeting, read in the caller's transaction."""
    made = (
        await session.execute(
            select(Commitment.owner_person_id, Commitment.due_on).where(
                Commitment.origin_meeting_id == meeting.id,
                Commitment.status.in_(
                    [CommitmentStatus.OPEN, CommitmentStatus.DONE, CommitmentStatus.DROPPED]
                ),
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
        attended = await ctx.session.scalar(
            select(func.count()).where(Attendance.meeting_id == ctx.meeting.id)
        )
        return Change(
            "meeting_closed",
            {
                "stage": Stage.CLOSED.value,
                "previous": previous,
                "commitments": len(facts.made),
                "attendance": attended or 0,
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
                Commitment.status.in_(
                    [CommitmentStatus.OPEN, CommitmentStatus.DONE, CommitmentStatus.DROPPED]
                ),
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
        await ctx.session.execute(
            delete(CommitmentReview).where(
                CommitmentReview.meeting_id == ctx.meeting.id, CommitmentReview.outcome.is_(None)
            )
        )
        previous = ctx.meeting.stage
        ctx.meeting.stage = Stage.CLOSED.value
        ctx.meeting.closed_at = ctx.meeting.cancelled_at = ctx.now
        ctx.meeting.join_code = None
        return Change("meeting_cancelled", {"stage": Stage.CLOSED.value, "previous": previous})

    return await run(db, meeting_id, actor, Action.CANCEL, body, client_msg_id=client_msg_id)


async def find_open_meeting(db: Database, code: str) -> int:
    """The open meeting a typed join code leads to."""
    normalized = joincodes.normalize(code) if isinstance(code, str) else ""
    if not joincodes.looks_valid(normalized):
        raise NotFound("join.bad_code")
    async with db.read() as session:
        meeting_id = await session.scalar(
            select(Meeting.id).where(
                Meeting.join_code == normalized, Meeting.stage != Stage.CLOSED.value
            )
        )
    if meeting_id is None:
        raise NotFound("join.bad_code")
    return meeting_id


async def join(
    db: Database,
    meeting_id: int,
    *,
    person_id: int | None = None,
    name: str | None = None,
    organization: str | None = None,
    sector: str | None = None,
    client_msg_id: str | None = None,
) -> Result:
    """Record attendance once per person. A returning phone names its person; a new one gives a
    name and organization, matched to an existing person of that organization when one fits."""
    if person_id is None:
        # Invisible characters are dropped from what is stored: a name with a zero-width
        # space in it must not become a second, identical-looking person.
        clean_name = clean_text(_visible(name), "name", kind="name")
        org_name = clean_text(_visible(organization), "organization", kind="title")
    else:
        positive_id(person_id, "person")
    actor = Actor.participant(person_id)

    async def body(ctx: Context) -> Change:
        if person_id is not None:
            pid = person_id
        else:
            pid = await identity.find_or_create_person(ctx, clean_name, org_name, sector)
        existing = await ctx.session.scalar(
            select(Attendance).where(
                Attendance.meeting_id == ctx.meeting.id, Attendance.person_id == pid
            )
        )
        if existing is not None:
            raise Conflict("join.already_joined", person_id=pid)
        ctx.session.add(Attendance(meeting_id=ctx.meeting.id, person_id=pid, joined_at=ctx.now))
        await ctx.session.flush()
        count = await ctx.session.scalar(
            select(func.count()).where(Attendance.meeting_id == ctx.meeting.id)
        )
        person = await person_view(ctx.session, pid)
        return Change("joined", {"person": person, "attendance": count}, f"person:{pid}")

    def same_request(row: MeetingEvent) -> bool:
        person = row.payload.get("person", {})
        return person_id is None and (
            identity.person_key(str(person.get("name", ""))) == identity.person_key(clean_name)
            and identity.organization_key(str(person.get("organization", "")))
            == identity.organization_key(org_name)
        )

    try:
        return await run(
            db,
            meeting_id,
            actor,
            Action.JOIN,
            body,
            client_msg_id=client_msg_id,
            same_request=same_request,
        )
    except Conflict as already:
        # Joining twice is no error for the phone: it gets its first join back, unchanged.
        return await _first_join(db, meeting_id, int(already.params["person_id"]))


def _visible(text: object) -> object:
    return names.strip_invisible(text) if isinstance(text, str) else text


async def _first_join(db: Database, meeting_id: int, person_id: int) -> Result:
    async with db.read() as session:
        row = await session.scalar(
            select(MeetingEvent).where(
                MeetingEvent.meeting_id == meeting_id,
                MeetingEvent.type == "joined",
                MeetingEvent.actor == f"person:{person_id}",
            )
        )
        # Marked present by the facilitator (no phone then): a phone that joins as them now
        # gets that answer back, and with it the person's token.
        marked = (
            None if row is not None else await roster.marked_event(session, meeting_id, person_id)
        )
    if marked is not None:
        return Result(marked, replayed=True)
    if row is None:  # pragma: no cover - attendance is only written with its event
        raise NotFound("join.not_found")
    return Result(Event.of(row), replayed=True)
