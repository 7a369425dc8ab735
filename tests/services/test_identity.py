"""One person per person, on a real migrated SQLite file: a join in any spelling lands on the
network's own person and organization, the phone is offered the network's spellings, and a
facilitator frees a name a phone holds."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from facilitator import migrate
from facilitator.db import Database
from facilitator.db.models import MeetingEvent, Organization, ParticipantToken, Person
from facilitator.errors import Forbidden, Invalid, NotFound, Refused
from facilitator.flow import Action, Role, authorize
from facilitator.names import match_key
from facilitator.services import access, identity, joining, network, phones, roster
from facilitator.services.actors import Actor
from tests.support.meetings import new_meeting
from tests.support.world import TODAY, Clock, World

MUNICIPALITY = "עיריית באר שבע – אגף החינוך"
COMPANY = "נגב טק בע״מ"


@pytest.fixture
async def spelled(db: Database, world: World) -> dict[str, int]:
    """Two organizations spelled the way the demo network spells them, one person in each."""
    city = await network.add_organization(db, world.network, MUNICIPALITY, "government")
    company = await network.add_organization(db, world.network, COMPANY, "business")
    return {
        "city": city,
        "company": company,
        "yosef": await network.add_person(db, world.network, "יוסף אבו-סבית", city),
        "daniel": await network.add_person(db, world.network, "Daniel Green", company),
    }


async def counts(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        orgs = await session.scalar(select(func.count()).select_from(Organization))
        people = await session.scalar(select(func.count()).select_from(Person))
    return orgs or 0, people or 0


@pytest.mark.parametrize(
    ("name", "organization", "who"),
    [
        ("יוסף אבו-סבית", "עיריית באר שבע - אגף החינוך", "yosef"),  # hyphen for the en dash
        ("יוסף אבו-סבית", "עיריית באר שבע—אגף החינוך", "yosef"),  # em dash, no spaces
        ("יוסף אבו־סבית", "עיריית באר שבע ־ אגף החינוך", "yosef"),  # maqaf in both
        ("יוסף  אבו-סבית", "עיריית\u00a0באר שבע – אגף  החינוך", "yosef"),  # odd spaces
        ("יוסף אבו-סבית", "\u200fעיריית באר\u200b שבע – אגף החינוך\u2069", "yosef"),
        ("יוֹסֵף אבו-סבית", "עִירִיַּית באר שבע – אגף החינוך", "yosef"),  # niqqud
        ("Daniel Green", 'נגב טק בע"מ', "daniel"),  # ASCII quote for gershayim
        ("daniel GREEN", "נגב טק בע''מ", "daniel"),  # two apostrophes, and case
        ("Daniel\u200d Green", "נגב טק בע׳׳מ", "daniel"),  # two gereshes, a zero-width joiner
    ],
)
async def test_a_join_in_any_spelling_lands_on_the_known_person(
    db: Database, world: World, spelled: dict[str, int], name: str, organization: str, who: str
) -> None:
    mid = await new_meeting(db, world)
    before = await counts(db)
    joined = await joining.join(db, mid, name=name, organization=organization)
    person = joined.event.payload["person"]
    assert person["id"] == spelled[who]
    assert person["organization"] in (MUNICIPALITY, COMPANY)  # the network's own spelling
    assert await counts(db) == before


async def test_a_new_name_is_stored_without_invisible_marks(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    first = await joining.join(
        db, mid, name="\u200fרות\u200b כהן\u200e", organization="\u2067מרכז קהילתי\u2069"
    )
    person = first.event.payload["person"]
    assert person["name"] == "רות כהן"
    assert person["organization"] == "מרכז קהילתי"
    async with db.read() as session:
        stored = await session.get_one(Person, person["id"])
        assert stored.name_key == match_key("רות כהן")
    # Only invisible marks: nothing was typed at all.
    with pytest.raises(Invalid) as empty:
        await joining.join(db, mid, name="\u200b\u200f", organization="מרכז קהילתי")
    assert empty.value.key == "input.empty"


async def test_a_resent_join_is_a_replay_in_any_spelling(
    db: Database, world: World, spelled: dict[str, int]
) -> None:
    mid = await new_meeting(db, world)
    first = await joining.join(
        db, mid, name="Daniel Green", organization=COMPANY, client_msg_id="join-1"
    )
    again = await joining.join(
        db, mid, name="daniel green", organization='נגב טק בע"מ', client_msg_id="join-1"
    )
    assert again.replayed
    assert again.event == first.event
    with pytest.raises(Forbidden):
        await joining.join(
            db, mid, name="Someone Else", organization=COMPANY, client_msg_id="join-1"
        )


async def test_a_held_name_stays_held_in_every_spelling(
    db: Database, world: World, spelled: dict[str, int]
) -> None:
    mid = await new_meeting(db, world)
    await joining.join(db, mid, name="Daniel Green", organization=COMPANY)
    await access.issue_participant_token(db, spelled["daniel"])
    with pytest.raises(Refused) as taken:
        await joining.join(db, mid, name="DANIEL\u200b GREEN", organization='נגב טק בע"מ')
    assert taken.value.key == "join.name_taken"
    assert taken.value.params["name"] == "Daniel Green"


async def test_a_new_name_that_only_looks_like_one_the_network_knows_is_refused(
    db: Database, world: World
) -> None:
    """Cyrillic letters, a digit for a letter, another organization, another meeting: on screen
    it is the same person twice, so the new one is refused, naming the one it looks like;
    names that differ, and Hebrew letters the data would fold (vav, final nun), still join."""
    mid = await new_meeting(db, world)
    await joining.join(db, mid, name="Anna Paul", organization="Org A")
    await joining.join(db, mid, name="דן כהן", organization="Org A")
    other = await new_meeting(db, world)
    for meeting in (mid, other):
        for typed in ("\u0410nna Paul", "Anna Pau1", "\u0391nna Paul"):  # Cyrillic; 1; Greek
            with pytest.raises(Refused) as alike:
                await joining.join(db, meeting, name=typed, organization="Org B")
            assert alike.value.key == "join.name_looks_taken"
            assert alike.value.params == {"name": typed, "other": "Anna Paul"}
    assert (await joining.join(db, mid, name="Anna Pauls", organization="Org B")).event
    assert (await joining.join(db, mid, name="דו כהן", organization="Org B")).event
    assert (await joining.join(db, mid, name="ANNA PAUL", organization="Org B")).event  # case


async def test_two_stored_spellings_of_one_organization_are_one(db: Database, world: World) -> None:
    # Left from before names were matched: the same municipality twice, the person in the second.
    await network.add_organization(db, world.network, "עיריית באר שבע - אגף החינוך")
    late = await network.add_organization(db, world.network, MUNICIPALITY)
    yosef = await network.add_person(db, world.network, "יוסף אבו-סבית", late)
    mid = await new_meeting(db, world)
    joined = await joining.join(
        db, mid, name="יוסף אבו-סבית", organization="עיריית באר שבע - אגף החינוך"
    )
    assert joined.event.payload["person"]["id"] == yosef


async def test_the_phone_is_offered_the_networks_spellings(
    db: Database, world: World, spelled: dict[str, int]
) -> None:
    mid = await new_meeting(db, world)
    offered = await identity.suggestions(db, mid, "באר שבע - אגף", None)
    assert offered == {"organizations": [MUNICIPALITY], "people": []}
    # What it starts with comes first, then what holds it; names only.
    await network.add_organization(db, world.network, "אגף החינוך המחוזי")
    offered = await identity.suggestions(db, mid, "אגף החינוך", None)
    assert offered["organizations"] == ["אגף החינוך המחוזי", MUNICIPALITY]
    # A chosen organization (in any spelling) lists its people known to this group: none yet,
    # since the network's whole roster is never listed to whoever has the code.
    people = await identity.suggestions(db, mid, "", 'נגב טק בע"מ')
    assert people == {"organizations": [], "people": []}
    await network.add_person(db, world.network, "Dana Green", spelled["company"])
    await joining.join(db, mid, person_id=spelled["daniel"])
    people = await identity.suggestions(db, mid, "", 'נגב טק בע"מ')
    assert people == {"organizations": [], "people": ["Daniel Green"]}
    # The name typed so far narrows them, in any spelling.
    assert (await identity.suggestions(db, mid, "", 'נגב טק בע"מ', "DANI"))["people"] == [
        "Daniel Green"
    ]
    assert (await identity.suggestions(db, mid, "", 'נגב טק בע"מ', "Ruth"))["people"] == []
    assert await identity.suggestions(db, mid, "  ", "אין כזה") == {
        "organizations": [],
        "people": [],
    }


async def test_suggestions_are_bounded_and_stay_in_the_network(db: Database, world: World) -> None:
    for n in range(12):
        await network.add_organization(db, world.network, f"עמותה מספר {n}")
    other = await network.create_network(db, "רשת אחרת")
    await network.add_organization(db, other, "עמותה של רשת אחרת")
    mid = await new_meeting(db, world)
    offered = await identity.suggestions(db, mid, "עמותה", None)
    assert len(offered["organizations"]) == identity.MAX_ORGANIZATIONS
    assert "עמותה של רשת אחרת" not in offered["organizations"]
    # LIKE's own wildcards are plain characters here.
    assert (await identity.suggestions(db, mid, "%", None))["organizations"] == []


async def test_the_migration_fills_keys_for_existing_rows(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
    await migrate.upgrade_async(url, "0003")
    db = Database(url)
    try:
        async with db.write() as session:
            for statement in (
                "INSERT INTO networks (id, name, default_language, timezone, created_at) "
                "VALUES (1, 'רשת', 'he', 'Asia/Jerusalem', '2026-01-01 00:00:00')",
                f"INSERT INTO organizations (id, network_id, name) VALUES (1, 1, '{COMPANY}')",
                "INSERT INTO people (id, network_id, organization_id, name, created_at) "
                "VALUES (1, 1, 1, '\u200fDaniel  Green', '2026-01-01 00:00:00')",
            ):
                await session.execute(text(statement))
    finally:
        await db.dispose()
    await migrate.upgrade_async(url)
    db = Database(url)
    try:
        async with db.read() as session:
            org_key = await session.scalar(text("SELECT name_key FROM organizations"))
            person_key = await session.scalar(text("SELECT name_key FROM people"))
    finally:
        await db.dispose()
    assert org_key == match_key('נגב טק בע"מ') == 'נגב טק בע"מ'
    assert person_key == "daniel green"


# --- releasing a name ---------------------------------------------------------------------------


def test_only_staff_may_release_a_name() -> None:
    for role in (Role.FACILITATOR, Role.BACKBONE):
        authorize(role, Action.RELEASE_NAME)
    for role in (Role.PARTICIPANT, Role.PROJECTOR):
        with pytest.raises(Forbidden):
            authorize(role, Action.RELEASE_NAME)


async def test_releasing_a_name_frees_it_for_the_right_phone(
    db: Database, world: World, spelled: dict[str, int], clock: Clock
) -> None:
    mid = await new_meeting(db, world)
    daniel = spelled["daniel"]
    await joining.join(db, mid, person_id=daniel)
    token = await access.issue_participant_token(db, daniel)
    clock.now += timedelta(minutes=5)

    # A phone, even the one holding the name, cannot release it.
    with pytest.raises(Forbidden):
        await phones.release_name(db, mid, Actor.participant(daniel), daniel)

    shown = await phones.holders(db, mid)
    mine = next(p for p in shown if p["id"] == daniel)
    assert set(mine) == {"id", "name", "organization", "present", "phones", "held_since"}
    assert mine["present"]
    assert mine["phones"] == 1
    assert mine["held_since"].startswith(TODAY.isoformat())

    released = await phones.release_name(db, mid, world.staff, daniel, client_msg_id="rel-1")
    assert released.event.type == "name_released"
    assert released.event.payload == {
        "person": {
            "id": daniel,
            "name": "Daniel Green",
            "organization": COMPANY,
            "organization_id": spelled["company"],
            "sector": "business",
        }
    }
    assert await access.person_for(db, token) is None
    again = await phones.release_name(db, mid, world.staff, daniel, client_msg_id="rel-1")
    assert again.replayed
    with pytest.raises(Refused) as free:
        await phones.release_name(db, mid, world.staff, daniel)
    assert free.value.key == "release.not_held"
    assert next(p for p in await phones.holders(db, mid) if p["id"] == daniel)["phones"] == 0

    # The right phone now takes the name by typing it, and gets the same person.
    rejoined = await joining.join(db, mid, name="daniel green", organization='נגב טק בע"מ')
    assert rejoined.event.payload["person"]["id"] == daniel
    async with db.read() as session:
        logged = await session.scalar(
            select(func.count()).where(
                MeetingEvent.meeting_id == mid, MeetingEvent.type == "name_released"
            )
        )
        revoked = await session.scalar(
            select(func.count()).where(ParticipantToken.revoked_at.is_not(None))
        )
    assert logged == 1
    assert revoked == 1


async def test_only_a_person_of_the_network_is_released(db: Database, world: World) -> None:
    mid = await new_meeting(db, world)
    other = await network.create_network(db, "רשת אחרת")
    stranger = await network.add_person(db, other, "זר")
    await access.issue_participant_token(db, stranger)
    with pytest.raises(NotFound):
        await phones.release_name(db, mid, world.staff, stranger)
    with pytest.raises(Invalid):
        await phones.release_name(db, mid, world.staff, 0)


async def test_staff_find_a_name_held_outside_the_meeting(
    db: Database, world: World, spelled: dict[str, int]
) -> None:
    # The owner is locked out before joining: the facilitator looks them up by name.
    mid = await new_meeting(db, world)
    await access.issue_participant_token(db, spelled["yosef"])
    found = await phones.holders(db, mid, "אבו־סבית")
    assert [(p["id"], p["present"], p["phones"]) for p in found] == [(spelled["yosef"], False, 1)]
    by_org = await phones.holders(db, mid, "באר שבע - אגף")
    assert [p["id"] for p in by_org] == [spelled["yosef"]]
    assert await phones.holders(db, mid, "\u200b") == []
    with pytest.raises(Invalid):
        await phones.holders(db, mid, "א" * 121)


async def test_of_phones_joining_as_one_person_at_once_exactly_one_becomes_them(
    db: Database, world: World
) -> None:
    """Twelve phones type one new name at once, then twelve type the name of someone the
    facilitator marked present: each time one phone gets the person and the others hear the
    name is taken; the person has one live token, the winner's."""
    mid = await new_meeting(db, world)

    async def race(name: str) -> list[object]:
        hashes = [access.digest(access.new_token()) for _ in range(12)]
        results = await asyncio.gather(
            *(
                joining.join(db, mid, name=name, organization="עירייה", token_hash=h)
                for h in hashes
            ),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, Refused)]
        assert len(won) == 1, results
        assert len(lost) == 11, results
        assert {r.key for r in lost} == {"join.name_taken"}
        person = won[0].event.payload["person"]["id"]
        async with db.read() as session:
            live = list(
                await session.scalars(
                    select(ParticipantToken.token_hash).where(
                        ParticipantToken.person_id == person,
                        ParticipantToken.revoked_at.is_(None),
                    )
                )
            )
        assert len(live) == 1
        assert live[0] in hashes
        return results

    await race("שם חדש לגמרי")
    marked = world.people[0]
    await roster.mark_present(db, mid, world.staff, marked)
    async with db.read() as session:
        name = await session.scalar(select(Person.name).where(Person.id == marked))
    await race(str(name))
