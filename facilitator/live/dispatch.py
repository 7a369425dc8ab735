"""One place that turns a validated command into its service call.

Sockets and the JSON API both come through here, so a command means the same from either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from facilitator.db import Database
from facilitator.live.messages import ClientMessage
from facilitator.services import agenda, commitments, lifecycle, opener, phones, roster, schedule
from facilitator.services.actors import Actor
from facilitator.services.agenda import AgendaItemInput
from facilitator.services.commands import Result

Handler = Callable[[Database, int, Actor, dict[str, Any], str | None], Awaitable[Result]]


def _item(d: dict[str, Any]) -> AgendaItemInput:
    return AgendaItemInput(
        d["title"], d["minutes"], d.get("kind") or "discussion", d.get("strategy_id"),
        d.get("presenter"),
    )  # fmt: skip


HANDLERS: dict[str, Handler] = {
    "start": lambda db, m, a, d, i: lifecycle.start(db, m, a, client_msg_id=i),
    "cancel": lambda db, m, a, d, i: lifecycle.cancel(db, m, a, client_msg_id=i),
    "move": lambda db, m, a, d, i: lifecycle.move(db, m, a, d["stage"], client_msg_id=i),
    "close": lambda db, m, a, d, i: lifecycle.close(db, m, a, client_msg_id=i),
    "respond_opener": lambda db, m, a, d, i: opener.respond(
        db, m, a, d["blockers"], anonymous=d.get("anonymous") is not False, client_msg_id=i
    ),
    "record_opener_action": lambda db, m, a, d, i: opener.record_action(
        db, m, a, d["blocker_id"], d.get("text"), client_msg_id=i
    ),
    "focus_item": lambda db, m, a, d, i: agenda.focus_item(db, m, a, d.get("item_id"), client_msg_id=i),
    "pause_item": lambda db, m, a, d, i: agenda.pause_item(db, m, a, d["item_id"], client_msg_id=i),
    "resume_item": lambda db, m, a, d, i: agenda.resume_item(db, m, a, d["item_id"], client_msg_id=i),
    "record_decision": lambda db, m, a, d, i: agenda.record_decision(
        db, m, a, d["item_id"], d.get("text"), client_msg_id=i
    ),
    "add_agenda_item": lambda db, m, a, d, i: agenda.add_agenda_item(
        db, m, a, _item(d), client_msg_id=i
    ),
    "update_agenda_item": lambda db, m, a, d, i: agenda.update_agenda_item(
        db, m, a, d["item_id"], _item(d), client_msg_id=i
    ),
    "remove_agenda_item": lambda db, m, a, d, i: agenda.remove_agenda_item(
        db, m, a, d["item_id"], client_msg_id=i
    ),
    "move_agenda_item": lambda db, m, a, d, i: agenda.move_agenda_item(
        db, m, a, d["item_id"], d["position"], client_msg_id=i
    ),
    "schedule_next": lambda db, m, a, d, i: schedule.schedule_next(
        db, m, a, d["title"], d["scheduled_on"], starts_at=d.get("starts_at"), place=d.get("place"),
        copy_agenda=d.get("copy_agenda") is True, client_msg_id=i,
    ),
    "review": lambda db, m, a, d, i: commitments.review(
        db, m, a, d["commitment_id"], d["outcome"], new_due=d.get("new_due"), reason=d.get("reason"),
        client_msg_id=i,
    ),
    "propose": lambda db, m, a, d, i: commitments.propose(
        db, m, a, d["text"], d["due"], d.get("strategy_id"), client_msg_id=i
    ),
    "add_commitment": lambda db, m, a, d, i: commitments.add(
        db, m, a, d["text"], d.get("owner_id"), d.get("due"), d.get("strategy_id"), client_msg_id=i
    ),
    "confirm": lambda db, m, a, d, i: commitments.confirm(
        db, m, a, d["commitment_id"], accept=d.get("accept") is not False,
        reason=d.get("reason"), client_msg_id=i,
    ),
    "withdraw_commitment": lambda db, m, a, d, i: commitments.withdraw(
        db, m, a, d["commitment_id"], reason=d.get("reason"), client_msg_id=i
    ),
    "edit_commitment": lambda db, m, a, d, i: commitments.edit(
        db, m, a, d["commitment_id"], text=d.get("text"), owner_person_id=d.get("owner_id"),
        due=d.get("due"), client_msg_id=i,
        **({"strategy_id": d["strategy_id"]} if "strategy_id" in d else {}),
    ),
    "release_name": lambda db, m, a, d, i: phones.release_name(
        db, m, a, d["person_id"], client_msg_id=i
    ),
    "mark_present": lambda db, m, a, d, i: roster.mark_present(
        db, m, a, d["person_id"], client_msg_id=i
    ),
    "add_to_roster": lambda db, m, a, d, i: roster.add_to_roster(
        db, m, a, d["person_id"], client_msg_id=i
    ),
}  # fmt: skip


async def execute(db: Database, meeting_id: int, actor: Actor, message: ClientMessage) -> Result:
    """Run one command for ``actor``; services check role, stage and content."""
    return await HANDLERS[message.type](db, meeting_id, actor, message.data, message.id)
