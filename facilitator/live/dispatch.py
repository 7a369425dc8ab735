"""One place that turns a decoded command into its service call.

Sockets and the JSON API both come through here, so a command means the same from either. The
table goes from the message's class to a handler that gets the typed message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from msgspec import UnsetType

from facilitator.db import Database
from facilitator.live import messages as m
from facilitator.services import (
    agenda,
    claims,
    commitments,
    lifecycle,
    opener,
    phones,
    roster,
    schedule,
)
from facilitator.services.actors import Actor
from facilitator.services.agenda import AgendaItemInput
from facilitator.services.commands import Result

C = TypeVar("C", bound=m.Command)
Handler = Callable[[Database, int, Actor, C], Awaitable[Result]]
HANDLERS: dict[type[m.Command], Handler[Any]] = {}


def _on(kind: type[C]) -> Callable[[Handler[C]], Handler[C]]:
    def register(handler: Handler[C]) -> Handler[C]:
        HANDLERS[kind] = handler
        return handler

    return register


async def execute(db: Database, meeting_id: int, actor: Actor, message: m.Command) -> Result:
    """Run one command for ``actor``; services check role, stage and content."""
    return await HANDLERS[type(message)](db, meeting_id, actor, message)


def _item(d: m.AddAgendaItem | m.UpdateAgendaItem) -> AgendaItemInput:
    return AgendaItemInput(d.title, d.minutes, d.kind or "discussion", d.strategy_id, d.presenter)


@_on(m.Start)
async def _start(db: Database, mid: int, a: Actor, d: m.Start) -> Result:
    return await lifecycle.start(db, mid, a, client_msg_id=d.id)


@_on(m.Cancel)
async def _cancel(db: Database, mid: int, a: Actor, d: m.Cancel) -> Result:
    return await lifecycle.cancel(db, mid, a, client_msg_id=d.id)


@_on(m.Move)
async def _move(db: Database, mid: int, a: Actor, d: m.Move) -> Result:
    return await lifecycle.move(db, mid, a, d.stage, client_msg_id=d.id)


@_on(m.Close)
async def _close(db: Database, mid: int, a: Actor, d: m.Close) -> Result:
    return await lifecycle.close(db, mid, a, client_msg_id=d.id)


@_on(m.RespondOpener)
async def _respond(db: Database, mid: int, a: Actor, d: m.RespondOpener) -> Result:
    anonymous = d.anonymous is not False  # anonymous unless the phone says otherwise
    return await opener.respond(db, mid, a, d.blockers, anonymous=anonymous, client_msg_id=d.id)


@_on(m.RecordOpenerAction)
async def _opener_action(db: Database, mid: int, a: Actor, d: m.RecordOpenerAction) -> Result:
    return await opener.record_action(db, mid, a, d.blocker_id, d.text, client_msg_id=d.id)


@_on(m.FocusItem)
async def _focus(db: Database, mid: int, a: Actor, d: m.FocusItem) -> Result:
    return await agenda.focus_item(db, mid, a, d.item_id, client_msg_id=d.id)


@_on(m.PauseItem)
async def _pause(db: Database, mid: int, a: Actor, d: m.PauseItem) -> Result:
    return await agenda.pause_item(db, mid, a, d.item_id, client_msg_id=d.id)


@_on(m.ResumeItem)
async def _resume(db: Database, mid: int, a: Actor, d: m.ResumeItem) -> Result:
    return await agenda.resume_item(db, mid, a, d.item_id, client_msg_id=d.id)


@_on(m.RecordDecision)
async def _decision(db: Database, mid: int, a: Actor, d: m.RecordDecision) -> Result:
    return await agenda.record_decision(db, mid, a, d.item_id, d.text, client_msg_id=d.id)


@_on(m.AddAgendaItem)
async def _add_item(db: Database, mid: int, a: Actor, d: m.AddAgendaItem) -> Result:
    return await agenda.add_agenda_item(db, mid, a, _item(d), client_msg_id=d.id)


@_on(m.UpdateAgendaItem)
async def _update_item(db: Database, mid: int, a: Actor, d: m.UpdateAgendaItem) -> Result:
    return await agenda.update_agenda_item(db, mid, a, d.item_id, _item(d), client_msg_id=d.id)


@_on(m.RemoveAgendaItem)
async def _remove_item(db: Database, mid: int, a: Actor, d: m.RemoveAgendaItem) -> Result:
    return await agenda.remove_agenda_item(db, mid, a, d.item_id, client_msg_id=d.id)


@_on(m.MoveAgendaItem)
async def _move_item(db: Database, mid: int, a: Actor, d: m.MoveAgendaItem) -> Result:
    return await agenda.move_agenda_item(db, mid, a, d.item_id, d.position, client_msg_id=d.id)


@_on(m.ScheduleNext)
async def _schedule_next(db: Database, mid: int, a: Actor, d: m.ScheduleNext) -> Result:
    return await schedule.schedule_next(
        db, mid, a, d.title, d.scheduled_on, starts_at=d.starts_at, place=d.place,
        copy_agenda=d.copy_agenda is True, client_msg_id=d.id,
    )  # fmt: skip


@_on(m.Review)
async def _review(db: Database, mid: int, a: Actor, d: m.Review) -> Result:
    return await commitments.review(
        db, mid, a, d.commitment_id, d.outcome, new_due=d.new_due, reason=d.reason,
        client_msg_id=d.id,
    )  # fmt: skip


@_on(m.Propose)
async def _propose(db: Database, mid: int, a: Actor, d: m.Propose) -> Result:
    return await commitments.propose(db, mid, a, d.text, d.due, d.strategy_id, client_msg_id=d.id)


@_on(m.AddCommitment)
async def _add_commitment(db: Database, mid: int, a: Actor, d: m.AddCommitment) -> Result:
    return await commitments.add(
        db, mid, a, d.text, d.owner_id, d.due, d.strategy_id, client_msg_id=d.id
    )


@_on(m.Confirm)
async def _confirm(db: Database, mid: int, a: Actor, d: m.Confirm) -> Result:
    return await commitments.confirm(
        db, mid, a, d.commitment_id, accept=d.accept is not False, reason=d.reason,
        client_msg_id=d.id,
    )  # fmt: skip


@_on(m.WithdrawCommitment)
async def _withdraw(db: Database, mid: int, a: Actor, d: m.WithdrawCommitment) -> Result:
    return await commitments.withdraw(
        db, mid, a, d.commitment_id, reason=d.reason, client_msg_id=d.id
    )


@_on(m.EditCommitment)
async def _edit_commitment(db: Database, mid: int, a: Actor, d: m.EditCommitment) -> Result:
    edit = partial(
        commitments.edit, db, mid, a, d.commitment_id, text=d.text, owner_person_id=d.owner_id,
        due=d.due, client_msg_id=d.id,
    )  # fmt: skip
    # An absent strategy_id leaves the link alone; an explicit null clears it.
    if isinstance(d.strategy_id, UnsetType):
        return await edit()
    return await edit(strategy_id=d.strategy_id)


@_on(m.ReleaseName)
async def _release_name(db: Database, mid: int, a: Actor, d: m.ReleaseName) -> Result:
    return await phones.release_name(db, mid, a, d.person_id, client_msg_id=d.id)


@_on(m.MarkPresent)
async def _mark_present(db: Database, mid: int, a: Actor, d: m.MarkPresent) -> Result:
    return await roster.mark_present(db, mid, a, d.person_id, client_msg_id=d.id)


@_on(m.DecideClaim)
async def _decide_claim(db: Database, mid: int, a: Actor, d: m.DecideClaim) -> Result:
    return await claims.decide(db, mid, a, d.claim_id, d.accept, client_msg_id=d.id)


@_on(m.AddToRoster)
async def _add_to_roster(db: Database, mid: int, a: Actor, d: m.AddToRoster) -> Result:
    return await roster.add_to_roster(db, mid, a, d.person_id, client_msg_id=d.id)
