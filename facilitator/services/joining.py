"""Joining a meeting: the code that leads to it, and a phone's attendance, once per person."""

from __future__ import annotations

from sqlalchemy import func, select

from facilitator import flow, joincodes, names
from facilitator.db import Database
from facilitator.db.models import Attendance, Meeting, MeetingEvent
from facilitator.errors import Conflict, NotFound
from facilitator.flow import Action, Stage
from facilitator.services import identity, roster
from facilitator.services.actors import Actor
from facilitator.services.commands import Change, Context, Event, Result, run
from facilitator.services.views import person_view
from facilitator.validate import clean_text, positive_id


async def find_open_meeting(db: Database, code: str) -> int:
    """The open meeting a typed join code leads to."""
    normalized = joincodes.normalize(code) if isinstance(code, str) else ""
    if not joincodes.looks_valid(normalized):
        raise NotFound("join.bad_code")
    async with db.read() as session:
        meeting_id = await session.scalar(
            select(Meeting.id).where(
                Meeting.join_code == normalized, Meeting.stage != Stage.CLOSED.value
            )
        )
    if meeting_id is None:
        raise NotFound("join.bad_code")
    return meeting_id


async def join(
    db: Database,
    meeting_id: int,
    *,
    person_id: int | None = None,
    name: str | None = None,
    organization: str | None = None,
    sector: str | None = None,
    client_msg_id: str | None = None,
) -> Result:
    """Record attendance once per person. A returning phone names its person; a new one gives a
    name and organization, matched to an existing person of that organization when one fits."""
    if person_id is None:
        # Invisible characters are dropped from what is stored: a name with a zero-width
        # space in it must not become a second, identical-looking person.
        clean_name = clean_text(_visible(name), "name", kind="name")
        org_name = clean_text(_visible(organization), "organization", kind="title")
    else:
        positive_id(person_id, "person")
    actor = Actor.participant(person_id)

    async def body(ctx: Context) -> Change:
        if person_id is not None:
            pid = person_id
        else:
            pid = await identity.find_or_create_person(ctx, clean_name, org_name, sector)
        existing = await ctx.session.scalar(
            select(Attendance).where(
                Attendance.meeting_id == ctx.meeting.id, Attendance.person_id == pid
            )
        )
        flow.check_first_join(existing is not None, pid)
        ctx.session.add(Attendance(meeting_id=ctx.meeting.id, person_id=pid, joined_at=ctx.now))
        await ctx.session.flush()
        count = await ctx.session.scalar(
            select(func.count()).where(Attendance.meeting_id == ctx.meeting.id)
        )
        person = await person_view(ctx.session, pid)
        return Change("joined", {"person": person, "attendance": count}, f"person:{pid}")

    def same_request(row: MeetingEvent) -> bool:
        person = row.payload.get("person", {})
        return person_id is None and (
            identity.person_key(str(person.get("name", ""))) == identity.person_key(clean_name)
            and identity.organization_key(str(person.get("organization", "")))
            == identity.organization_key(org_name)
        )

    try:
        return await run(
            db,
            meeting_id,
            actor,
            Action.JOIN,
            body,
            client_msg_id=client_msg_id,
            same_request=same_request,
        )
    except Conflict as already:
        # Joining twice is no error for the phone: it gets its first join back, unchanged.
        return await _first_join(db, meeting_id, int(already.params["person_id"]))


def _visible(text: object) -> object:
    return names.strip_invisible(text) if isinstance(text, str) else text


async def _first_join(db: Database, meeting_id: int, person_id: int) -> Result:
    async with db.read() as session:
        row = await session.scalar(
            select(MeetingEvent).where(
                MeetingEvent.meeting_id == meeting_id,
                MeetingEvent.type == "joined",
                MeetingEvent.actor == f"person:{person_id}",
            )
        )
        # Marked present by the facilitator (no phone then): a phone that joins as them now
        # gets that answer back, and with it the person's token.
        marked = (
            None if row is not None else await roster.marked_event(session, meeting_id, person_id)
        )
    if marked is not None:
        return Result(marked, replayed=True)
    if row is None:  # pragma: no cover - attendance is only written with its event
        raise NotFound("join.not_found")
    return Result(Event.of(row), replayed=True)
