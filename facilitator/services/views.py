"""Plain, JSON-ready shapes of stored rows: what events carry and snapshots show."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db.models import (
    AgendaItem,
    Commitment,
    CommitmentReview,
    Meeting,
    Organization,
    Person,
    SharedValue,
)
from facilitator.flow import Outcome

JSON = dict[str, Any]


async def people_views(session: AsyncSession, person_ids: Iterable[int]) -> dict[int, JSON]:
    """People with their organization and sector, by id, in one query."""
    ids = set(person_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Person, Organization)
        .outerjoin(Organization, Organization.id == Person.organization_id)
        .where(Person.id.in_(ids))
    )
    return {
        person.id: person_json(
            person.id,
            person.name,
            org.id if org else None,
            org.name if org else None,
            org.sector if org else None,
        )
        for person, org in rows
    }


# One person with their organization, by ``p``: a plain statement for the join's writer thread.
PERSON_ROW = (
    select(Person.id, Person.name, Organization.id, Organization.name, Organization.sector)
    .outerjoin(Organization, Organization.id == Person.organization_id)
    .where(Person.id == bindparam("p"))
)


def person_json(
    person_id: int, name: str, org_id: int | None, org: str | None, sector: str | None
) -> JSON:
    return {
        "id": person_id,
        "name": name,
        "organization": org,
        "organization_id": org_id,
        "sector": sector,
    }


async def person_view(session: AsyncSession, person_id: int) -> JSON:
    return (await people_views(session, [person_id]))[person_id]


async def times_slipped(session: AsyncSession, commitment_ids: Iterable[int]) -> dict[int, int]:
    """How often each commitment slipped: counted from its reviews, never stored twice."""
    ids = list(commitment_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(CommitmentReview.commitment_id, func.count())
        .where(
            CommitmentReview.commitment_id.in_(ids),
            CommitmentReview.outcome == Outcome.SLIPPED.value,
        )
        .group_by(CommitmentReview.commitment_id)
    )
    counts: dict[int, int] = dict(rows.all())
    return {cid: counts.get(cid, 0) for cid in ids}


async def commitment_views(session: AsyncSession, commitments: list[Commitment]) -> list[JSON]:
    slipped = await times_slipped(session, (c.id for c in commitments))
    owners = await people_views(session, (c.owner_person_id for c in commitments))
    return [
        {
            "id": c.id,
            "group_id": c.group_id,
            "origin_meeting_id": c.origin_meeting_id,
            "text": c.text,
            "owner": owners[c.owner_person_id],
            "due": c.due_on.isoformat(),
            "strategy_id": c.strategy_id,
            "status": c.status,
            "proposed_by": c.proposed_by_person_id,
            "times_slipped": slipped[c.id],
        }
        for c in commitments
    ]


async def commitment_view(session: AsyncSession, commitment: Commitment) -> JSON:
    return (await commitment_views(session, [commitment]))[0]


def review_view(review: CommitmentReview) -> JSON:
    return {
        "commitment_id": review.commitment_id,
        "meeting_id": review.meeting_id,
        "old_due": review.old_due.isoformat(),
        "outcome": review.outcome,
        "new_due": review.new_due.isoformat() if review.new_due else None,
        "reason": review.reason,
        "reviewer_person_id": review.reviewer_person_id,
        "reviewer_user_id": review.reviewer_user_id,
        "reviewed_at": review.reviewed_at.isoformat() if review.reviewed_at else None,
    }


def agenda_item_view(item: AgendaItem) -> JSON:
    return {
        "id": item.id,
        "position": item.position,
        "title": item.title,
        "minutes": item.minutes,
        "strategy_id": item.strategy_id,
        "kind": item.kind,
        "decision": item.decision,
        "presenter": item.presenter,
        "elapsed_seconds": item.elapsed_seconds,
    }


def clock_time(value: time | None) -> str | None:
    """A time of day as ``HH:MM``, the way both languages write it."""
    return value.strftime("%H:%M") if value is not None else None


def meeting_view(meeting: Meeting) -> JSON:
    return {
        "id": meeting.id,
        "group_id": meeting.group_id,
        "title": meeting.title,
        "scheduled_on": meeting.scheduled_on.isoformat(),
        "starts_at": clock_time(meeting.starts_at),
        "place": meeting.place,
        "stage": meeting.stage,
        "join_code": meeting.join_code,
        "last_seq": meeting.last_seq,
        "started_at": meeting.started_at.isoformat() if meeting.started_at else None,
        "closed_at": meeting.closed_at.isoformat() if meeting.closed_at else None,
        "current_item_id": meeting.current_item_id,
        "item_started_at": meeting.item_started_at.isoformat() if meeting.item_started_at else None,
        "cancelled": meeting.cancelled_at is not None,
    }


def value_view(value: SharedValue) -> JSON:
    """A shared value in both languages: ``he`` and ``en`` hold its title and behaviours, or
    ``None`` where it is not written. The snapshot is shared by every screen of a room, so each
    screen picks its own language (``value_in`` here, ``valueText`` in live.js)."""
    view: JSON = {
        "id": value.id,
        "he": {"title": value.title_he, "behaviours": value.behaviours_he or []}
        if value.title_he
        else None,
        "en": {"title": value.title_en, "behaviours": value.behaviours_en or []}
        if value.title_en
        else None,
    }
    return view


def value_in(view: JSON, lang: str) -> JSON:
    """A value's words in ``lang``, else in the language it is written in, with that language."""
    chosen = lang if view.get(lang) else ("en" if lang == "he" else "he")
    return {**view[chosen], "lang": chosen}
