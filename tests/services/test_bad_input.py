"""Every service refuses bad input with a typed, translatable error, and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import Base
from facilitator.errors import DomainError, Forbidden, Invalid, NotFound, Refused
from facilitator.flow import Stage
from facilitator.i18n import translate
from facilitator.services import agenda, commitments, joining, lifecycle, network, opener, users
from facilitator.services.actors import Actor
from facilitator.services.agenda import AgendaItemInput
from tests.support.meetings import new_meeting, walk
from tests.support.prebuilt import recipe
from tests.support.world import TODAY, World, build_world


async def everything(db: Database) -> dict[str, int]:
    """Row counts of every table, and the meetings' sequence numbers: "nothing changed"."""
    async with db.read() as session:
        counts = {
            name: await session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }
        seq = await session.scalar(select(func.sum(Base.metadata.tables["meetings"].c.last_seq)))
    return {**counts, "seq": seq or 0}


class Room:
    """A meeting in the agenda stage with two people present and one carried commitment."""

    def __init__(self, world: World, meeting: int, carried: int, made: int) -> None:
        self.world, self.meeting, self.carried, self.made = world, meeting, carried, made
        self.phone = Actor.participant(world.people[0])
        self.other_phone = Actor.participant(world.people[1])


async def build_room(db: Database) -> Room:
    world = await build_world(db)
    first = await new_meeting(db, world)
    await lifecycle.start(db, first, world.staff)
    await joining.join(db, first, person_id=world.people[1])
    await walk(db, first, world.staff, Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS)
    carried = await commitments.add(db, first, world.staff, "carried", world.people[1], TODAY)
    await lifecycle.close(db, first, world.staff)
    mid = await new_meeting(db, world)
    for pid in world.people[:2]:
        await joining.join(db, mid, person_id=pid)
    await lifecycle.start(db, mid, world.staff)
    await walk(db, mid, world.staff, Stage.OPENER, Stage.AGENDA)
    made = await commitments.propose(db, mid, Actor.participant(world.people[1]), "mine", TODAY)
    return Room(
        world,
        mid,
        carried.event.payload["commitment"]["id"],
        made.event.payload["commitment"]["id"],
    )


room = recipe("room", build_room, depth=2)

Case = Callable[[Database, Room], Awaitable[Any]]

CASES: list[tuple[str, type[DomainError], str, Case]] = [
    ("unknown meeting", NotFound, "meeting.not_found",
     lambda db, r: lifecycle.move(db, 9999, r.world.staff, Stage.COMMITMENTS)),
    ("unknown commitment", NotFound, "commitment.not_found",
     lambda db, r: commitments.confirm(db, r.meeting, r.world.staff, 9999)),
    ("unknown owner", Invalid, "commitment.owner_unknown",
     lambda db, r: commitments.add(db, r.meeting, r.world.staff, "x", 9999, TODAY)),
    ("no owner", Invalid, "commitment.owner_required",
     lambda db, r: commitments.add(db, r.meeting, r.world.staff, "x", None, TODAY)),
    ("no due date", Invalid, "commitment.due_required",
     lambda db, r: commitments.add(db, r.meeting, r.world.staff, "x", r.world.people[0], None)),
    ("unknown strategy", NotFound, "strategy.not_found",
     lambda db, r: commitments.add(db, r.meeting, r.world.staff, "x", r.world.people[0], TODAY, 999)),
    ("unknown group", NotFound, "group.not_found",
     lambda db, r: lifecycle.create_meeting(db, r.world.staff, 999, "t", TODAY)),
    ("unknown blocker", NotFound, "opener.unknown_blocker",
     lambda db, r: opener.record_action(db, r.meeting, r.world.staff, 999, "x")),
    ("unknown blocker from a phone", NotFound, "opener.unknown_blocker",
     lambda db, r: opener.respond(db, r.meeting, r.phone, [999])),
    ("unknown agenda item", NotFound, "agenda.item_not_found",
     lambda db, r: agenda.record_decision(db, r.meeting, r.world.staff, 999, "x")),
    ("id that is not an id", Invalid, "input.bad_id",
     lambda db, r: commitments.confirm(db, r.meeting, r.world.staff, "7")),  # type: ignore[arg-type]
    ("wrong stage: opener answer during agenda", Refused, "flow.wrong_stage",
     lambda db, r: opener.respond(db, r.meeting, r.phone, [1])),
    ("wrong stage: close during agenda", Refused, "flow.wrong_stage",
     lambda db, r: lifecycle.close(db, r.meeting, r.world.staff)),
    ("closing by a plain move", Refused, "flow.close_through_gates",
     lambda db, r: lifecycle.move(db, r.meeting, r.world.staff, Stage.CLOSED)),
    ("not a stage", Invalid, "flow.bad_stage",
     lambda db, r: lifecycle.move(db, r.meeting, r.world.staff, "party")),
    ("phone moves the stage", Forbidden, "role.forbidden",
     lambda db, r: lifecycle.move(db, r.meeting, r.phone, Stage.COMMITMENTS)),
    ("phone closes", Forbidden, "role.forbidden",
     lambda db, r: lifecycle.close(db, r.meeting, r.phone)),
    ("phone confirms another's commitment", Forbidden, "role.forbidden",
     lambda db, r: commitments.confirm(db, r.meeting, r.phone, r.made)),
    ("phone reviews another's commitment", Forbidden, "role.forbidden",
     lambda db, r: commitments.review(db, r.meeting, r.phone, r.carried, "done")),
    ("phone edits another's proposal", Forbidden, "role.forbidden",
     lambda db, r: commitments.edit(db, r.meeting, r.phone, r.made, text="hijacked")),
    ("phone gives its commitment to someone else", Invalid, "commitment.owner_fixed",
     lambda db, r: commitments.edit(db, r.meeting, r.other_phone, r.made, owner_person_id=r.world.people[0])),
    ("projector proposes", Forbidden, "role.forbidden",
     lambda db, r: commitments.propose(db, r.meeting, Actor.projector(), "x", TODAY)),
    ("phone adds for others", Forbidden, "role.forbidden",
     lambda db, r: commitments.add(db, r.meeting, r.phone, "x", r.world.people[1], TODAY)),
    ("phone that never joined", Forbidden, "participant.not_joined",
     lambda db, r: commitments.propose(db, r.meeting, Actor.participant(r.world.people[4]), "x", TODAY)),
    ("person of no network", Forbidden, "participant.unknown",
     lambda db, r: commitments.propose(db, r.meeting, Actor.participant(999), "x", TODAY)),
    ("staff user that does not exist", Forbidden, "staff.not_in_network",
     lambda db, r: lifecycle.move(db, r.meeting, Actor.staff(999), Stage.COMMITMENTS)),
    ("staff claiming another role", Forbidden, "staff.role_changed",
     lambda db, r: lifecycle.move(db, r.meeting, Actor.staff(r.world.staff.user_id or 0, "backbone"), Stage.COMMITMENTS)),
    ("due date before the meeting", Invalid, "commitment.due_before_meeting",
     lambda db, r: commitments.propose(db, r.meeting, r.phone, "x", TODAY - timedelta(days=1))),
    ("meeting in the past", Invalid, "meeting.date_in_past",
     lambda db, r: lifecycle.create_meeting(db, r.world.staff, r.world.group, "t", TODAY - timedelta(days=1))),
    ("not a date", Invalid, "input.bad_date",
     lambda db, r: commitments.propose(db, r.meeting, r.phone, "x", "next week")),
    ("slipped without a later date", Invalid, "review.new_due_not_later",
     lambda db, r: commitments.review(db, r.meeting, r.world.staff, r.carried, "slipped", new_due=TODAY)),
    ("slipped without a date", Invalid, "review.new_due_required",
     lambda db, r: commitments.review(db, r.meeting, r.world.staff, r.carried, "slipped")),
    ("dropped without a reason", Invalid, "review.reason_required",
     lambda db, r: commitments.review(db, r.meeting, r.world.staff, r.carried, "dropped", reason="  ")),
    ("unknown outcome", Invalid, "review.bad_outcome",
     lambda db, r: commitments.review(db, r.meeting, r.world.staff, r.carried, "finished")),
    ("empty text", Invalid, "input.empty",
     lambda db, r: commitments.propose(db, r.meeting, r.phone, " \n\t ", TODAY)),
    ("text that is not text", Invalid, "input.not_text",
     lambda db, r: commitments.propose(db, r.meeting, r.phone, ["x"], TODAY)),  # type: ignore[arg-type]
    ("overlong text", Invalid, "input.too_long",
     lambda db, r: commitments.propose(db, r.meeting, r.phone, "x" * 501, TODAY)),
    ("overlong name", Invalid, "input.too_long",
     lambda db, r: joining.join(db, r.meeting, name="n" * 121, organization="o")),
    ("join without a name", Invalid, "input.empty",
     lambda db, r: joining.join(db, r.meeting, name="", organization="o")),
    ("join with a bad sector", Invalid, "organization.bad_sector",
     lambda db, r: joining.join(db, r.meeting, name="n", organization="new org", sector="army")),
    ("agenda item of no kind", Invalid, "agenda.bad_kind",
     lambda db, r: agenda.add_agenda_item(db, r.meeting, r.world.staff, AgendaItemInput("t", 5, "party"))),
    ("agenda item of a day's minutes", Invalid, "input.out_of_range",
     lambda db, r: agenda.add_agenda_item(db, r.meeting, r.world.staff, AgendaItemInput("t", 100000))),
    ("bad client message id", Invalid, "input.bad_client_msg_id",
     lambda db, r: lifecycle.move(db, r.meeting, r.world.staff, Stage.COMMITMENTS, client_msg_id="<script>")),
    ("wrong code", NotFound, "join.bad_code",
     lambda db, r: joining.find_open_meeting(db, "AAAAAA")),
    ("garbage code", NotFound, "join.bad_code",
     lambda db, r: joining.find_open_meeting(db, "'; drop table meetings; --")),
    ("duplicate staff email", Exception, "user.email_taken",
     lambda db, r: users.create_user(db, r.world.network, "FAC@example.org", "long enough pw", name="x")),
    ("short password", Invalid, "user.password_length",
     lambda db, r: users.create_user(db, r.world.network, "new@example.org", "short", name="x")),
    ("organization in no sector", Invalid, "organization.bad_sector",
     lambda db, r: network.add_organization(db, r.world.network, "x", "army")),
]  # fmt: skip


@pytest.mark.parametrize(("what", "kind", "key", "call"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_is_refused_and_changes_nothing(
    db: Database, room: Room, what: str, kind: type[DomainError], key: str, call: Case
) -> None:
    if "blocker" in what:
        await walk(db, room.meeting, room.world.staff, Stage.OPENER)
    before = await everything(db)
    with pytest.raises(kind) as refused:
        await call(db, room)
    assert isinstance(refused.value, DomainError)
    assert refused.value.key == key
    for lang in ("he", "en"):
        message = translate(refused.value.key, lang, **refused.value.params)
        assert message != key
        assert "{" not in message
    assert await everything(db) == before


async def test_bad_input_messages_read_well(db: Database, room: Room) -> None:
    with pytest.raises(Refused) as refused:
        await opener.respond(db, room.meeting, room.phone, [1])
    error = refused.value
    assert translate(error.key, "en", **error.params) == (
        "You cannot answer the opener during the agenda stage."
    )
    assert translate(error.key, "he", **error.params) == "אי אפשר לענות בסבב הפתיחה בשלב סדר היום."


async def test_opener_choices_are_bounded(db: Database, room: Room) -> None:
    await walk(db, room.meeting, room.world.staff, Stage.OPENER)
    for choice, key in [
        ([1, 1], "opener.duplicate_choice"),
        (list(range(1, 60)), "opener.bad_choice"),
        ("1,2", "opener.bad_choice"),
        ([True], "input.bad_id"),
    ]:
        with pytest.raises(Invalid) as refused:
            await opener.respond(db, room.meeting, room.phone, choice)  # type: ignore[arg-type]
        assert refused.value.key == key
