"""Becoming a person the network knew before, on a real migrated SQLite file: a phone that names
them only asks; the facilitator's tap makes its secret a token and the person present, once;
requests are bounded and only staff decide."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import Attendance, JoinRequest, ParticipantToken
from facilitator.errors import Forbidden, NotFound, Refused
from facilitator.flow import Action, Role, authorize
from facilitator.services import access, claims, joining, lifecycle, network, roster, state
from facilitator.services.actors import Actor
from tests.support.meetings import new_meeting
from tests.support.world import Clock, World

NAME, ORG = "רותם כהן", "מתנ״ס הדר"


@pytest.fixture
async def known(db: Database, world: World) -> int:
    """Someone the backbone entered, who has never held a phone."""
    org = await network.add_organization(db, world.network, ORG, "nonprofit")
    return await network.add_person(db, world.network, NAME, org)


async def ask(db: Database, mid: int, name: str = NAME, key: str | None = None) -> tuple[str, int]:
    token = access.new_token()
    result = await joining.join(
        db, mid, name=name, organization=ORG, token_hash=access.digest(token), client_msg_id=key
    )
    assert result.event.type == "claim_requested"
    return token, result.event.payload["claim"]["id"]


async def present(db: Database, mid: int, person: int) -> bool:
    async with db.read() as session:
        found = await session.scalar(
            select(Attendance.id).where(
                Attendance.meeting_id == mid, Attendance.person_id == person
            )
        )
    return found is not None


async def test_naming_a_known_person_only_asks(db: Database, world: World, known: int) -> None:
    mid = await new_meeting(db, world)
    token, claim_id = await ask(db, mid)
    assert not await present(db, mid, known)
    assert await access.person_for(db, token) is None
    waiting = await claims.still_asking(db, access.digest(token))
    assert waiting is not None
    assert waiting.accepted is None
    assert waiting.person["id"] == known
    assert 10 <= waiting.number <= 99
    async with db.read() as session:
        [shown] = await claims.waiting(session, mid)
    assert shown["id"] == claim_id
    assert shown["person"]["name"] == NAME
    # A name typed for the first time is a new person at once.
    fresh = await joining.join(db, mid, name="שם חדש לגמרי", organization=ORG)
    assert fresh.event.type == "joined"


async def test_accepting_makes_the_secret_a_token_and_the_person_present(
    db: Database, world: World, known: int
) -> None:
    mid = await new_meeting(db, world)
    token, claim_id = await ask(db, mid)
    loser, loser_id = await ask(db, mid)
    done = await claims.decide(db, mid, world.staff, claim_id, True, client_msg_id="ok-1")
    assert done.event.type == "joined"
    assert done.event.payload["claim"] == {"id": claim_id}
    assert done.event.payload["person"]["id"] == known
    assert done.event.payload["attendance"] == 1
    assert await access.person_for(db, token) == known
    assert await present(db, mid, known)
    # The other phone asking for the same person lost with it, and holds nothing.
    lost = await claims.still_asking(db, access.digest(loser))
    assert lost is not None
    assert lost.accepted is False
    assert await access.person_for(db, loser) is None
    with pytest.raises(Refused) as twice:
        await claims.decide(db, mid, world.staff, loser_id, True)
    assert twice.value.key == "claim.decided"
    # The same tap resent (a lost acknowledgement) changes nothing more.
    again = await claims.decide(db, mid, world.staff, claim_id, True, client_msg_id="ok-1")
    assert again.replayed
    async with db.read() as session:
        tokens = await session.scalar(
            select(func.count()).where(ParticipantToken.person_id == known)
        )
        assert await claims.waiting(session, mid) == []
    assert tokens == 1


async def test_refusing_leaves_the_person_free(db: Database, world: World, known: int) -> None:
    mid = await new_meeting(db, world)
    token, claim_id = await ask(db, mid)
    refused = await claims.decide(db, mid, world.staff, claim_id, False)
    assert refused.event.type == "claim_refused"
    assert refused.event.payload == {"claim": {"id": claim_id}, "person": {"id": known}}
    assert not await present(db, mid, known)
    assert await access.person_for(db, token) is None
    # The person can still be asked for (the right phone), and accepted.
    _token, second = await ask(db, mid)
    assert (await claims.decide(db, mid, world.staff, second, True)).event.type == "joined"


async def test_only_staff_decide_and_only_in_their_meeting(
    db: Database, world: World, known: int
) -> None:
    for role in (Role.FACILITATOR, Role.BACKBONE):
        authorize(role, Action.DECIDE_CLAIM)
    for role in (Role.PARTICIPANT, Role.PROJECTOR):
        with pytest.raises(Forbidden):
            authorize(role, Action.DECIDE_CLAIM)
    mid = await new_meeting(db, world)
    _token, claim_id = await ask(db, mid)
    guest = await joining.join(db, mid, name="אורחת", organization="ארגון אחר")
    guest_id = guest.event.payload["person"]["id"]
    with pytest.raises(Forbidden):
        await claims.decide(db, mid, Actor.participant(guest_id), claim_id, True)
    other = await new_meeting(db, world, group=world.other_group)
    with pytest.raises(NotFound):
        await claims.decide(db, other, world.staff, claim_id, True)
    assert not await present(db, mid, known)


async def test_a_fourth_request_for_one_person_replaces_the_oldest(
    db: Database, world: World, known: int
) -> None:
    """Three requests someone else made up cannot keep the real person's phone out."""
    mid = await new_meeting(db, world)
    made = [await ask(db, mid) for _ in range(flow.MAX_WAITING_PER_PERSON)]
    token = access.new_token()
    real = await joining.join(db, mid, name=NAME, organization=ORG, token_hash=access.digest(token))
    assert real.event.type == "claim_requested"
    assert real.event.payload["replaced"] == {"id": made[0][1]}
    oldest = await claims.still_asking(db, access.digest(made[0][0]))
    assert oldest is not None
    assert oldest.accepted is False
    async with db.read() as session:
        shown = [c["id"] for c in await claims.waiting(session, mid)]
    assert shown == [m[1] for m in made[1:]] + [real.event.payload["claim"]["id"]]


async def test_the_meeting_bound_counts_only_phones_still_asking(
    db: Database, world: World, known: int, clock: Clock
) -> None:
    mid = await new_meeting(db, world)

    async def fill(asked_at: datetime) -> None:
        async with db.write() as session:
            session.add_all(
                JoinRequest(
                    meeting_id=mid,
                    person_id=known,
                    token_hash=f"filler-{asked_at.isoformat()}-{i}",
                    number=11,
                    created_at=asked_at,
                    asked_at=asked_at,
                )
                for i in range(flow.MAX_WAITING_PER_MEETING)
            )

    org = await network.add_organization(db, world.network, "ארגון שני", "other")
    await network.add_person(db, world.network, "נועה ברק", org)
    # Phones that stopped asking a minute ago do not count...
    await fill(clock.now - timedelta(minutes=1))
    asked = await joining.join(db, mid, name="נועה ברק", organization="ארגון שני")
    assert asked.event.type == "claim_requested"
    # ... sixty still asking do.
    await fill(clock.now)
    with pytest.raises(Refused) as full:
        await joining.join(db, mid, name="נועה ברק", organization="ארגון שני")
    assert full.value.key == "join.too_many_waiting"


async def test_two_open_requests_never_show_the_same_number(
    db: Database, world: World, known: int, clock: Clock
) -> None:
    mid = await new_meeting(db, world)
    async with db.write() as session:
        session.add_all(
            JoinRequest(
                meeting_id=mid,
                person_id=known,
                token_hash=f"used-{n}",
                number=n,
                created_at=clock.now - timedelta(minutes=5),
                asked_at=clock.now - timedelta(minutes=5),
            )
            for n in range(10, 100)
            if n != 42
        )
    org = await network.add_organization(db, world.network, "ארגון שני", "other")
    await network.add_person(db, world.network, "נועה ברק", org)
    asked = await joining.join(db, mid, name="נועה ברק", organization="ארגון שני")
    assert asked.event.payload["claim"]["number"] == 42


async def test_a_request_loses_when_another_phone_takes_the_person(
    db: Database, world: World, known: int
) -> None:
    mid = await new_meeting(db, world)
    token, claim_id = await ask(db, mid)
    # The facilitator marks them present, and then a phone typing the name takes them at once.
    await roster.mark_present(db, mid, world.staff, known)
    other = access.new_token()
    taken = await joining.join(
        db, mid, name=NAME, organization=ORG, token_hash=access.digest(other)
    )
    assert taken.claimed
    waiting = await claims.still_asking(db, access.digest(token))
    assert waiting is not None
    assert waiting.taken
    # Accepting the old request now cannot hand the person to a second phone.
    late = await claims.decide(db, mid, world.staff, claim_id, True)
    assert late.event.type == "claim_refused"
    assert await access.person_for(db, token) is None
    assert await access.person_for(db, other) == known


async def test_closing_or_calling_off_refuses_every_open_request(
    db: Database, world: World, known: int
) -> None:
    mid = await new_meeting(db, world)
    token, _claim_id = await ask(db, mid)
    await lifecycle.cancel(db, mid, world.staff)
    waiting = await claims.still_asking(db, access.digest(token))
    assert waiting is not None
    assert waiting.accepted is False
    assert (await state.snapshot(db, mid))["claims"] == []


async def test_phones_do_not_see_requests(db: Database, world: World, known: int) -> None:
    mid = await new_meeting(db, world)
    await ask(db, mid)
    staff_view = await state.snapshot(db, mid)
    assert [c["person"]["id"] for c in staff_view["claims"]] == [known]
    assert "claims" not in state.for_phones(staff_view)
