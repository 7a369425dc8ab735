"""Both write paths (one command at a time, and the group-commit writer's batches) let in and
refuse the same senders with the same keys: they share one prologue, and this holds them to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from facilitator.db import Database
from facilitator.errors import DomainError
from facilitator.flow import Action, Stage
from facilitator.services import access, commands, joining, lifecycle, network
from facilitator.services.actors import Actor
from facilitator.services.commands import BatchContext, Change, Context, Result
from tests.support.meetings import new_meeting, seqs
from tests.support.world import World

Send = Callable[[Database, int, Actor, str | None], Awaitable[Result]]


async def one_at_a_time(db: Database, mid: int, actor: Actor, msg: str | None) -> Result:
    async def body(ctx: Context) -> Change:
        return Change("probe", {})

    return await commands.run(db, mid, actor, Action.RESPOND_OPENER, body, client_msg_id=msg)


async def batched(db: Database, mid: int, actor: Actor, msg: str | None) -> Result:
    def body(ctx: BatchContext) -> Change:
        return Change("probe", {})

    return await commands.run_batched(
        db, mid, actor, Action.RESPOND_OPENER, body, client_msg_id=msg
    )


TRANSPORTS = pytest.mark.parametrize("send", [one_at_a_time, batched], ids=["run", "batched"])


async def opener_meeting(db: Database, world: World, joined: int) -> int:
    mid = await new_meeting(db, world)
    for pid in world.people[:joined]:
        await joining.join(db, mid, person_id=pid)
    await lifecycle.start(db, mid, world.staff)
    await lifecycle.move(db, mid, world.staff, Stage.OPENER)
    return mid


async def refused(send: Send, db: Database, mid: int, actor: Actor, msg: str | None) -> str:
    """The key the transport refuses with; the refusal takes no number from the log."""
    before = await seqs(db, mid) if mid > 0 else []
    with pytest.raises(DomainError) as error:
        await send(db, mid, actor, msg)
    if mid > 0:
        assert await seqs(db, mid) == before
    return error.value.key


@TRANSPORTS
async def test_forged_senders_are_refused_alike(send: Send, db: Database, world: World) -> None:
    mid = await opener_meeting(db, world, joined=2)
    elsewhere = await network.create_network(db, "רשת אחרת")
    stranger = await network.add_person(db, elsewhere, "זר")
    cases = [
        (Actor.participant(stranger), "participant.unknown"),
        (Actor.participant(10_000_000), "participant.unknown"),
        (Actor.participant(world.people[3]), "participant.not_joined"),
        (Actor.participant(None), "role.forbidden"),
        (world.staff, "role.forbidden"),
        (Actor.projector(), "role.forbidden"),
    ]
    for actor, key in cases:
        assert await refused(send, db, mid, actor, None) == key, actor
    assert await refused(send, db, 10_000_000, Actor.participant(world.people[0]), None) == (
        "meeting.not_found"
    )


@TRANSPORTS
async def test_the_stage_is_checked_after_the_sender(
    send: Send, db: Database, world: World
) -> None:
    mid = await new_meeting(db, world)
    await joining.join(db, mid, person_id=world.people[0])
    # In the lobby: a joined phone hears the stage is wrong; a phone not joined hears that first.
    assert await refused(send, db, mid, Actor.participant(world.people[0]), None) == (
        "flow.wrong_stage"
    )
    assert await refused(send, db, mid, Actor.participant(world.people[1]), None) == (
        "participant.not_joined"
    )


@TRANSPORTS
async def test_a_message_id_is_the_senders_own(send: Send, db: Database, world: World) -> None:
    mid = await opener_meeting(db, world, joined=2)
    first, second = (Actor.participant(p) for p in world.people[:2])
    sent = await send(db, mid, first, "m-1")
    assert not sent.replayed
    again = await send(db, mid, first, "m-1")
    assert (again.replayed, again.event) == (True, sent.event)
    # Someone else resending that id is refused, and so is a stranger or a phone not joined:
    # the stored answer is never handed to another sender.
    assert await refused(send, db, mid, second, "m-1") == "input.msg_id_reused"
    assert await refused(send, db, mid, Actor.participant(world.people[4]), "m-1") == (
        "input.msg_id_reused"
    )
    # The same id for another command of the same sender is refused too.
    await lifecycle.move(db, mid, world.staff, Stage.AGENDA)
    assert await _other_command_reusing(db, mid, first, "m-1") == "input.msg_id_reused"


async def _other_command_reusing(db: Database, mid: int, actor: Actor, msg: str) -> str:
    async def body(ctx: Context) -> Change:
        return Change("probe", {})

    with pytest.raises(DomainError) as error:
        await commands.run(db, mid, actor, Action.PROPOSE_COMMITMENT, body, client_msg_id=msg)
    return error.value.key


async def test_both_paths_number_one_log_without_gaps(db: Database, world: World) -> None:
    mid = await opener_meeting(db, world, joined=2)
    start = (await seqs(db, mid))[-1]
    first, second = (Actor.participant(p) for p in world.people[:2])
    numbers = []
    for send, actor in ((one_at_a_time, first), (batched, second), (batched, first)):
        numbers.append((await send(db, mid, actor, None)).event.seq)
        await refused(send, db, mid, Actor.participant(world.people[5]), None)
    assert numbers == [start + 1, start + 2, start + 3]
    assert await seqs(db, mid) == list(range(1, start + 4))


async def staff_run(db: Database, mid: int, actor: Actor, msg: str | None) -> Result:
    async def body(ctx: Context) -> Change:
        return Change("probe", {})

    return await commands.run(db, mid, actor, Action.RECORD_OPENER_ACTION, body)


async def staff_batched(db: Database, mid: int, actor: Actor, msg: str | None) -> Result:
    def body(ctx: BatchContext) -> Change:
        return Change("probe", {})

    return await commands.run_batched(db, mid, actor, Action.RECORD_OPENER_ACTION, body)


@pytest.mark.parametrize("send", [staff_run, staff_batched], ids=["run", "batched"])
async def test_a_command_through_a_signed_out_session_is_refused(
    send: Send, db: Database, world: World
) -> None:
    """Signed out in another process, whose word to close this console never came: the
    command itself finds the session revoked."""
    mid = await opener_meeting(db, world, joined=1)
    assert world.staff.user_id is not None
    token = await access.start_session(db, world.staff.user_id)
    who = await access.staff_for(db, token)
    assert who is not None
    console = Actor.staff(world.staff.user_id, world.staff.role, who.session_id)
    before = await seqs(db, mid)
    assert (await send(db, mid, console, None)).event.seq == before[-1] + 1
    await access.end_session(db, token)
    assert await refused(send, db, mid, console, None) == "staff.signed_out"
    assert await seqs(db, mid) == [*before, before[-1] + 1]
