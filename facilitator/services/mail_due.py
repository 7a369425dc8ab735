"""Which mails are due: the meeting's record at its close (written by the close itself), and
what ``facilitator remind`` writes each time it runs: a reminder ``reminder_days`` before a
commitment is due, a word on the day, an overdue notice, and the backbone's weekly digest.

Each is keyed by the day it is for (the due date, the week), so running this any number of
times, or from two places at once, writes each mail once.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import Attendance, Commitment, Group, Meeting, Network, StaffUser
from facilitator.flow import CommitmentStatus, Role
from facilitator.localtime import local_day
from facilitator.services import mail_outbox
from facilitator.services.mail_outbox import Mail
from facilitator.services.personal import latest_reports

#: Reminders, due and overdue notices and digests go out from this hour of the network's day
#: (no reminder at three in the morning); the record goes at the close, whatever the hour.
SENDING_FROM = time(8, 0)
#: An overdue notice is sent for a commitment at most this long after its due date (the first
#: run after a long pause does not mail every old commitment at once).
OVERDUE_WINDOW = timedelta(days=7)


def record_mails(network_id: int, meeting: Meeting, attendees: list[int], day: date) -> list[Mail]:
    """The record of a closed meeting, one mail to each attendee (those with no address are
    skipped when it is sent)."""
    return [
        Mail(
            network_id,
            "record",
            f"meeting:{meeting.id}/person:{person_id}",
            day,
            person_id=person_id,
            group_id=meeting.group_id,
            meeting_id=meeting.id,
        )
        for person_id in attendees
    ]


async def write_records(
    session: AsyncSession, network_id: int, meeting: Meeting, day: date, now: datetime
) -> int:
    """In the close's own transaction: the record to everyone who attended; returns how many
    attended."""
    attendees = list(
        await session.scalars(
            select(Attendance.person_id).where(Attendance.meeting_id == meeting.id)
        )
    )
    await mail_outbox.put(session, record_mails(network_id, meeting, attendees, day), now)
    return len(attendees)


def open_and_made(network_id: int) -> ColumnElement[bool]:
    """Open commitments in the network's active groups whose meeting closed (one still in its
    meeting is not reminded); the query joins ``Meeting`` and ``Group``."""
    return and_(
        Group.network_id == network_id,
        Group.archived_at.is_(None),
        Commitment.status == CommitmentStatus.OPEN.value,
        Meeting.closed_at.is_not(None),
        Meeting.cancelled_at.is_(None),
    )


def week_start(day: date, language: str) -> date:
    """The first day of ``day``'s week where the network is (Sunday in Israel)."""
    first = Locale.parse("he_IL" if language == "he" else "en_GB").first_week_day
    return day - timedelta(days=(day.weekday() - first) % 7)


async def commitment_mails(session: AsyncSession, network: Network, today: date) -> list[Mail]:
    """Reminders, due-today and overdue notices for the network's open commitments."""
    lead = timedelta(days=network.reminder_days)
    rows = (
        await session.execute(
            select(
                Commitment.id,
                Commitment.group_id,
                Commitment.owner_person_id,
                Commitment.due_on,
                Commitment.created_at,
            )
            .join(Meeting, Meeting.id == Commitment.origin_meeting_id)
            .join(Group, Group.id == Commitment.group_id)
            .where(
                open_and_made(network.id),
                Commitment.due_on >= today - OVERDUE_WINDOW,
                Commitment.due_on <= today + lead,
            )
        )
    ).all()
    reports = await latest_reports(session, [row.id for row in rows], network.timezone)
    mails = []
    for cid, group_id, owner, due, created in rows:
        if reports.get(cid, {}).get("outcome") == "done":
            continue  # the owner said it is done; the next meeting confirms it
        if due == today:
            kind = "due"
        elif due < today:
            kind = "overdue"
        elif local_day(created, network.timezone) <= due - lead:
            kind = "reminder"
        else:
            continue  # made inside the window: the record told them already
        mails.append(
            Mail(
                network.id,
                kind,
                f"commitment:{cid}",
                due,
                person_id=owner,
                group_id=group_id,
                commitment_id=cid,
            )
        )
    return mails


async def digest_mails(session: AsyncSession, network: Network, today: date) -> list[Mail]:
    """This week's digest to each of the network's backbone staff."""
    week = week_start(today, network.default_language)
    users = await session.scalars(
        select(StaffUser.id).where(
            StaffUser.network_id == network.id,
            StaffUser.role == Role.BACKBONE.value,
            StaffUser.active.is_(True),
        )
    )
    return [
        Mail(network.id, "digest", f"user:{user_id}", week, staff_user_id=user_id)
        for user_id in users
    ]


async def due_now(session: AsyncSession, now: datetime) -> list[Mail]:
    """Every mail due by ``now`` in every network (written or not)."""
    mails: list[Mail] = []
    for network in list(await session.scalars(select(Network))):
        here = now.astimezone(ZoneInfo(network.timezone))
        if here.time() < SENDING_FROM:
            continue
        mails += await commitment_mails(session, network, here.date())
        mails += await digest_mails(session, network, here.date())
    return mails


async def write_due(db: Database, now: datetime) -> int:
    """Write every mail due by ``now``; returns how many were new."""
    async with db.write() as session:
        return await mail_outbox.put(session, await due_now(session, now), now)


async def unwritten(db: Database, now: datetime) -> list[Mail]:
    """What ``write_due`` would write now, writing nothing (``remind --dry-run``)."""
    async with db.read() as session:
        return await mail_outbox.unwritten(session, await due_now(session, now))
