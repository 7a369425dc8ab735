"""Names at the edge: what a joining phone is offered as it types, and, for staff only, which
phone holds which name."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitator.errors import DomainError, Forbidden, Invalid, NotFound
from facilitator.http.common import app_state, json_error, language
from facilitator.http.identity import who_is
from facilitator.services import identity, meetings, phones
from facilitator.services.network import default_language
from facilitator.validate import LIMITS

# What a phone types is looked up as it types: answers must not be kept by any cache.
NO_STORE = {"cache-control": "no-store"}


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


async def _error(request: Request, error: DomainError, status: int | None = None) -> Response:
    lang = language(request, await default_language(app_state(request).db))
    return json_error(error, lang, status)


async def suggest(request: Request) -> Response:
    """``GET /api/join/{code}/suggest?q=…&organization=…&name=…``: the network's organizations
    whose spelling holds ``q``, and the names of the people of ``organization`` known to this
    group, narrowed by ``name``. Only with the code of
    an open meeting; wrong codes count toward the address's join limit, like every join path."""
    st = app_state(request)
    ip = _client(request)
    if st.join_limiter.over(ip):
        return await _error(request, DomainError("join.too_many"), 429)
    if not st.suggest_limiter.allow(ip):
        return await _error(request, DomainError("join.suggest_too_many"), 429)
    typed = request.query_params.get("q", "")
    organization = request.query_params.get("organization") or None
    name = request.query_params.get("name") or None
    limit = LIMITS["title"]
    if len(typed) > limit or len(organization or "") > limit:
        return await _error(request, Invalid("input.too_long", field="organization", limit=limit))
    if len(name or "") > LIMITS["name"]:
        return await _error(request, Invalid("input.too_long", field="name", limit=LIMITS["name"]))
    try:
        meeting_id = await meetings.find_open_meeting(st.db, str(request.path_params["code"]))
    except NotFound as wrong:
        st.join_limiter.allow(ip)
        return await _error(request, wrong)
    found = await identity.suggestions(st.db, meeting_id, typed, organization, name)
    return JSONResponse(found, headers=NO_STORE)


async def holders(request: Request) -> Response:
    """``GET /api/m/{meeting_id}/names?q=…``: for the meeting's staff, the people present (or
    those of the network whose name or organization holds ``q``), whether a phone holds each
    name and since when, and whether that phone is connected to this server process now."""
    meeting_id: int = request.path_params["meeting_id"]
    st = app_state(request)
    if await who_is(request, meeting_id, "console") is None:
        return await _error(request, Forbidden("auth.required"))
    try:
        people = await phones.holders(st.db, meeting_id, request.query_params.get("q") or None)
    except DomainError as error:
        return await _error(request, error)
    connected = st.live.phones_connected(meeting_id)
    for person in people:
        person["connected"] = person["id"] in connected
    return JSONResponse({"people": people}, headers=NO_STORE)
