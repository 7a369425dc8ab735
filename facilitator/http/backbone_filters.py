"""The backbone's URL: the filters, the day and the page of a report, read into typed values at
the edge (bad values refused by name) and written back into links, so a view can be
bookmarked and its next page keeps its filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from typing import Any
from urllib.parse import urlencode

from facilitator.errors import Invalid
from facilitator.services.backbone_queries import STATUSES, Cursor, Filters, Page
from facilitator.validate import MAX_ID

_DIGITS = re.compile(r"[0-9]{1,19}")  # str.isdigit() also takes "²", which int() refuses
_CURSOR = re.compile(r"([0-3])\.([0-9]{4}-[0-9]{2}-[0-9]{2})\.([0-9]{1,19})")


def parse_filters(query: Mapping[str, str]) -> Filters:
    """The filters from a URL's query; bad values are refused by name."""
    values: dict[str, Any] = {}
    for name in ("group", "organization", "owner", "strategy"):
        raw = (query.get(name) or "").strip()
        if raw:
            if not _DIGITS.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
                raise Invalid("filter.bad_choice", field=name)
            values[name] = int(raw)
    status = (query.get("status") or "").strip()
    if status:
        if status not in STATUSES:
            raise Invalid("filter.bad_status")
        values["status"] = status
    for name in ("due_from", "due_to"):
        raw = (query.get(name) or "").strip()
        if raw:
            try:
                values[name] = date.fromisoformat(raw)
            except ValueError:
                raise Invalid("input.bad_date", field=name) from None
    if values.get("due_from") and values.get("due_to") and values["due_from"] > values["due_to"]:
        raise Invalid("filter.bad_range")
    return Filters(**values)


def filters_query(filters: Filters) -> dict[str, str]:
    """The filters as URL query parameters (empty ones left out)."""
    out = {}
    for f in fields(filters):
        value = getattr(filters, f.name)
        if value is not None:
            out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
    return out


def _cursor(raw: str | None, name: str) -> Cursor | None:
    if not raw:
        return None
    found = _CURSOR.fullmatch(raw.strip())
    if found is None or int(found[3]) > MAX_ID:
        raise Invalid("filter.bad_page", field=name)
    try:
        due = date.fromisoformat(found[2])
    except ValueError:
        raise Invalid("filter.bad_page", field=name) from None
    return Cursor(int(found[1]), due, int(found[3]))


def parse_page(query: Mapping[str, str]) -> Page:
    """Which page: ``after`` or ``before`` a place in the list (neither: the first)."""
    return Page(_cursor(query.get("after"), "after"), _cursor(query.get("before"), "before"))


def page_links(
    path: str, filters: Filters, as_of: str | None, report: Mapping[str, Any]
) -> dict[str, str | None]:
    """The links to the pages before and after this one, keeping the filters and the day."""
    keep = filters_query(filters)
    if as_of:
        keep["as_of"] = as_of

    def link(name: str, cursor: str | None) -> str | None:
        return f"{path}?{urlencode({**keep, name: cursor})}" if cursor else None

    return {
        "previous": link("before", report.get("previous")),
        "next": link("after", report.get("next")),
    }
