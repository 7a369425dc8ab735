"""Names at the edge: what a joining phone is offered (the group's roster first, then, as it
types, the network's spellings), and, for staff only, which phone holds which name and who of
the roster came."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitator.errors import DomainError, Forbidden, Invalid
from facilitator.http.common import NO_STORE, app_state, json_error, language
from facilitator.http.identity import who_is
from facilitator.http.join_door import address_of, meeting_for_code
from facilitator.http.openapi_parts import op, path_param, query_param
from facilitator.services import identity, phones, roster
from facilitator.services.network import default_language
from facilitator.validate import LIMITS, id_in


async def _error(request: Request, error: DomainError, status: int | None = None) -> Response:
    lang = language(request, await default_language(app_state(request).db))
    return json_error(error, lang, status)


async def _join_meeting(request: Request) -> int | Response:
    """The open meeting of the path's code, or the refusal: rate-limited per address like every
    join path, and a wrong code counts toward the address's join limit."""
    st = app_state(request)
    if not await st.suggest_limiter.allow(address_of(request)):
        return await _error(request, DomainError("join.suggest_too_many"), 429)
    try:
        return await meeting_for_code(request, str(request.path_params["code"]))
    except DomainError as refused:
        return await _error(request, refused)


async def join_roster(request: Request) -> Response:
    """``GET /api/join/{code}/roster?organization=…&q=…``: the roster of the meeting's group as a
    joining phone picks from it — its organizations; a chosen organization's people; the roster
    people whose name holds ``q`` and, from two characters on, a few of the network's others."""
    raw_org = request.query_params.get("organization") or ""
    typed = request.query_params.get("q", "")
    if len(typed) > LIMITS["name"]:
        return await _error(request, Invalid("input.too_long", field="name", limit=LIMITS["name"]))
    if raw_org and not id_in(raw_org):
        return await _error(request, Invalid("input.bad_id", field="organization"))
    found = await _join_meeting(request)
    if isinstance(found, Response):
        return found
    listing = await roster.join_listing(
        app_state(request).db, found, int(raw_org) if raw_org else None, typed
    )
    return JSONResponse(listing, headers=NO_STORE)


async def attendance(request: Request) -> Response:
    """``GET /api/m/{meeting_id}/roster``: for the meeting's staff, the group's roster (each
    present or not), the guests present, and who was marked present without a phone."""
    meeting_id: int = request.path_params["meeting_id"]
    if await who_is(request, meeting_id, "console") is None:
        return await _error(request, Forbidden("auth.required"))
    try:
        panel = await roster.attendance_panel(app_state(request).db, meeting_id)
    except DomainError as error:
        return await _error(request, error)
    return JSONResponse(panel, headers=NO_STORE)


async def suggest(request: Request) -> Response:
    """``GET /api/join/{code}/suggest?q=…&organization=…&name=…``: the network's organizations
    whose spelling holds ``q``, and the names of the people of ``organization`` known to this
    group, narrowed by ``name``. Only with the code of
    an open meeting; wrong codes count toward the address's join limit, like every join path."""
    typed = request.query_params.get("q", "")
    organization = request.query_params.get("organization") or None
    name = request.query_params.get("name") or None
    limit = LIMITS["title"]
    if len(typed) > limit or len(organization or "") > limit:
        return await _error(request, Invalid("input.too_long", field="organization", limit=limit))
    if len(name or "") > LIMITS["name"]:
        return await _error(request, Invalid("input.too_long", field="name", limit=LIMITS["name"]))
    meeting_id = await _join_meeting(request)
    if isinstance(meeting_id, Response):
        return meeting_id
    found = await identity.suggestions(app_state(request).db, meeting_id, typed, organization, name)
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


_CODE = {**path_param("code", "the meeting's join code"), "schema": {"type": "string"}}

OPENAPI_PATHS = {
    "/api/join/{code}/roster": {"get": op(
        "What a joining phone picks from, names only: the organizations of the meeting's group roster (id, name, how many of its people); with organization, that organization's roster people; with q, the roster people whose name holds it and, from two typed characters on, up to 10 of the network's other people (others). Archived and merged people and organizations are never listed",
        "anyone with the code of an open meeting (rate-limited)",
        params=[_CODE, query_param("organization", "an organization id from the first answer", "integer"),
                {**query_param("q", "the name typed so far"), "schema": {"type": "string", "maxLength": 120}}],
    )},
    "/api/m/{meeting_id}/roster": {"get": op(
        "Who of the group's roster came: every roster member with present true or false, the ids of guests present (not on the roster), and the ids of people marked present by staff who hold no phone",
        "the meeting's staff (a facilitator of its group, or the backbone)",
        params=[path_param("meeting_id", "the meeting")],
    )},
}  # fmt: skip
