"""A meeting's day: never in the past, kept once it started, and the group's next one."""

from __future__ import annotations

from datetime import date, timedelta

from facilitator.errors import Invalid, Refused


def suggest_next_day(day: date, previous: date | None, today: date) -> date:
    """The group's next meeting: the same weekday, as many weeks on as the gap between its last
    two meetings (one to eight; two when there is no earlier one), and never before tomorrow."""
    weeks = 2
    if previous is not None and previous < day:
        weeks = min(8, max(1, round((day - previous).days / 7)))
    step = timedelta(weeks=weeks)
    suggested = day + step
    while suggested <= today:
        suggested += step
    return suggested


def check_next_day(day: date, today: date) -> None:
    """A meeting is scheduled for today or later."""
    if day < today:
        raise Invalid("meeting.date_in_past")


def check_group_open(archived: bool) -> None:
    """An archived group keeps its history and gets no new meeting, by any road."""
    if archived:
        raise Refused("group.archived")


def check_reschedule(started: bool, day: date, new_day: date, today: date) -> None:
    """A started meeting keeps its day; another may move to today or later (a date left as it
    was is no change, even once it is past)."""
    if new_day == day:
        return
    if started:
        raise Refused("meeting.started_keeps_day")
    check_next_day(new_day, today)
