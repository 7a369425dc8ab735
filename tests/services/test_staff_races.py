"""One-time links and the last-backbone guard under requests that arrive together. SQLite runs
one writer at a time; these bite on PostgreSQL (`make test-postgres`), where each guard must lock
what it checks."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from facilitator.db import Database
from facilitator.db.models import Network, StaffUser
from facilitator.errors import Conflict
from facilitator.services import setup, staff, staff_links
from facilitator.services.staff_links import LinkGone
from tests.support.setup_forms import PASSWORD, form

TRIES = 4


async def _outcomes(*calls: Any) -> list[object]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_an_invitation_link_works_once_when_opened_twice_at_once(db: Database) -> None:
    nid, bb = await setup.create_network(db, form())
    _uid, token = await staff.invite(
        db, nid, bb, name="מנחה", email="f@example.org", role="facilitator"
    )
    results = await _outcomes(
        *(
            staff_links.accept_invite(db, token, name="מנחה", password=PASSWORD)
            for _ in range(TRIES)
        )
    )
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(isinstance(r, int | LinkGone) for r in results), results


async def test_the_set_up_link_makes_one_network_when_posted_twice_at_once(
    db: Database,
) -> None:
    token = await setup.new_setup_link(db)
    assert token is not None
    emails = [f"b{i}@example.org" for i in range(TRIES)]
    results = await _outcomes(
        *(setup.create_network(db, form(admin_email=e), setup_token=token) for e in emails),
        setup.create_network(
            db, form(admin_email="init@example.org")
        ),  # `facilitator init` at once
    )
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Network)) == 1
    assert sum(isinstance(r, tuple) for r in results) == 1, results


async def test_two_backbones_removing_each_other_at_once_leave_one(db: Database) -> None:
    nid, first = await setup.create_network(db, form())
    second, _token = await staff.invite(
        db, nid, first, name="שנייה", email="second@example.org", role="backbone"
    )
    results = await _outcomes(
        staff.set_active(db, nid, first, second, active=False),
        staff.set_active(db, nid, second, first, active=False),
        staff.update_staff(db, nid, first, second, role="facilitator", group_ids=[]),
        staff.update_staff(db, nid, second, first, role="facilitator", group_ids=[]),
    )
    assert any(isinstance(r, Conflict) for r in results), results
    async with db.read() as session:
        standing = await session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(StaffUser.role == "backbone", StaffUser.active.is_(True))
        )
    assert standing == 1
