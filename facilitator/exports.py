"""Files people take elsewhere: CSV that Excel opens in Hebrew, iCalendar for calendar apps.
Pure functions of the data they are given."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from facilitator.services.feeds import FeedEvent

BOM = "\ufeff"  # Excel reads UTF-8 only when the file says so


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a BOM, so Excel on any locale shows Hebrew right."""
    return csv_head(header) + csv_lines(rows)


def csv_head(header: Sequence[str]) -> str:
    """A streamed CSV's start: the BOM, then the header line."""
    return BOM + csv_lines([header])


def csv_lines(rows: Iterable[Sequence[object]]) -> str:
    """CSV lines (each formula-safe) to follow ``csv_head``: a stream writes a batch at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else _safe_cell(value) for value in row])
    return out.getvalue()


def _safe_cell(value: object) -> object:
    # A cell starting with = + - @ is run as a formula by spreadsheets: keep it plain text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# A fixed domain: the same commitment keeps one UID whatever address the calendar subscribed by.
UID_DOMAIN = "commitments.facilitator"


def to_ics(name: str, events: Iterable[FeedEvent], now: datetime) -> bytes:
    """One all-day event per open commitment, on its due date."""
    calendar = Calendar()
    calendar.add("prodid", "-//Facilitator//commitments//HE-EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for item in events:
        event = Event()
        event.add("uid", f"commitment-{item.commitment_id}@{UID_DOMAIN}")
        event.add("dtstamp", now)
        event.add("dtstart", item.due)
        event.add("dtend", item.due + timedelta(days=1))
        event.add("summary", item.text)
        who = item.owner + (f" · {item.organization}" if item.organization else "")
        event.add("description", f"{who}\n{item.group}")
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
