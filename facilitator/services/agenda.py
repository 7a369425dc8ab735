"""A meeting's agenda: its items, the item on screen and its clock, and the decisions taken."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import ITEM_KINDS, AgendaItem, Strategy
from facilitator.errors import Invalid, NotFound
from facilitator.flow import Action
from facilitator.services.actors import Actor
from facilitator.services.commands import Change, Context, Result, run
from facilitator.services.views import agenda_item_view
from facilitator.validate import bounded_int, clean_text, optional_text, positive_id


@dataclass(frozen=True)
class AgendaItemInput:
    title: str
    minutes: int
    kind: str = "discussion"
    strategy_id: int | None = None
    presenter: str | None = None


def check_item(item: AgendaItemInput) -> AgendaItemInput:
    if item.kind not in ITEM_KINDS:
        raise Invalid("agenda.bad_kind")
    return AgendaItemInput(
        title=clean_text(item.title, "title", kind="title"),
        minutes=flow.check_item_minutes(item.minutes),
        kind=item.kind,
        strategy_id=None if item.strategy_id is None else positive_id(item.strategy_id, "strategy"),
        presenter=one_line(item.presenter, "presenter", "name"),
    )


def one_line(value: object, field: str, kind: str) -> str | None:
    """Optional short text (a presenter, a place): blank is absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return clean_text(value, field, kind=kind)


async def check_strategy(
    session: AsyncSession, network_id: int, strategy_id: int | None, kept: int | None = None
) -> None:
    """A strategy of the network, and not archived unless it is the link already there."""
    if strategy_id is None:
        return
    strategy = await session.get(Strategy, strategy_id)
    facts = None if strategy is None else strategy_facts(strategy)
    flow.check_strategy_link(facts, network_id, strategy_id, kept)


def strategy_facts(strategy: Strategy) -> flow.StrategyFacts:
    """What the link rule needs to know of a strategy."""
    return flow.StrategyFacts(strategy.network_id, strategy.archived_at is not None)


async def add_agenda_item(
    db: Database,
    meeting_id: int,
    actor: Actor,
    item: AgendaItemInput,
    *,
    client_msg_id: str | None = None,
) -> Result:
    checked = check_item(item)

    async def body(ctx: Context) -> Change:
        await check_strategy(ctx.session, ctx.network.id, checked.strategy_id)
        count = await ctx.session.scalar(
            select(func.count()).where(AgendaItem.meeting_id == ctx.meeting.id)
        )
        flow.check_agenda_room(count or 0)
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
    checked = check_item(item)

    async def body(ctx: Context) -> Change:
        row = await _agenda_item(ctx, item_id)
        await check_strategy(ctx.session, ctx.network.id, checked.strategy_id, row.strategy_id)
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
        elapsed = await stop_timer(ctx)
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


async def stop_timer(ctx: Context) -> dict[str, int]:
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
        elapsed = await stop_timer(ctx)
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
    target = bounded_int(position, "position", 1, flow.MAX_AGENDA_ITEMS)

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
