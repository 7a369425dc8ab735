"""The agenda as it is run (a clock that pauses and keeps its time, an order that changes, a
presenter), a meeting's time and place, and the next meeting scheduled from the closed one.
Services on a real migrated SQLite file, with the clock moved by hand."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select, update

from facilitator.db import Database
from facilitator.db.models import Group, Meeting, MeetingEvent
from facilitator.errors import DomainError, Invalid, Refused
from facilitator.flow import Stage
from facilitator.i18n import translate
from facilitator.services import agenda, commitments, joining, lifecycle, schedule, state
from facilitator.services.actors import Actor
from facilitator.services.agenda import AgendaItemInput
from tests.support.world import TODAY, Clock, World


async def agenda_meeting(db: Database, world: World) -> tuple[int, list[int]]:
    """A meeting of three items, walked to the agenda stage."""
    created = await lifecycle.create_meeting(
        db,
        world.staff,
        world.group,
        "מפגש",
        TODAY,
        [
            AgendaItemInput("עדכונים", 10, "update"),
            AgendaItemInput("החלטה", 20, "decision", presenter="נועה כהן"),
            AgendaItemInput("דיון", 15),
        ],
        starts_at="18:30",
        place="מתנ״ס הדר",
    )
    mid = created.event.meeting_id
    await joining.join(db, mid, person_id=world.people[0])
    await lifecycle.start(db, mid, world.staff)
    for stage in (Stage.OPENER, Stage.AGENDA):
        await lifecycle.move(db, mid, world.staff, stage)
    return mid, [item["id"] for item in created.event.payload["agenda"]]


async def kept(db: Database, mid: int) -> dict[int, int]:
    return {i["id"]: i["elapsed_seconds"] for i in (await state.snapshot(db, mid))["agenda"]}


async def test_the_clock_pauses_resumes_and_keeps_its_time_across_refocus(
    db: Database, world: World, clock: Clock
) -> None:
    mid, (first, second, _third) = await agenda_meeting(db, world)
    await agenda.focus_item(db, mid, world.staff, first)
    clock.now += timedelta(seconds=90)
    paused = await agenda.pause_item(db, mid, world.staff, first)
    assert paused.event.type == "agenda_timer"
    assert paused.event.payload == {
        "item_id": first,
        "started_at": None,
        "elapsed": {str(first): 90},
    }

    # Time passes while paused and counts for nothing.
    clock.now += timedelta(minutes=10)
    with pytest.raises(Refused) as again:
        await agenda.pause_item(db, mid, world.staff, first)
    assert again.value.key == "agenda.not_running"
    resumed = await agenda.resume_item(db, mid, world.staff, first)
    assert resumed.event.payload["started_at"] == clock.now.isoformat()
    with pytest.raises(Refused):
        await agenda.resume_item(db, mid, world.staff, first)
    clock.now += timedelta(seconds=30)

    # Showing another item folds the running time into the one that leaves.
    moved_on = await agenda.focus_item(db, mid, world.staff, second)
    assert moved_on.event.payload["elapsed"] == {str(first): 120}
    assert (await kept(db, mid))[first] == 120
    with pytest.raises(Refused) as elsewhere:
        await agenda.pause_item(db, mid, world.staff, first)
    assert elsewhere.value.key == "agenda.not_on_screen"
    clock.now += timedelta(seconds=45)

    # Shown again, it continues from 2:00; the second kept its 45 seconds.
    await agenda.focus_item(db, mid, world.staff, first)
    clock.now += timedelta(seconds=15)
    await agenda.pause_item(db, mid, world.staff, first)
    assert await kept(db, mid) == {first: 135, second: 45, _third: 0}
    snap = await state.snapshot(db, mid)
    assert (snap["meeting"]["current_item_id"], snap["meeting"]["item_started_at"]) == (first, None)

    # Taking it off screen keeps the time too; a paused item shown again runs at once.
    await agenda.focus_item(db, mid, world.staff, first)
    clock.now += timedelta(seconds=5)
    off = await agenda.focus_item(db, mid, world.staff, None)
    assert off.event.payload == {"item_id": None, "started_at": None, "elapsed": {str(first): 140}}


async def test_the_clock_runs_only_in_the_agenda_stage_and_for_staff(
    db: Database, world: World
) -> None:
    mid, (first, *_rest) = await agenda_meeting(db, world)
    await agenda.focus_item(db, mid, world.staff, first)
    phone = Actor.participant(world.people[0])
    with pytest.raises(DomainError) as forbidden:
        await agenda.pause_item(db, mid, phone, first)
    assert forbidden.value.key == "role.forbidden"
    await lifecycle.move(db, mid, world.staff, Stage.COMMITMENTS)
    with pytest.raises(Refused) as late:
        await agenda.pause_item(db, mid, world.staff, first)
    assert late.value.key == "flow.wrong_stage"


async def test_leaving_the_agenda_pauses_the_item_on_screen(
    db: Database, world: World, clock: Clock
) -> None:
    mid, (first, *_rest) = await agenda_meeting(db, world)
    await agenda.focus_item(db, mid, world.staff, first)
    clock.now += timedelta(seconds=70)
    left = await lifecycle.move(db, mid, world.staff, Stage.COMMITMENTS)
    assert left.event.payload["elapsed"] == {str(first): 70}
    clock.now += timedelta(minutes=20)  # the closing round is not the item's time
    back = await lifecycle.move(db, mid, world.staff, Stage.AGENDA)
    assert "elapsed" not in back.event.payload
    snap = await state.snapshot(db, mid)
    assert (snap["meeting"]["current_item_id"], snap["meeting"]["item_started_at"]) == (first, None)
    assert (await kept(db, mid))[first] == 70
    await agenda.resume_item(db, mid, world.staff, first)


async def test_items_are_reordered_and_every_screen_is_told(db: Database, world: World) -> None:
    mid, (first, second, third) = await agenda_meeting(db, world)
    moved = await agenda.move_agenda_item(db, mid, world.staff, third, 1)
    assert moved.event.type == "agenda_item_moved"
    assert moved.event.payload == {"item_id": third, "order": [third, first, second]}
    shown = (await state.snapshot(db, mid))["agenda"]
    assert [(i["id"], i["position"]) for i in shown] == [(third, 1), (first, 2), (second, 3)]

    await agenda.move_agenda_item(db, mid, world.staff, third, 3)
    assert [i["id"] for i in (await state.snapshot(db, mid))["agenda"]] == [first, second, third]
    for position, key in ((4, "agenda.bad_position"), (3, "agenda.already_there")):
        with pytest.raises(DomainError) as refused:
            await agenda.move_agenda_item(db, mid, world.staff, third, position)
        assert refused.value.key == key
    with pytest.raises(Invalid) as nonsense:
        await agenda.move_agenda_item(db, mid, world.staff, third, 0)
    assert nonsense.value.key == "input.out_of_range"
    # A refused move takes no number: the log has no gaps.
    async with db.read() as session:
        numbers = list(
            await session.scalars(
                select(MeetingEvent.seq)
                .where(MeetingEvent.meeting_id == mid)
                .order_by(MeetingEvent.seq)
            )
        )
    assert numbers == list(range(1, len(numbers) + 1))


async def test_a_presenter_is_optional_and_bounded(db: Database, world: World) -> None:
    mid, (first, second, _third) = await agenda_meeting(db, world)
    shown = (await state.snapshot(db, mid))["agenda"]
    assert [i["presenter"] for i in shown] == [None, "נועה כהן", None]
    updated = await agenda.update_agenda_item(
        db,
        mid,
        world.staff,
        first,
        AgendaItemInput("עדכונים", 10, "update", presenter="  Dana  Levi "),
    )
    assert updated.event.payload["item"]["presenter"] == "Dana Levi"
    cleared = await agenda.update_agenda_item(
        db, mid, world.staff, second, AgendaItemInput("החלטה", 20, "decision", presenter=" ")
    )
    assert cleared.event.payload["item"]["presenter"] is None
    with pytest.raises(Invalid) as long:
        await agenda.add_agenda_item(
            db, mid, world.staff, AgendaItemInput("עוד", 5, presenter="א" * 121)
        )
    assert (long.value.key, long.value.params["field"]) == ("input.too_long", "presenter")


async def test_time_and_place_are_kept_checked_and_told(db: Database, world: World) -> None:
    created = await lifecycle.create_meeting(
        db, world.staff, world.group, "מפגש", TODAY, starts_at="09:05:00", place="  חדר  2 "
    )
    mid = created.event.meeting_id
    view = created.event.payload["meeting"]
    assert (view["starts_at"], view["place"]) == ("09:05", "חדר 2")

    updated = await lifecycle.update_meeting(
        db, mid, world.staff, "מפגש", TODAY, starts_at="17:45", place="Beit Ha'am"
    )
    assert updated.event.payload == {
        "title": "מפגש",
        "scheduled_on": TODAY.isoformat(),
        "starts_at": "17:45",
        "place": "Beit Ha'am",
    }
    async with db.read() as session:
        meeting = await session.get_one(Meeting, mid)
        assert (meeting.starts_at, meeting.place) == (time(17, 45), "Beit Ha'am")
    cleared = await lifecycle.update_meeting(
        db, mid, world.staff, "מפגש", TODAY, starts_at="", place=None
    )
    assert (cleared.event.payload["starts_at"], cleared.event.payload["place"]) == (None, None)

    for bad in ("25:00", "noon", "7pm", "18:3"):
        with pytest.raises(Invalid) as refused:
            await lifecycle.update_meeting(
                db, mid, world.staff, "מפגש", TODAY, starts_at=bad, place=None
            )
        assert refused.value.key == "input.bad_time"
        # Readable, in the person's language, naming the field by its label.
        said = translate(refused.value.key, "he", **refused.value.params)
        assert said == "שעת התחלה: נא לבחור שעה, למשל 18:30."
        assert translate(refused.value.key, "en", **refused.value.params).startswith("Start time:")
    with pytest.raises(Invalid) as far:
        await lifecycle.update_meeting(
            db, mid, world.staff, "מפגש", TODAY, starts_at=None, place="x" * 201
        )
    assert translate(far.value.key, "en", **far.value.params) == (
        "Place is too long (at most 200 characters)."
    )


async def closed_meeting(db: Database, world: World) -> int:
    mid, _items = await agenda_meeting(db, world)
    await lifecycle.move(db, mid, world.staff, Stage.COMMITMENTS)
    await commitments.add(
        db, mid, world.staff, "לשלוח סיכום", world.people[0], TODAY + timedelta(days=10)
    )
    await lifecycle.close(db, mid, world.staff)
    return mid


async def test_the_next_meeting_is_scheduled_from_the_closed_one_in_one_step(
    db: Database, world: World
) -> None:
    mid = await closed_meeting(db, world)
    offered = (await state.snapshot(db, mid))["next"]
    # Same weekday, time and place, two weeks on (the group has no earlier meeting).
    assert offered == {
        "meeting": None,
        "suggested": {
            "title": "מפגש",
            "scheduled_on": (TODAY + timedelta(weeks=2)).isoformat(),
            "starts_at": "18:30",
            "place": "מתנ״ס הדר",
        },
    }
    day = TODAY + timedelta(weeks=2)
    result = await schedule.schedule_next(
        db, mid, world.staff, "מפגש המשך", day, starts_at="18:30", place="מתנ״ס הדר",
        copy_agenda=True,
    )  # fmt: skip
    # The closed meeting's screens are told, and its record now names the next meeting.
    assert result.event.meeting_id == mid
    assert result.event.type == "next_meeting_scheduled"
    following = result.event.payload["next"]
    assert following["title"] == "מפגש המשך"
    assert (following["scheduled_on"], following["starts_at"]) == (day.isoformat(), "18:30")
    assert "join_code" not in following
    assert (await state.snapshot(db, mid))["next"]["meeting"] == following

    fresh = await state.snapshot(db, following["id"])
    assert fresh["meeting"]["stage"] == "lobby"
    assert fresh["meeting"]["join_code"]
    assert fresh["group"]["id"] == world.group
    assert fresh["meeting"]["place"] == "מתנ״ס הדר"
    assert [(i["title"], i["minutes"], i["presenter"], i["elapsed_seconds"]) for i in fresh["agenda"]] == [
        ("עדכונים", 10, None, 0),
        ("החלטה", 20, None, 0),
        ("דיון", 15, None, 0),
    ]  # fmt: skip
    # The commitment made here waits there.
    carried = await state.carried_commitments(db, following["id"])
    assert [c["text"] for c in carried] == ["לשלוח סיכום"]


async def test_scheduling_the_next_meeting_is_refused_when_it_makes_no_sense(
    db: Database, world: World
) -> None:
    mid = await closed_meeting(db, world)
    with pytest.raises(Invalid) as past:
        await schedule.schedule_next(
            db, mid, world.staff, "מפגש", TODAY - timedelta(days=1), starts_at=None, place=None,
            copy_agenda=False,
        )  # fmt: skip
    assert past.value.key == "meeting.date_in_past"
    with pytest.raises(Invalid) as bad_time:
        await schedule.schedule_next(
            db, mid, world.staff, "מפגש", TODAY, starts_at="later", place=None, copy_agenda=False
        )
    assert bad_time.value.key == "input.bad_time"
    with pytest.raises(DomainError) as phone:
        await schedule.schedule_next(
            db, mid, Actor.participant(world.people[0]), "מפגש", TODAY,
            starts_at=None, place=None, copy_agenda=False,
        )  # fmt: skip
    assert phone.value.key == "role.forbidden"
    # An open meeting is not a record yet: its next is planned once it closes.
    open_one, _ = await agenda_meeting(db, world)
    with pytest.raises(Refused) as early:
        await schedule.schedule_next(
            db, open_one, world.staff, "מפגש", TODAY, starts_at=None, place=None,
            copy_agenda=False,
        )  # fmt: skip
    assert early.value.key == "flow.wrong_stage"
    async with db.read() as session:
        groups_meetings = list(
            await session.scalars(select(Meeting.id).where(Meeting.group_id == world.group))
        )
    assert sorted(groups_meetings) == sorted([mid, open_one])


async def test_an_archived_group_gets_no_next_meeting(db: Database, world: World) -> None:
    mid = await closed_meeting(db, world)
    async with db.write() as session:
        await session.execute(
            update(Group).where(Group.id == world.group).values(archived_at=db.now())
        )
    with pytest.raises(Refused) as archived:
        await schedule.schedule_next(
            db, mid, world.staff, "מפגש", TODAY + timedelta(days=7), starts_at=None, place=None,
            copy_agenda=True,
        )  # fmt: skip
    assert archived.value.key == "group.archived"
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(Meeting).where(Meeting.group_id == world.group)
        )
    assert count == 1


async def test_a_resent_schedule_makes_one_meeting(db: Database, world: World) -> None:
    mid = await closed_meeting(db, world)
    args = (db, mid, world.staff, "מפגש", TODAY + timedelta(days=7))
    first = await schedule.schedule_next(
        *args, starts_at=None, place=None, copy_agenda=False, client_msg_id="next-1"
    )
    again = await schedule.schedule_next(
        *args, starts_at=None, place=None, copy_agenda=False, client_msg_id="next-1"
    )
    assert again.replayed
    assert again.event.payload == first.event.payload
