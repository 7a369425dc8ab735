"""Which phone speaks for which person: what staff see of it, and a facilitator's release.

A participant token stands for one person on one phone, and while it works no other phone can
take that name. A lost phone, or the wrong person's, would lock the owner out for good; releasing
the name revokes every token of that person at once, and the right phone then takes the name by
joining with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import Attendance, Group, Meeting, Organization, ParticipantToken, Person
from facilitator.errors import Invalid, NotFound
from facilitator.flow import Action
from facilitator.names import match_key
from facilitator.services.actors import Actor
from facilitator.services.commands import Change, Context, Result, run
from facilitator.services.views import person_view
from facilitator.validate import LIMITS, positive_id

JSON = dict[str, Any]
#: People a search for a name offers at most.
MAX_FOUND = 8


async def release_name(
    db: Database,
    meeting_id: int,
    actor: Actor,
    person_id: int,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """Free a person's name from every phone that holds it: their tokens stop working at once,
    and the room is told, so that the phone's sockets close and every console sees it."""
    pid = positive_id(person_id, "person")

    async def body(ctx: Context) -> Change:
        person = await ctx.session.get(Person, pid)
        flow.check_person_here(None if person is None else person.network_id, ctx.network.id)
        assert person is not None
        held = list(
            await ctx.session.scalars(
                select(ParticipantToken.id).where(
                    ParticipantToken.person_id == pid, ParticipantToken.revoked_at.is_(None)
                )
            )
        )
        flow.check_name_held(bool(held), person.name)
        await ctx.session.execute(
            update(ParticipantToken).where(ParticipantToken.id.in_(held)).values(revoked_at=ctx.now)
        )
        return Change("name_released", {"person": await person_view(ctx.session, pid)})

    return await run(db, meeting_id, actor, Action.RELEASE_NAME, body, client_msg_id=client_msg_id)


async def holders(db: Database, meeting_id: int, search: str | None = None) -> list[JSON]:
    """For staff only: the people present (or, with ``search``, the network's people whose name
    or organization holds it) and whether a phone holds each name, since when. Never a token."""
    if search is not None and len(search) > LIMITS["name"]:
        raise Invalid("input.too_long", field="name", limit=LIMITS["name"])
    async with db.read() as session:
        network_id = await session.scalar(
            select(Group.network_id)
            .join(Meeting, Meeting.group_id == Group.id)
            .where(Meeting.id == meeting_id)
        )
        if network_id is None:
            raise NotFound("meeting.not_found")
        present = select(Attendance.person_id).where(Attendance.meeting_id == meeting_id)
        people = (
            select(Person.id, Person.name, Organization.name)
            .outerjoin(Organization, Organization.id == Person.organization_id)
            .where(Person.network_id == network_id)
        )
        if search is None:
            people = people.where(Person.id.in_(present)).order_by(Person.name)
        else:
            key = match_key(search)
            if not key:
                return []
            people = (
                people.where(
                    or_(
                        Person.name_key.contains(key, autoescape=True),
                        Organization.name_key.contains(key, autoescape=True),
                    )
                )
                .order_by(Person.name)
                .limit(MAX_FOUND)
            )
        rows = (await session.execute(people)).all()
        ids = [row[0] for row in rows]
        here = set(await session.scalars(present.where(Attendance.person_id.in_(ids))))
        held: dict[int, tuple[int, datetime]] = {
            pid: (count, since)
            for pid, count, since in await session.execute(
                select(
                    ParticipantToken.person_id,
                    func.count(),
                    func.max(ParticipantToken.created_at),
                )
                .where(ParticipantToken.person_id.in_(ids), ParticipantToken.revoked_at.is_(None))
                .group_by(ParticipantToken.person_id)
            )
        }
    return [
        {
            "id": pid,
            "name": name,
            "organization": org,
            "present": pid in here,
            "phones": held[pid][0] if pid in held else 0,
            "held_since": held[pid][1].isoformat() if pid in held else None,
        }
        for pid, name, org in rows
    ]
