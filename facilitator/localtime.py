"""One calendar: moments are stored in UTC, and every day a person reads is the day it was where
the network meets (``networks.timezone``). At 01:20 in Jerusalem it is still the previous day in
UTC, so a stored moment is never turned into a date any other way than through here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo


@cache
def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


def local_day(moment: datetime, timezone: str) -> date:
    """The day it was at ``moment`` in ``timezone``; a naive moment is taken as UTC (as stored)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(_zone(timezone)).date()
