"""One organization per name key, and one person per name key in an organization, held by the
database itself (``uq_organizations_one_per_name_key``, ``uq_people_one_per_name_key``): joins,
the backbone's pages and the import in several processes on one PostgreSQL make one row where
each, finding none, made its own. Races as in ``test_database_invariants.py``
(``tests/support/races.py``); on SQLite the one writer serializes them, with the same answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from facilitator import migrate
from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    AuditEntry,
    Commitment,
    GroupMember,
    Meeting,
    Organization,
    Person,
)
from facilitator.errors import Conflict
from facilitator.flow import CommitmentStatus
from facilitator.services import (
    identity,
    import_plan,
    importer,
    joining,
    lifecycle,
    network,
    organizations,
    people,
    spreadsheet,
)
from facilitator.services.commands import Result
from tests.support import postgres_db
from tests.support.meetings import new_meeting
from tests.support.races import released_together
from tests.support.world import POSTGRES, TODAY, Clock, World, build_world


async def started_meetings(db: Database, world: World) -> tuple[int, int]:
    """A started meeting of each of the world's groups: two joins of one meeting take turns on
    its row, two joins of two meetings do not."""
    first = await new_meeting(db, world)
    second = await new_meeting(db, world, group=world.other_group)
    for meeting in (first, second):
        await lifecycle.start(db, meeting, world.staff)
    return first, second


async def people_named(db: Database, world: World, name: str) -> list[int]:
    """The network's people not merged away whose name has ``name``'s key."""
    async with db.read() as session:
        return list(
            await session.scalars(
                select(Person.id)
                .where(
                    Person.network_id == world.network,
                    Person.name_key == identity.person_key(name),
                    Person.merged_into_id.is_(None),
                )
                .order_by(Person.id)
            )
        )


async def organizations_keyed(db: Database, world: World, name: str) -> list[int]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(Organization.id).where(
                    Organization.network_id == world.network,
                    Organization.name_key == identity.organization_key(name),
                    Organization.merged_into_id.is_(None),
                )
            )
        )


def person_of(outcome: Any) -> tuple[str, int]:
    assert isinstance(outcome, Result), outcome
    return outcome.event.type, int(outcome.event.payload["person"]["id"])


async def test_two_joins_of_one_new_person_at_once_make_one_person(
    db: Database, other_db: Database, third_db: Database, world: World
) -> None:
    first, second = await started_meetings(db, world)

    async def hold_both(session: Any) -> None:
        # Each join begins by numbering its meeting's event: they wait here, then go on
        # together into finding no one of the name and making them.
        await session.execute(
            update(Meeting).where(Meeting.id.in_([first, second])).values(last_seq=Meeting.last_seq)
        )

    # One person in two spellings (a maqaf, an en dash): one key.
    outcomes = await released_together(
        third_db,
        hold_both,
        joining.join(db, first, name="דנה בר-און", organization="עמותה", client_msg_id="a" * 20),
        joining.join(
            other_db, second, name="דנה בר–און", organization="עמותה", client_msg_id="b" * 20
        ),
    )

    made = await people_named(db, world, "דנה בר-און")
    assert len(made) == 1, (made, outcomes)
    # The first to write made them and joined; the other found them known, so it asks the
    # facilitator to be them, as it would have a moment later.
    assert sorted(person_of(o) for o in outcomes) == [
        ("claim_requested", made[0]),
        ("joined", made[0]),
    ]


async def test_a_person_made_meanwhile_is_the_one_both_joins_get(
    db: Database, other_db: Database, third_db: Database, world: World
) -> None:
    first, second = await started_meetings(db, world)
    made: list[int] = []

    async def make_them_unseen(session: Any) -> None:
        # A third phone's join in another process, not committed while these two look.
        person = Person(
            network_id=world.network, organization_id=world.orgs[1], name="יואב שחר",
            created_at=db.now(),
        )  # fmt: skip
        session.add(person)
        await session.flush()
        made.append(person.id)

    outcomes = await released_together(
        third_db,
        make_them_unseen,
        joining.join(db, first, name="יואב שחר", organization="עמותה", client_msg_id="a" * 20),
        joining.join(
            other_db, second, name="יואב  שחר", organization="עמותה", client_msg_id="b" * 20
        ),
    )

    assert await people_named(db, world, "יואב שחר") == made
    assert [person_of(o) for o in outcomes] == [("claim_requested", made[0])] * 2


async def test_two_phones_naming_one_new_organization_in_two_spellings_share_it(
    db: Database, other_db: Database, third_db: Database, world: World
) -> None:
    first, second = await started_meetings(db, world)
    made: list[int] = []

    async def make_it_unseen(session: Any) -> None:
        # Typed with ASCII quotes in another process; these two type gershayim.
        org = Organization(network_id=world.network, name='מתנ"ס הגפן', sector="community")
        session.add(org)
        await session.flush()
        made.append(org.id)

    outcomes = await released_together(
        third_db,
        make_it_unseen,
        joining.join(db, first, name="רות כהן", organization="מתנ״ס הגפן", client_msg_id="a" * 20),
        joining.join(
            other_db, second, name="נועה לוי", organization="מתנ״ס הגפן", client_msg_id="b" * 20
        ),
    )

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert await organizations_keyed(db, world, "מתנ״ס הגפן") == made
    async with db.read() as session:
        joined = set(
            await session.scalars(
                select(Person.organization_id).where(Person.name.in_(["רות כהן", "נועה לוי"]))
            )
        )
    assert joined == set(made)


async def test_two_spellings_of_one_organization_added_at_once_give_one_row(
    db: Database, other_db: Database, world: World
) -> None:
    spellings = ("מרכז קהילתי – צפון", "מרכז קהילתי-צפון")
    outcomes = await asyncio.gather(
        network.add_organization(db, world.network, spellings[0]),
        network.add_organization(other_db, world.network, spellings[1]),
    )
    assert outcomes[0] == outcomes[1]
    assert await organizations_keyed(db, world, spellings[1]) == [outcomes[0]]


async def test_the_database_holds_one_person_per_name_in_an_organization(
    db: Database, world: World
) -> None:
    async def insert(name: str, org: int, **columns: Any) -> int:
        async with db.write() as session:
            person = Person(
                network_id=world.network, organization_id=org, name=name, created_at=db.now(),
                **columns,
            )  # fmt: skip
            session.add(person)
            await session.flush()
            return person.id

    # Past every service's check: the index alone refuses another spelling of "אדם 0".
    with pytest.raises(IntegrityError):
        await insert("אדם  0", world.orgs[0])
    # The same name in another organization is another person.
    other = await insert("אדם 0", world.orgs[1])
    # An archived one still counts (typing the name finds them); a merged one does not.
    async with db.write() as session:
        await session.execute(update(Person).where(Person.id == other).values(archived_at=db.now()))
    with pytest.raises(IntegrityError):
        await insert("אדם 0", world.orgs[1])
    async with db.write() as session:
        await session.execute(
            update(Person).where(Person.id == other).values(merged_into_id=world.people[0])
        )
    await insert("אדם 0", world.orgs[1])


async def test_the_database_holds_one_organization_per_name_key(db: Database, world: World) -> None:
    async def insert(name: str) -> int:
        async with db.write() as session:
            org = Organization(network_id=world.network, name=name)
            session.add(org)
            await session.flush()
            return org.id

    with pytest.raises(IntegrityError):
        await insert("ועד  שכונה")  # two spaces: the key of "ועד שכונה"
    async with db.write() as session:
        await session.execute(
            update(Organization)
            .where(Organization.id == world.orgs[2])
            .values(merged_into_id=world.orgs[0])
        )
    await insert("ועד  שכונה")


async def test_a_person_added_by_hand_as_a_phone_joins_as_them_is_refused_as_there(
    db: Database, other_db: Database, world: World
) -> None:
    async def join_unseen(session: Any) -> None:
        session.add(
            Person(
                network_id=world.network, organization_id=world.orgs[1], name="שירה גל",
                created_at=db.now(),
            )
        )  # fmt: skip
        await session.flush()

    (outcome,) = await released_together(
        db,
        join_unseen,
        people.add_person(
            other_db,
            world.network,
            None,
            name="שירה גל",
            organization_id=world.orgs[1],
            email=None,
            phone=None,
            group_ids=[],
        ),
    )
    # The answer of the check when nothing raced (no 500, no second person).
    assert isinstance(outcome, Conflict), outcome
    assert (outcome.key, outcome.params) == (
        "person.exists",
        {"name": "שירה גל", "organization": "עמותה"},
    )
    assert len(await people_named(db, world, "שירה גל")) == 1


async def test_a_person_renamed_or_moved_onto_another_is_refused(
    db: Database, world: World
) -> None:
    # "אדם 0" and "אדם 3" are both of the first organization, "אדם 1" of the second.
    async def save(person: int, name: str, org: int) -> None:
        await people.update_person(
            db, world.network, None, person, name=name, organization_id=org, email=None,
            phone=None, group_ids=[],
        )  # fmt: skip

    with pytest.raises(Conflict) as renamed:
        await save(world.people[3], "אדם  0", world.orgs[0])
    assert renamed.value.key == "person.exists"
    # Another "אדם 0", of the second organization, moved into the first.
    other = await network.add_person(db, world.network, "אדם 0", world.orgs[1])
    with pytest.raises(Conflict) as moved:
        await save(other, "אדם 0", world.orgs[0])
    assert moved.value.key == "person.exists"
    await save(world.people[3], "אדם 3", world.orgs[0])  # saving as they are is no clash


async def test_an_import_of_a_person_a_phone_made_meanwhile_writes_nothing(
    db: Database, other_db: Database, world: World
) -> None:
    table = spreadsheet.read_table("name,organization\nמיכל דור,עמותה\n".encode())
    seen = await import_plan.preview(db, world.network, table)
    assert [r.action for r in seen.rows] == ["new"]

    async def join_unseen(session: Any) -> None:
        session.add(
            Person(
                network_id=world.network, organization_id=world.orgs[1], name="מיכל דור",
                created_at=db.now(),
            )
        )  # fmt: skip
        await session.flush()

    (outcome,) = await released_together(
        db,
        join_unseen,
        importer.apply(other_db, world.network, None, table, expected=seen.fingerprint),
    )
    # Not the plan previewed: nothing written, the backbone sees the preview as it stands.
    assert isinstance(outcome, Conflict), outcome
    assert outcome.key == "import.changed"
    assert len(await people_named(db, world, "מיכל דור")) == 1
    async with db.read() as session:
        imports = await session.scalars(
            select(AuditEntry.id).where(AuditEntry.action == "people.import")
        )
        assert list(imports) == []


async def test_merging_organizations_merges_their_people_of_one_name(
    db: Database, world: World
) -> None:
    twin_org = await network.add_organization(db, world.network, "עיריית העיר", "government")
    # "אדם 0" is of the first organization; another "אדם 0" of the twin, in a group.
    twin = await network.add_person(db, world.network, "אדם 0", twin_org)
    # "אדם 3" is archived there and current in the twin: the current one is kept.
    current = await network.add_person(db, world.network, "אדם 3", twin_org)
    await people.set_archived(db, world.network, None, world.people[3], archived=True)
    async with db.write() as session:
        session.add(GroupMember(group_id=world.group, person_id=twin, added_at=db.now()))

    moved = await organizations.merge(db, world.network, None, twin_org, world.orgs[0])

    assert sorted(moved) == sorted([twin, current])
    async with db.read() as session:
        rows = {
            p.id: (p.organization_id, p.merged_into_id)
            for p in await session.scalars(
                select(Person).where(Person.id.in_([twin, current, *world.people[::3]]))
            )
        }
        groups = set(
            await session.scalars(
                select(GroupMember.group_id).where(GroupMember.person_id == world.people[0])
            )
        )
    assert rows == {
        world.people[0]: (world.orgs[0], None),
        twin: (world.orgs[0], world.people[0]),
        current: (world.orgs[0], None),
        world.people[3]: (world.orgs[0], current),
    }
    assert world.group in groups
    assert await people_named(db, world, "אדם 0") == [world.people[0]]


@pytest.fixture
async def before_0016(tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own at the schema before the rule (the migration's SQL runs on
    PostgreSQL as it does on SQLite, so it is shown on both)."""
    if not POSTGRES:
        url = f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
    else:
        url = await asyncio.to_thread(postgres_db.create_database, POSTGRES, "facilitator_0016")
    try:
        await migrate.upgrade_async(url, "0015")
        yield url
    finally:
        if POSTGRES:
            await asyncio.to_thread(postgres_db.drop_database, POSTGRES, url)


async def test_the_migration_merges_the_organizations_and_people_a_race_left_twice(
    before_0016: str, clock: Clock
) -> None:
    db = Database(before_0016, clock=clock)
    try:
        world = await build_world(db)
        meeting = await new_meeting(db, world)
        later = db.now() + timedelta(minutes=5)
        async with db.write() as session:
            # What past races left: "עמותה" again, with niqqud (one key), holding a second
            # "אדם 1", who came to the meeting later than the first, owns a commitment and
            # sits in both groups (the first in one); and a second "אדם 0" of the first
            # organization, current, where the first was archived.
            twin_org = Organization(network_id=world.network, name="עֲמוּתָה", aliases=["העמותה"])
            session.add(twin_org)
            await session.flush()
            twin_1 = Person(
                network_id=world.network, organization_id=twin_org.id, name="אדם 1",
                email="adam1@example.org", created_at=db.now(),
            )  # fmt: skip
            twin_0 = Person(
                network_id=world.network, organization_id=world.orgs[0], name="אדם  0",
                created_at=db.now(),
            )  # fmt: skip
            session.add_all([twin_1, twin_0])
            await session.flush()
            session.add_all(
                [
                    Attendance(meeting_id=meeting, person_id=world.people[1], joined_at=later),
                    Attendance(meeting_id=meeting, person_id=twin_1.id, joined_at=db.now()),
                    GroupMember(group_id=world.group, person_id=world.people[1], added_at=later),
                    GroupMember(group_id=world.group, person_id=twin_1.id, added_at=later),
                    GroupMember(group_id=world.other_group, person_id=twin_1.id, added_at=later),
                ]
            )
            commitment = Commitment(
                group_id=world.group, origin_meeting_id=meeting, text="לכנס את הצוות",
                owner_person_id=twin_1.id, due_on=TODAY, status=CommitmentStatus.OPEN.value,
                created_at=db.now(),
            )  # fmt: skip
            session.add(commitment)
            await session.execute(
                update(Person).where(Person.id == world.people[0]).values(archived_at=db.now())
            )
            await session.flush()
            twins = twin_org.id, twin_1.id, twin_0.id, commitment.id
    finally:
        await db.dispose()

    await migrate.upgrade_async(before_0016)

    twin_org_id, twin_1_id, twin_0_id, commitment_id = twins
    db = Database(before_0016, clock=clock)
    try:
        async with db.read() as session:
            kept_org = await session.get_one(Organization, world.orgs[1])
            merged_org = await session.get_one(Organization, twin_org_id)
            rows = {
                p.id: (p.organization_id, p.merged_into_id, p.email)
                for p in await session.scalars(
                    select(Person).where(
                        Person.id.in_([world.people[0], world.people[1], twin_0_id, twin_1_id])
                    )
                )
            }
            came = list(
                (
                    await session.execute(
                        select(Attendance.person_id, Attendance.joined_at).where(
                            Attendance.meeting_id == meeting
                        )
                    )
                ).all()
            )
            groups = sorted(
                await session.scalars(
                    select(GroupMember.group_id).where(GroupMember.person_id == world.people[1])
                )
            )
            owner = (await session.get_one(Commitment, commitment_id)).owner_person_id
            audited = sorted(
                (e.action, e.entity_id, e.user_id)
                for e in await session.scalars(
                    select(AuditEntry).where(AuditEntry.action.like("%.merge"))
                )
            )
    finally:
        await db.dispose()
    # The older organization kept, the other's spellings its own, the other archived there.
    assert (merged_org.merged_into_id, merged_org.archived_at is not None) == (kept_org.id, True)
    assert kept_org.aliases == ["העמותה"]
    assert rows == {
        world.people[1]: (kept_org.id, None, "adam1@example.org"),
        twin_1_id: (kept_org.id, world.people[1], "adam1@example.org"),
        # The current one is kept, though the newer.
        twin_0_id: (world.orgs[0], None, None),
        world.people[0]: (world.orgs[0], twin_0_id, None),
    }
    assert came == [(world.people[1], clock.now)]  # one arrival, the earlier
    assert groups == sorted([world.group, world.other_group])
    assert owner == world.people[1]
    assert audited == [
        ("organization.merge", kept_org.id, None),
        ("person.merge", world.people[1], None),
        ("person.merge", twin_0_id, None),
    ]
