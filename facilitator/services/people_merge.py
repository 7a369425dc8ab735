"""Merging a duplicate person into the one they duplicate: every commitment, review, attendance,
opener answer, group place, phone and calendar feed becomes theirs, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    CalendarFeed,
    Commitment,
    CommitmentReview,
    GroupMember,
    OpenerResponse,
    ParticipantToken,
    Person,
)
from facilitator.errors import Conflict, Invalid
from facilitator.services import audit
from facilitator.services.people import AUDITED, JSON, person_in


async def merge(
    db: Database, network_id: int, user_id: int | None, keep_id: int, duplicate_id: int
) -> JSON:
    """``duplicate`` is ``keep``: everything the duplicate did becomes keep's, in one
    transaction. Where both were somewhere at once (one meeting attended, one blocker flagged
    at one meeting, one group) one record stays: the earliest arrival, keep's own answer.
    The duplicate stays, archived, pointing at ``keep`` (old links still resolve). Returns what
    moved, counted."""
    if keep_id == duplicate_id:
        raise Invalid("person.merge_same")
    async with db.write() as session:
        keep = await person_in(session, network_id, keep_id)
        dup = await person_in(session, network_id, duplicate_id)
        if keep.merged_into_id is not None or dup.merged_into_id is not None:
            raise Conflict("person.merged")
        return await merge_on(session, network_id, user_id, keep, dup, db.now())


async def merge_on(
    session: AsyncSession,
    network_id: int,
    user_id: int | None,
    keep: Person,
    dup: Person,
    now: datetime,
) -> JSON:
    """``merge`` in the caller's transaction, of two people of the network not merged away
    (an organization's merge merges its people with the same people of the one it goes
    into)."""
    before = {"kept": audit.columns(keep, AUDITED), "merged": audit.columns(dup, AUDITED)}
    moved: dict[str, int] = {}

    async def repoint(name: str, column: Any) -> None:
        result = await session.execute(
            update(column.class_).where(column == dup.id).values({column.key: keep.id})
        )
        moved[name] = int(getattr(result, "rowcount", 0) or 0)

    await repoint("commitments_owned", Commitment.owner_person_id)
    await repoint("commitments_proposed", Commitment.proposed_by_person_id)
    await repoint("reviews", CommitmentReview.reviewer_person_id)
    await repoint("phones", ParticipantToken.person_id)

    moved["attendance"] = moved["attendance_joined"] = 0
    kept_at = {
        a.meeting_id: a
        for a in await session.scalars(select(Attendance).where(Attendance.person_id == keep.id))
    }
    for row in list(
        await session.scalars(select(Attendance).where(Attendance.person_id == dup.id))
    ):
        mine = kept_at.get(row.meeting_id)
        if mine is None:
            row.person_id = keep.id
            moved["attendance"] += 1
        else:
            mine.joined_at = min(mine.joined_at, row.joined_at)
            mine.marked_by_user_id = mine.marked_by_user_id and row.marked_by_user_id
            await session.delete(row)
            moved["attendance_joined"] += 1

    moved["opener_answers"] = moved["opener_answers_dropped"] = 0
    answered = set(
        (
            await session.execute(
                select(OpenerResponse.meeting_id, OpenerResponse.blocker_id).where(
                    OpenerResponse.person_id == keep.id
                )
            )
        ).all()
    )
    for answer in list(
        await session.scalars(select(OpenerResponse).where(OpenerResponse.person_id == dup.id))
    ):
        if (answer.meeting_id, answer.blocker_id) in answered:
            await session.delete(answer)
            moved["opener_answers_dropped"] += 1
        else:
            answer.person_id = keep.id
            moved["opener_answers"] += 1

    in_groups = set(
        await session.scalars(select(GroupMember.group_id).where(GroupMember.person_id == keep.id))
    )
    moved["groups"] = 0
    for member in list(
        await session.scalars(select(GroupMember).where(GroupMember.person_id == dup.id))
    ):
        if member.group_id in in_groups:
            await session.delete(member)
        else:
            member.person_id = keep.id
            moved["groups"] += 1

    feeds = await session.execute(
        update(CalendarFeed)
        .where(
            CalendarFeed.network_id == network_id,
            CalendarFeed.kind == "person",
            CalendarFeed.target_id == dup.id,
        )
        .values(target_id=keep.id)
    )
    moved["feeds"] = int(getattr(feeds, "rowcount", 0) or 0)

    # What only the duplicate knew fills keep's blanks; nothing of keep's is overwritten.
    keep.email = keep.email or dup.email
    keep.phone = keep.phone or dup.phone
    dup.merged_into_id, dup.archived_at = keep.id, dup.archived_at or now
    await session.execute(
        update(Person).where(Person.merged_into_id == dup.id).values(merged_into_id=keep.id)
    )
    audit.record(
        session, network_id, user_id, "person.merge", "person", keep.id,
        before=before,
        after={
            "kept": audit.columns(keep, AUDITED),
            "merged": audit.columns(dup, AUDITED),
            "moved": moved,
        },
        at=now,
    )  # fmt: skip
    return moved
