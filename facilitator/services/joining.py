"""Joining a meeting: the code that leads to it, and a phone's attendance, once per person."""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from facilitator import flow, joincodes
from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    Meeting,
    MeetingEvent,
    ParticipantToken,
)
from facilitator.errors import Conflict, NotFound
from facilitator.flow import Action, Stage
from facilitator.services import access, claims, identity, roster
from facilitator.services.actors import Actor
from facilitator.services.commands import BatchContext, Change, Event, Result, run_batched
from facilitator.services.views import PERSON_ROW, person_json
from facilitator.validate import clean_name, positive_id

_OPEN = select(Meeting.id).where(
    Meeting.join_code == bindparam("code"), Meeting.stage != Stage.CLOSED.value
)


async def find_open_meeting(db: Database, code: str) -> int:
    """The open meeting a typed join code leads to."""
    normalized = joincodes.normalize(code) if isinstance(code, str) else ""
    if not joincodes.looks_valid(normalized):
        raise NotFound("join.bad_code")
    # In one hop on the quick-reads thread: a hall of phones asks this at once.
    meeting_id = await db.read_sync(
        lambda connection: connection.execute(_OPEN, {"code": normalized}).scalar()
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
    token_hash: str | None = None,
) -> Result:
    """Record attendance once per person. A returning phone names its person; a new one gives a
    name and organization, matched to an existing person of that organization when one fits.
    ``token_hash`` (a new phone's token) is stored with the attendance, in its transaction.

    Joins go through the group-commit writer: a hall arriving shares transactions and fsyncs,
    each join in its own savepoint, and runs on one thread with the synchronous driver."""
    if person_id is None:
        # Invisible characters are dropped from what is stored: a name with a zero-width
        # space in it must not become a second, identical-looking person.
        person_name = clean_name(name, "name")
        org_name = clean_name(organization, "organization", kind="title")
    else:
        positive_id(person_id, "person")
    actor = Actor.participant(person_id)

    def body(batch: BatchContext) -> Change:
        # In the writer's transaction and savepoint: the session flushes there, commits nothing.
        with Session(bind=batch.connection, join_transaction_mode="rollback_only") as session:
            if person_id is not None:
                pid, known = person_id, True
            else:
                pid, known = identity.find_or_create_person_on(
                    session, batch.network_id, person_name, org_name, sector, batch.now
                )
        # Plain statements on the writer's connection: the ORM only finds or makes the person.
        connection, facts = batch.connection, {"m": meeting_id, "p": pid, "at": batch.now}
        existing = connection.execute(_PRESENT, facts).first()
        flow.check_first_join(existing is not None, pid)
        if flow.needs_consent(person_id is None, known):
            # Without a phone to hold it (a script), the request's secret is nobody's.
            secret = token_hash or access.digest(access.new_token())
            return claims.ask(connection, meeting_id, pid, secret, batch.now)
        connection.execute(_ATTEND, facts)
        if token_hash is not None:
            connection.execute(_TOKEN, {**facts, "h": token_hash})
        count = connection.execute(_COUNT, facts).scalar_one()
        person = person_json(*connection.execute(PERSON_ROW, facts).one())
        return Change("joined", {"person": person, "attendance": count}, f"person:{pid}")

    def same_request(row: MeetingEvent) -> bool:
        person = row.payload.get("person", {})
        return person_id is None and (
            identity.person_key(str(person.get("name", ""))) == identity.person_key(person_name)
            and identity.organization_key(str(person.get("organization", "")))
            == identity.organization_key(org_name)
        )

    try:
        return await run_batched(
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
        first = await _first_join(db, meeting_id, int(already.params["person_id"]))
        if token_hash is None:
            return first
        # A new phone naming someone already here whom no phone holds (the facilitator marked
        # them present, or released their name): the person becomes this phone's only if no
        # other phone took them meanwhile, in one statement, so of phones racing one wins.
        person = first.event.payload["person"]
        if not await access.claim_person(db, int(person["id"]), token_hash):
            flow.check_name_free(True, str(person["name"]))
        return Result(first.event, replayed=True, claimed=True)


# Built once: a hall of phones joining runs these a thousand times a minute.
_PRESENT = select(Attendance.id).where(
    Attendance.meeting_id == bindparam("m"), Attendance.person_id == bindparam("p")
)
_ATTEND = insert(Attendance).values(
    meeting_id=bindparam("m"), person_id=bindparam("p"), joined_at=bindparam("at")
)
_TOKEN = insert(ParticipantToken).values(
    token_hash=bindparam("h"), person_id=bindparam("p"), created_at=bindparam("at")
)
_COUNT = select(func.count()).where(Attendance.meeting_id == bindparam("m"))


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
        if row is None and marked is None:
            # Or the facilitator accepted a phone's request to be them.
            marked = await claims.accepted_event(session, meeting_id, person_id)
    if marked is not None:
        return Result(marked, replayed=True)
    if row is None:  # pragma: no cover - attendance is only written with its event
        raise NotFound("join.not_found")
    return Result(Event.of(row), replayed=True)
