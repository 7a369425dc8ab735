"""A phone asking to be a person the network knew before, and the facilitator's one tap.

Anyone can type an absent colleague's name and organization; a phone without a token that names
a known person no phone holds (someone the backbone entered, or whose phone let go of them) and
who is not present here therefore only asks. The console shows the request with two digits the
phone also shows; on acceptance the phone's own secret becomes its participant token and the
person is present, in one transaction. Requests for one person that lose are refused with it,
and every open one is refused when the meeting closes. (Someone already present without a
phone, marked by the facilitator or released here, is taken by the next phone that names them:
the facilitator has seen them in the room.)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    JoinRequest,
    MeetingEvent,
    ParticipantToken,
)
from facilitator.errors import NotFound
from facilitator.flow import Action
from facilitator.services import roster
from facilitator.services.actors import Actor
from facilitator.services.commands import Change, Context, Event, Result, run
from facilitator.services.views import PERSON_ROW, people_views, person_json, person_view
from facilitator.validate import positive_id

JSON = dict[str, Any]

_REQUESTS = cast(Table, JoinRequest.__table__)
_OPEN = (JoinRequest.meeting_id == bindparam("m"), JoinRequest.decided_at.is_(None))
_FRESH_HERE = select(func.count()).where(*_OPEN, JoinRequest.asked_at >= bindparam("fresh"))
_NUMBERS_HERE = select(JoinRequest.number).where(*_OPEN)
_WAITING_FOR = (
    select(JoinRequest.id)
    .where(*_OPEN, JoinRequest.person_id == bindparam("p"))
    .order_by(JoinRequest.id)
)
_REFUSE = (
    update(JoinRequest)
    .where(JoinRequest.id == bindparam("r"))
    .values(decided_at=bindparam("at"), accepted=False)
)
_ASK = insert(_REQUESTS).returning(_REQUESTS.c.id)
_NUMBERS = range(10, 100)


def ask(
    connection: Connection, meeting_id: int, person_id: int, token_hash: str, now: datetime
) -> Change:
    """Record a phone's request to be ``person_id`` (in the join's transaction): the event the
    console shows, with the two digits no other open request here shows. Bounded per meeting;
    a request beyond the bound for one person replaces that person's oldest."""
    fresh = now - timedelta(seconds=flow.WAITING_FRESH_SECONDS)
    facts = {"m": meeting_id, "p": person_id, "fresh": fresh, "at": now}
    flow.check_room_to_wait(connection.execute(_FRESH_HERE, facts).scalar_one())
    change: JSON = {}
    waiting = connection.execute(_WAITING_FOR, facts).scalars().all()
    if flow.replaces_oldest(len(waiting)):
        connection.execute(_REFUSE, {**facts, "r": waiting[0]})
        change["replaced"] = {"id": waiting[0]}
    taken = set(connection.execute(_NUMBERS_HERE, facts).scalars())
    free = [n for n in _NUMBERS if n not in taken] or list(_NUMBERS)
    number = free[secrets.randbelow(len(free))]
    claim_id = connection.execute(
        _ASK,
        {
            "meeting_id": meeting_id,
            "person_id": person_id,
            "token_hash": token_hash,
            "number": number,
            "created_at": now,
            "asked_at": now,
        },
    ).scalar_one()
    person = person_json(*connection.execute(PERSON_ROW, facts).one())
    change.update({"claim": {"id": claim_id, "number": number}, "person": person})
    return Change("claim_requested", change)


async def refuse_open(
    session: AsyncSession, meeting_id: int, now: datetime, *which: ColumnElement[bool]
) -> None:
    """Refuse this meeting's open requests (those ``which`` selects): all of them when the
    meeting closes or is called off (each phone is told at its next ask: the code is void)."""
    await session.execute(
        update(JoinRequest)
        .where(JoinRequest.meeting_id == meeting_id, JoinRequest.decided_at.is_(None), *which)
        .values(decided_at=now, accepted=False)
    )


@dataclass(frozen=True)
class Waiting:
    """What a phone holding a request's secret is told."""

    claim_id: int
    meeting_id: int
    number: int
    person: JSON
    #: ``None`` while the facilitator has not decided.
    accepted: bool | None
    #: Another phone holds the person now (their own, or one let in another way).
    taken: bool


#: A waiting phone asks every few seconds; its request is marked as asked at most this often.
_MARK_EVERY = timedelta(seconds=10)


async def still_asking(db: Database, token_hash: str) -> Waiting | None:
    """The request a phone's secret stands for, if it is one; while it waits, noted as asked
    (a request whose phone left stops counting toward the meeting's bound)."""
    async with db.read() as session:
        row = await session.scalar(select(JoinRequest).where(JoinRequest.token_hash == token_hash))
        if row is None:
            return None
        person = await person_view(session, row.person_id)
        held = await session.scalar(_HELD.where(ParticipantToken.person_id == row.person_id))
        found = Waiting(row.id, row.meeting_id, row.number, person, row.accepted, held is not None)
        stale = row.decided_at is None and db.now() - row.asked_at > _MARK_EVERY
    if stale:
        async with db.write() as session:
            await session.execute(
                update(JoinRequest)
                .where(JoinRequest.id == found.claim_id)
                .values(asked_at=db.now())
            )
    return found


_HELD = select(ParticipantToken.id).where(ParticipantToken.revoked_at.is_(None)).limit(1)


async def reissue(db: Database, claim_id: int, token_hash: str) -> bool:
    """A resent join whose first answer was lost: the waiting request takes the new phone
    secret (nobody holds the old one). ``False``: decided meanwhile."""
    async with db.write() as session:
        done = await session.execute(
            update(JoinRequest)
            .where(JoinRequest.id == claim_id, JoinRequest.decided_at.is_(None))
            .values(token_hash=token_hash)
        )
    return bool(cast(Any, done).rowcount)


async def waiting(session: AsyncSession, meeting_id: int) -> list[JSON]:
    """The requests the console shows, oldest first."""
    rows = (
        await session.scalars(
            select(JoinRequest)
            .where(JoinRequest.meeting_id == meeting_id, JoinRequest.decided_at.is_(None))
            .order_by(JoinRequest.id)
        )
    ).all()
    people = await people_views(session, [r.person_id for r in rows])
    return [
        {
            "id": r.id,
            "number": r.number,
            "person": people[r.person_id],
            "at": r.created_at.isoformat(),
        }
        for r in rows
    ]


async def accepted_event(session: AsyncSession, meeting_id: int, person_id: int) -> Event | None:
    """The join a facilitator accepted for this person (their phone asking again gets it back,
    as a join twice gets its first join)."""
    return await roster.first_event_naming(
        session,
        meeting_id,
        person_id,
        MeetingEvent.type == "joined",
        MeetingEvent.actor.not_like("person:%"),  # a phone's own join names itself as actor
    )


async def decide(
    db: Database,
    meeting_id: int,
    actor: Actor,
    claim_id: int,
    accept: bool,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """The facilitator's tap: accept (the phone becomes the person, who is present) or refuse."""
    cid = positive_id(claim_id, "claim")

    async def body(ctx: Context) -> Change:
        request = await ctx.session.get(JoinRequest, cid)
        if request is None or request.meeting_id != ctx.meeting.id:
            raise NotFound("claim.not_found")
        flow.check_claim_open(request.decided_at is not None)
        pid = request.person_id
        # Someone else's phone took the person meanwhile: this request can only lose.
        held = _HELD.where(ParticipantToken.person_id == pid)
        granted = accept and await ctx.session.scalar(held) is None
        request.decided_at, request.accepted = ctx.now, granted
        if not granted:
            return Change("claim_refused", {"claim": {"id": cid}, "person": {"id": pid}})
        ctx.session.add(
            ParticipantToken(token_hash=request.token_hash, person_id=pid, created_at=ctx.now)
        )
        here = await ctx.session.scalar(
            select(Attendance.id).where(
                Attendance.meeting_id == ctx.meeting.id, Attendance.person_id == pid
            )
        )
        if here is None:
            ctx.session.add(Attendance(meeting_id=ctx.meeting.id, person_id=pid, joined_at=ctx.now))
        # The others asking for this person lose with this one.
        await refuse_open(ctx.session, ctx.meeting.id, ctx.now, JoinRequest.person_id == pid)
        await ctx.session.flush()
        payload = {
            "person": await person_view(ctx.session, pid),
            "attendance": await roster.attendance_count(ctx),
            "claim": {"id": cid},
        }
        # Logged as the facilitator's: who let the person in is the audit's answer.
        return Change("joined", payload)

    return await run(db, meeting_id, actor, Action.DECIDE_CLAIM, body, client_msg_id=client_msg_id)
