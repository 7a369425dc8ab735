"""Paper: a meeting's printable agenda and its record (the summary)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from facilitator.http import phone_record
from facilitator.http.common import app_state, language, render
from facilitator.http.pages import meeting_viewer
from facilitator.http.phone_record import posted_token
from facilitator.services import access, overview, personal, state
from facilitator.services.network import default_language


async def _printable(request: Request) -> tuple[str, int, Any] | Response:
    found = await meeting_viewer(request)
    if isinstance(found, Response):
        return found
    lang, meeting_id, staff, _access = found
    return lang, meeting_id, staff


async def agenda_print(request: Request) -> Response:
    found = await _printable(request)
    if isinstance(found, Response):
        return found
    lang, meeting_id, staff = found
    db = app_state(request).db
    return render(
        request, "paper/agenda.html", lang, staff=staff, snap=await state.snapshot(db, meeting_id),
        carried=await state.carried_commitments(db, meeting_id),
    )  # fmt: skip


async def summary_print(request: Request) -> Response:
    """The meeting's record: for staff and view-link holders, and (posted with its token, once
    the meeting is closed) for the phone of anyone who attended."""
    if request.method == "POST":
        reader = await phone_record.record_reader(request)
        if reader is None:
            lang = language(request, await default_language(app_state(request).db))
            return render(request, "not_found.html", lang, 404)
        (lang, meeting_id), staff = reader, None
        # The record a phone keeps leads to the person's own page between meetings.
        person_id = await access.person_for(app_state(request).db, await posted_token(request))
        my_page = (
            f"/me/{await personal.issue_link(app_state(request).db, person_id)}"
            if person_id
            else None
        )
    else:
        my_page = None
        found = await _printable(request)
        if isinstance(found, Response):
            return found
        lang, meeting_id, staff = found
    db = app_state(request).db
    snap = await state.snapshot(db, meeting_id)
    by_org: dict[str, list[str]] = {}
    sectors: dict[str, int] = {}
    for person in snap["attendance"]:
        by_org.setdefault(person["organization"] or "—", []).append(person["name"])
        if person["sector"]:
            sectors[person["sector"]] = sectors.get(person["sector"], 0) + 1
    share = await overview.meeting_access(db, meeting_id)
    page = render(
        request, "paper/summary.html", lang, staff=staff, snap=snap, by_org=by_org, sectors=sectors,
        share_link=f"/m/{meeting_id}/summary?view={share[1]}" if share and share[1] and staff else None,
        my_page=my_page,
    )  # fmt: skip
    if request.method == "POST":
        page.headers["cache-control"] = "no-store"  # opened with a person's token
    return page
