"""Reading a meeting: the full snapshot a screen starts from, and the events it missed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import (
    AgendaItem,
    Attendance,
    Blocker,
    Commitment,
    CommitmentReview,
    Group,
    Meeting,
    MeetingEvent,
    OpenerAction,
    OpenerResponse,
    Organization,
    ParticipantToken,
    Person,
    SharedValue,
    Strategy,
)
from facilitator.errors import NotFound
from facilitator.flow import CommitmentStatus
from facilitator.services import access, claims, personal, schedule
from facilitator.services.commands import Event, local_today, meeting_day, network_of_group
from facilitator.services.lifecycle import close_facts
from facilitator.services.opener import named_answers, respondents, tally
from facilitator.services.views import (
    agenda_item_view,
    commitment_views,
    meeting_view,
    people_views,
    person_json,
    review_view,
    value_view,
)
from facilitator.validate import positive_id

JSON = dict[str, Any]


async def values(session: AsyncSession, network_id: int) -> list[JSON]:
    rows = await session.scalars(
        select(SharedValue)
        .where(SharedValue.network_id == network_id)
        .order_by(SharedValue.position)
    )
    return [value_view(v) for v in rows]


async def snapshot(db: Database, meeting_id: int) -> JSON:
    """Everything a console, projector or phone needs to draw the meeting, as of ``last_seq``."""
    async with db.read() as session:
        meeting = await session.get(Meeting, positive_id(meeting_id, "meeting"))
        if meeting is None:
            raise NotFound("meeting.not_found")
        group = await session.get_one(Group, meeting.group_id)
        network = await network_of_group(session, group.id)
        blockers = (
            await session.scalars(
                select(Blocker)
                .where(Blocker.network_id == network.id, Blocker.active.is_(True))
                .order_by(Blocker.position)
            )
        ).all()
        agenda = (
            await session.scalars(
                select(AgendaItem)
                .where(AgendaItem.meeting_id == meeting.id)
                .order_by(AgendaItem.position)
            )
        ).all()
        present = (
            await session.scalars(
                select(Attendance.person_id)
                .where(Attendance.meeting_id == meeting.id)
                .order_by(Attendance.joined_at, Attendance.id)
            )
        ).all()
        people = await people_views(session, present)
        reviews = (
            await session.scalars(
                select(CommitmentReview)
                .where(CommitmentReview.meeting_id == meeting.id)
                .order_by(CommitmentReview.id)
            )
        ).all()
        carried = {
            c.id: c
            for c in await session.scalars(
                select(Commitment).where(Commitment.id.in_([r.commitment_id for r in reviews]))
            )
        }
        reopened = await commitment_views(session, [carried[r.commitment_id] for r in reviews])
        reports = await personal.reports_since_heard(
            session, [r.commitment_id for r in reviews], meeting.id, network.timezone
        )
        made = (
            await session.scalars(
                select(Commitment)
                .where(
                    Commitment.origin_meeting_id == meeting.id,
                    Commitment.status.not_in(flow.NOT_MADE),
                )
                .order_by(Commitment.id)
            )
        ).all()
        actions = (
            await session.scalars(select(OpenerAction).where(OpenerAction.meeting_id == meeting.id))
        ).all()
        strategies = (
            await session.scalars(select(Strategy).where(Strategy.network_id == network.id))
        ).all()
        gates = flow.close_problems(
            await close_facts(session, meeting, meeting_day(meeting, network))
        )
        return {
            # "day": the day it was held where the network meets (planned, until it starts).
            "meeting": {**meeting_view(meeting), "day": meeting_day(meeting, network).isoformat()},
            "group": {"id": group.id, "name": group.name, "kind": group.kind},
            "network": {
                "id": network.id,
                "name": network.name,
                "language": network.default_language,
                "timezone": network.timezone,
            },
            "values": await values(session, network.id),
            "blockers": [
                {"id": b.id, "key": b.key, "he": b.label_he, "en": b.label_en} for b in blockers
            ],
            # All of them, so that old links keep their titles; archived ones are not offered.
            "strategies": [
                {
                    "id": s.id,
                    "title": s.title,
                    "target": s.target,
                    "archived": s.archived_at is not None,
                }
                for s in strategies
            ],
            "agenda": [agenda_item_view(item) for item in agenda],
            "attendance": [people[pid] for pid in present],
            "tally": await tally(session, meeting.id),
            "respondents": await respondents(session, meeting.id),
            "opener_actions": {str(a.blocker_id): a.text for a in actions},
            # The owner's word since the commitment was last heard: the review starts from it.
            # Stuck ones first, for the facilitator to take up.
            "reopened": personal.stuck_first(
                [
                    {
                        **commitment,
                        "review": review_view(review),
                        "report": reports.get(review.commitment_id),
                    }
                    for commitment, review in zip(reopened, reviews, strict=True)
                ]
            ),
            "commitments": await commitment_views(session, list(made)),
            "gates": [{"key": g.key, "params": g.params} for g in gates],
            # Phones waiting to be someone the network knew: the console accepts or refuses.
            "claims": await claims.waiting(session, meeting.id),
            "next": (
                await schedule.next_of(session, meeting, network, local_today(network, db.now()))
                if meeting.stage == flow.Stage.CLOSED.value
                else None
            ),
        }


# What a phone never draws: the room's attendance (the console and the wall count it), the close
# gates, the facilitator's notes on the opener and the opener's tally (the wall shows it). A
# phone's own data (who it is, its answer) comes in its welcome's ``me``.
NOT_FOR_PHONES = ("attendance", "gates", "opener_actions", "claims", "tally", "respondents")


# Events a phone never draws, for the same reasons: who arrived or was marked present (names the
# console and the wall count; a hall of N phones arriving would otherwise send N² of them), who
# asks to be whom, the facilitator's opener notes, and the tally (a hall answering would
# otherwise be sent to every phone twice a second, for nothing). The socket and the events API
# both leave them out for phones.
EVENTS_NOT_FOR_PHONES = frozenset(
    {"joined", "marked_present", "opener_action", "claim_requested", "claim_refused"}
    | {"opener_tally"}
)


def for_phones(snapshot: JSON) -> JSON:
    """The snapshot a phone is sent: the same, without what a phone never draws, and with no
    one named."""
    return {
        key: without_names(value) for key, value in snapshot.items() if key not in NOT_FOR_PHONES
    }


# A phone draws only its own commitments, found by the owner's id: whose the others are, and who
# presents an item, would list the group for anyone holding a join code (and a name to ask for).
_NAMED = frozenset({"owner", "person"})
_UNDRAWN = frozenset({"presenter", "report"})


def without_names(value: Any) -> Any:
    """``value`` with every person in it reduced to their id, as a phone is told it."""
    if isinstance(value, dict):
        return {
            key: {"id": item["id"]}
            if key in _NAMED and isinstance(item, dict) and "id" in item
            else without_names(item)
            for key, item in value.items()
            if key not in _UNDRAWN
        }
    if isinstance(value, list):
        return [without_names(item) for item in value]
    return value


async def gates(db: Database, meeting_id: int) -> tuple[int, list[JSON], dict[str, list[str]]]:
    """What blocks closing the meeting now (the console's checklist), as of which event, and
    who chose to show their name with their opener answer (staff only)."""
    async with db.read() as session:
        meeting = await session.get(Meeting, positive_id(meeting_id, "meeting"))
        if meeting is None:
            raise NotFound("meeting.not_found")
        network = await network_of_group(session, meeting.group_id)
        facts = await close_facts(session, meeting, meeting_day(meeting, network))
        seq = meeting.last_seq
    problems = [{"key": g.key, "params": g.params} for g in flow.close_problems(facts)]
    return seq, problems, await named_answers(db, meeting_id)


async def events_since(
    db: Database, meeting_id: int, after_seq: int, limit: int = 500
) -> list[Event]:
    """The events a reconnecting client missed, oldest first (at most ``limit``)."""
    async with db.read() as session:
        rows = await session.scalars(
            select(MeetingEvent)
            .where(MeetingEvent.meeting_id == meeting_id, MeetingEvent.seq > after_seq)
            .order_by(MeetingEvent.seq)
            .limit(limit)
        )
        return [Event.of(row) for row in rows]


async def tally_now(db: Database, meeting_id: int) -> tuple[int, tuple[dict[str, int], int] | None]:
    """The meeting's last sequence number and, once the opener has answers, its tally."""
    async with db.read() as session:
        seq = await session.scalar(select(Meeting.last_seq).where(Meeting.id == meeting_id))
        counts = await tally(session, meeting_id)
        people = await respondents(session, meeting_id)
    return int(seq or 0), ((counts, people) if people else None)


async def carried_commitments(db: Database, meeting_id: int) -> list[JSON]:
    """What starting this meeting will reopen (for the printable agenda, before the start);
    once started, what it reopened."""
    async with db.read() as session:
        meeting = await session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound("meeting.not_found")
        if meeting.started_at is not None:
            ids = select(CommitmentReview.commitment_id).where(
                CommitmentReview.meeting_id == meeting_id
            )
            rows = await session.scalars(select(Commitment).where(Commitment.id.in_(ids)))
        else:
            origin = select(Meeting.id).where(
                Meeting.group_id == meeting.group_id,
                Meeting.stage == "closed",
                Meeting.id != meeting_id,
            )
            rows = await session.scalars(
                select(Commitment)
                .where(
                    Commitment.group_id == meeting.group_id,
                    Commitment.status == CommitmentStatus.OPEN.value,
                    Commitment.origin_meeting_id.in_(origin),
                )
                .order_by(Commitment.due_on, Commitment.id)
            )
        return await commitment_views(session, list(rows))


# A returning phone's reads, built once and run in one hop (Database.read_sync): a hall of
# phones coming back after the Wi-Fi dropped makes thousands of them at once.
_ME = (
    select(Person.id, Person.name, Organization.id, Organization.name, Organization.sector)
    .outerjoin(Organization, Organization.id == Person.organization_id)
    .where(Person.id == bindparam("p"))
)
_CHOICES = (
    select(OpenerResponse.blocker_id, OpenerResponse.anonymous)
    .where(OpenerResponse.meeting_id == bindparam("m"), OpenerResponse.person_id == bindparam("p"))
    .order_by(OpenerResponse.blocker_id)
)
_PHONE = (
    select(
        ParticipantToken.person_id,
        ParticipantToken.revoked_at,
        Person.network_id,
        select(Group.network_id)
        .join(Meeting, Meeting.group_id == Group.id)
        .where(Meeting.id == bindparam("m"))
        .scalar_subquery()
        .label("meeting_network"),
        select(Attendance.id)
        .where(Attendance.meeting_id == bindparam("m"), Attendance.person_id == Person.id)
        .exists()
        .label("joined"),
    )
    .join(Person, Person.id == ParticipantToken.person_id)
    .where(ParticipantToken.token_hash == bindparam("h"))
)


def _me_on(connection: Connection, meeting_id: int, person_id: int) -> JSON:
    person = person_json(*connection.execute(_ME, {"p": person_id}).one())
    mine = connection.execute(_CHOICES, {"m": meeting_id, "p": person_id}).all()
    # One answer has one choice of showing the name: every row of it carries the same flag.
    return {
        "person": person,
        "opener": [row.blocker_id for row in mine],
        "opener_named": any(not row.anonymous for row in mine),
    }


async def me(db: Database, meeting_id: int, person_id: int) -> JSON:
    """A phone's own view of the meeting: who it is, what it flagged in the opener and whether
    it chose to show its name with that answer."""
    return await db.read_sync(lambda connection: _me_on(connection, meeting_id, person_id))


async def phone_arrival(
    db: Database, meeting_id: int, token: object
) -> tuple[int, int, JSON] | None:
    """A phone's network, person and own view, in one read, if its token is good, names a
    person of this meeting's network, and that person joined the meeting; else ``None``."""
    if not access.usable(token):
        return None
    token_hash = access.digest(token)

    def read(connection: Connection) -> tuple[int, int, JSON] | None:
        row = connection.execute(_PHONE, {"h": token_hash, "m": meeting_id}).first()
        if row is None or row.revoked_at is not None or not row.joined:
            return None
        if row.meeting_network is None or row.network_id != row.meeting_network:
            return None
        return row.network_id, row.person_id, _me_on(connection, meeting_id, row.person_id)

    return await db.read_sync(read)
