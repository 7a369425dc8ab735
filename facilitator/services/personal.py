"""Each person's own page between meetings (``/me/{token}``): their open commitments in every
group with each one's history, a word on each (done, on track, stuck: I need help) at any time,
and their groups' next meetings with the shared values.

The page is reached by a secret link, stored hashed (as phone tokens are), revocable; several
may be live at once (a phone asks for one, staff send one) and rotating ends them all. A link
speaks for its person only: it reads and reports on that person's commitments, nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import (
    AgendaItem,
    Commitment,
    CommitmentReport,
    CommitmentReview,
    Group,
    GroupMember,
    Meeting,
    Network,
    Person,
    PersonLink,
    SharedValue,
)
from facilitator.errors import NotFound
from facilitator.flow import CommitmentStatus, Stage
from facilitator.localtime import local_day
from facilitator.services import access, mail_report
from facilitator.services.views import (
    meeting_view,
    person_view,
    review_view,
    times_slipped,
    value_view,
)
from facilitator.validate import optional_text, positive_id

JSON = dict[str, Any]


async def issue_link(db: Database, person_id: int) -> str:
    """A new link to this person's page (the others stay live)."""
    token = access.new_token()
    async with db.write() as session:
        if await session.get(Person, positive_id(person_id, "person")) is None:
            raise NotFound("person.not_found")
        session.add(
            PersonLink(person_id=person_id, token_hash=access.digest(token), created_at=db.now())
        )
    return token


async def rotate_links(db: Database, person_id: int) -> str:
    """Every link to this person's page stops working; one new link is returned."""
    async with db.write() as session:
        await session.execute(
            update(PersonLink)
            .where(PersonLink.person_id == person_id, PersonLink.revoked_at.is_(None))
            .values(revoked_at=db.now())
        )
    return await issue_link(db, person_id)


async def person_of_link(db: Database, token: object) -> int | None:
    """The person a live link stands for, or ``None`` (unknown, revoked, or malformed)."""
    if not access.usable(token):
        return None
    async with db.read() as session:
        found = await session.scalar(
            select(PersonLink.person_id).where(
                PersonLink.token_hash == access.digest(str(token)),
                PersonLink.revoked_at.is_(None),
            )
        )
        if found is None:
            return None
        person = await session.get(Person, found)
    # A merged person's page is the one they were merged into.
    return person.merged_into_id or person.id if person is not None else None


async def latest_reports(
    session: AsyncSession, commitment_ids: Iterable[int], timezone: str
) -> dict[int, JSON]:
    """The newest report on each of these commitments (those with one)."""
    ids = list(set(commitment_ids))
    found: dict[int, JSON] = {}
    for start in range(0, len(ids), 500):  # a bounded IN list on every database
        rows = await session.scalars(
            select(CommitmentReport)
            .where(CommitmentReport.commitment_id.in_(ids[start : start + 500]))
            .order_by(CommitmentReport.created_at, CommitmentReport.id)
        )
        for row in rows:
            found[row.commitment_id] = report_view(row, timezone)
    return found


async def reports_since_heard(
    session: AsyncSession, commitment_ids: list[int], meeting_id: int, timezone: str
) -> dict[int, JSON]:
    """The owner's newest report on each commitment reopened at this meeting, when it came
    after the commitment was last reviewed at another meeting (an older word was heard)."""
    if not commitment_ids:
        return {}
    latest = await latest_reports(session, commitment_ids, timezone)
    rows = await session.execute(
        select(CommitmentReview.commitment_id, func.max(CommitmentReview.reviewed_at))
        .where(
            CommitmentReview.commitment_id.in_(commitment_ids),
            CommitmentReview.meeting_id != meeting_id,
            CommitmentReview.reviewed_at.is_not(None),
        )
        .group_by(CommitmentReview.commitment_id)
    )
    heard = {int(r[0]): r[1] for r in rows if r[1] is not None}
    return {
        cid: said
        for cid, said in latest.items()
        if cid not in heard or datetime.fromisoformat(said["at"]) > heard[cid]
    }


def stuck_first(reopened: list[JSON]) -> list[JSON]:
    """Reopened commitments with their owners' reports, those whose owner is stuck first (each
    group in the order it came)."""
    return sorted(reopened, key=lambda c: (c.get("report") or {}).get("outcome") != "stuck")


def report_view(row: CommitmentReport, timezone: str) -> JSON:
    """A report as shown: ``day`` is the day it was made where the network meets."""
    return {
        "outcome": row.outcome,
        "note": row.note,
        "at": row.created_at.isoformat(),
        "day": local_day(row.created_at, timezone).isoformat(),
    }


async def report(
    db: Database, person_id: int, commitment_id: object, outcome: object, note: object
) -> JSON:
    """The person's word on their own open commitment, kept with when it was said."""
    cid = positive_id(commitment_id, "commitment")
    text = optional_text(note, "note", kind="reason")
    async with db.write() as session:
        commitment = await session.get(Commitment, cid)
        if commitment is None:
            raise NotFound("commitment.not_found")
        said = flow.check_report(
            commitment.owner_person_id == person_id, commitment.status, outcome
        )
        row = CommitmentReport(
            commitment_id=cid,
            person_id=person_id,
            outcome=said.value,
            note=text,
            created_at=db.now(),
        )
        session.add(row)
        await session.flush()
        timezone = await session.scalar(
            select(Network.timezone)
            .join(Person, Person.network_id == Network.id)
            .where(Person.id == person_id)
        )
        return report_view(row, timezone or "UTC")


async def page(db: Database, person_id: int) -> JSON:
    """Everything the person's page shows."""
    async with db.read() as session:
        person = await session.get_one(Person, person_id)
        network = await session.get_one(Network, person.network_id)
        today = local_day(db.now(), network.timezone)
        mine = (
            await session.scalars(
                select(Commitment)
                .where(
                    Commitment.owner_person_id == person_id,
                    Commitment.status == CommitmentStatus.OPEN.value,
                )
                .order_by(Commitment.due_on, Commitment.id)
            )
        ).all()
        ids = [c.id for c in mine]
        groups = {
            g.id: g
            for g in await session.scalars(
                select(Group).where(
                    or_(
                        Group.id.in_({c.group_id for c in mine}),
                        Group.id.in_(
                            select(GroupMember.group_id).where(GroupMember.person_id == person_id)
                        ),
                    ),
                    Group.network_id == network.id,
                )
            )
        }
        reports = await latest_reports(session, ids, network.timezone)
        slipped = await times_slipped(session, ids)
        history = await _histories(session, ids)
        return {
            "person": await person_view(session, person_id),
            "network": {
                "id": network.id,
                "name": network.name,
                "language": network.default_language,
                "timezone": network.timezone,
            },
            # Theirs when they chose one on their admin page, else the network's.
            "language": person.language or network.default_language,
            "today": today.isoformat(),
            "values": [
                value_view(v)
                for v in await session.scalars(
                    select(SharedValue)
                    .where(SharedValue.network_id == network.id)
                    .order_by(SharedValue.position)
                )
            ],
            "commitments": [
                {
                    "id": c.id,
                    "text": c.text,
                    "due": c.due_on.isoformat(),
                    "late": c.due_on < today,
                    "group": groups[c.group_id].name if c.group_id in groups else "",
                    "times_slipped": slipped.get(c.id, 0),
                    "report": reports.get(c.id),
                    "history": history.get(c.id, []),
                }
                for c in mine
            ],
            "next": await _next_meetings(session, list(groups), today),
        }


async def _histories(session: AsyncSession, ids: list[int]) -> dict[int, list[JSON]]:
    rows = (
        await session.execute(
            select(CommitmentReview, Meeting.title)
            .join(Meeting, Meeting.id == CommitmentReview.meeting_id)
            .where(CommitmentReview.commitment_id.in_(ids), CommitmentReview.outcome.is_not(None))
            .order_by(CommitmentReview.reopened_at, CommitmentReview.id)
        )
    ).all()
    found: dict[int, list[JSON]] = {}
    for review, title in rows:
        found.setdefault(review.commitment_id, []).append({**review_view(review), "meeting": title})
    return found


async def _next_meetings(session: AsyncSession, group_ids: list[int], today: date) -> list[JSON]:
    """The person's groups' meetings still to come (not started), with their agendas."""
    meetings = (
        await session.scalars(
            select(Meeting)
            .where(
                Meeting.group_id.in_(group_ids),
                Meeting.stage == Stage.LOBBY.value,
                Meeting.cancelled_at.is_(None),
                Meeting.scheduled_on >= today,
            )
            .order_by(Meeting.scheduled_on, Meeting.id)
            .limit(5)
        )
    ).all()
    rows = await session.execute(select(Group.id, Group.name).where(Group.id.in_(group_ids)))
    names: dict[int, str] = {int(r[0]): str(r[1]) for r in rows}
    items = (
        await session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id.in_([m.id for m in meetings]))
            .order_by(AgendaItem.position)
        )
    ).all()
    return [
        {
            **meeting_view(m),
            "group": names.get(m.group_id, ""),
            "agenda": [i.title for i in items if i.meeting_id == m.id],
        }
        for m in meetings
    ]


#: How far back the backbone's count of reports between meetings looks.
REPORTS_WINDOW_DAYS = 30


async def follow_through(
    db: Database, network_id: int, group_ids: list[int], *, group_less_mail: bool = False
) -> JSON:
    """For the backbone: the open commitments whose owner's latest word is "stuck" (with the
    note), how many reports owners made lately, and the mail sent and failed lately, in the
    groups the staff member reaches (``group_less_mail``: and the mails about no group, for the
    backbone role)."""
    async with db.read() as session:
        network = await session.get_one(Network, network_id)
        # Every report on the open commitments in reach, oldest first: the last one stands.
        said = await session.scalars(
            select(CommitmentReport)
            .join(Commitment, Commitment.id == CommitmentReport.commitment_id)
            .join(Group, Group.id == Commitment.group_id)
            .where(
                Group.network_id == network_id,
                Commitment.group_id.in_(group_ids),
                Commitment.status == CommitmentStatus.OPEN.value,
            )
            .order_by(CommitmentReport.created_at, CommitmentReport.id)
        )
        latest = {r.commitment_id: report_view(r, network.timezone) for r in said}
        stuck_ids = [cid for cid, last in latest.items() if last["outcome"] == "stuck"]
        rows = (
            await session.execute(
                select(Commitment, Person.name, Group.name)
                .join(Person, Person.id == Commitment.owner_person_id)
                .join(Group, Group.id == Commitment.group_id)
                .where(Commitment.id.in_(stuck_ids))
                .order_by(Commitment.due_on, Commitment.id)
            )
        ).all()
        since = db.now() - timedelta(days=REPORTS_WINDOW_DAYS)
        lately = await session.scalar(
            select(func.count())
            .select_from(CommitmentReport)
            .join(Commitment, Commitment.id == CommitmentReport.commitment_id)
            .where(Commitment.group_id.in_(group_ids), CommitmentReport.created_at >= since)
        )
        mail = await mail_report.lately(
            session, network_id, network.timezone, group_ids, since, group_less=group_less_mail
        )
        return {
            "stuck": [
                {
                    "id": c.id,
                    "text": c.text,
                    "owner": owner,
                    "group": group,
                    "due": c.due_on.isoformat(),
                    "report": latest[c.id],
                }
                for c, owner, group in rows
            ],
            "reports_lately": int(lately or 0),
            "window_days": REPORTS_WINDOW_DAYS,
            "mail": mail,
        }
