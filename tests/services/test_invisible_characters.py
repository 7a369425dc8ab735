"""A name typed by staff keeps none of the characters that show nothing: a zero-width space, a
joiner, a direction mark, an override or an isolate. Two names that look the same on screen
are then the same name, whether a phone typed it or the admin pages did (#13)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import Organization, Person
from facilitator.errors import Invalid
from facilitator.services import network, organizations, people
from facilitator.validate import clean_name
from tests.support.world import World

HIDDEN = "\u200b\u200d\u200e\u202e\u2066\u2069\ufeff"


def test_clean_name_drops_what_shows_nothing() -> None:
    assert clean_name(f"\u202eRuth{HIDDEN} Levi\u200b", "name") == "Ruth Levi"
    assert clean_name(f"עמותת{HIDDEN} חינוך", "organization", kind="title") == "עמותת חינוך"
    with pytest.raises(Invalid):
        clean_name(HIDDEN, "name")  # nothing visible is no name


async def test_names_typed_on_the_admin_pages_are_stored_visible(
    db: Database, world: World
) -> None:
    nid = world.network
    org = await organizations.add_organization(
        db, nid, None, f"\u202eקרן{HIDDEN} שורשים", "philanthropy", ["קרן\u200d שורשים בע״מ"]
    )
    pid = await people.add_person(
        db, nid, None, name=f"רות\u200b לוי{HIDDEN}", organization_id=org, email=None,
        phone=None, group_ids=[],
    )  # fmt: skip
    other = await network.add_person(db, nid, "\u2066Dan\u2069 Green\u200e", org)
    async with db.read() as session:
        stored_org = await session.get_one(Organization, org)
        assert stored_org.name == "קרן שורשים"
        assert all(not set(HIDDEN) & set(alias) for alias in stored_org.aliases or [])
        assert (await session.get_one(Person, pid)).name == "רות לוי"
        assert (await session.get_one(Person, other)).name == "Dan Green"

    await people.update_person(
        db, nid, None, pid, name="רות\u202e לוי-כהן", organization_id=org, email=None,
        phone=None, group_ids=[],
    )  # fmt: skip
    await organizations.update_organization(
        db, nid, None, org, f"קרן שורשים{HIDDEN} לנגב", "philanthropy", []
    )
    async with db.read() as session:
        assert (await session.get_one(Person, pid)).name == "רות לוי-כהן"
        names = list(await session.scalars(select(Organization.name)))
    assert "קרן שורשים לנגב" in names
    assert not any(set(HIDDEN) & set(name) for name in names)
