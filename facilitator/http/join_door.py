"""The door of every join path (the phone page, the join API, suggestions, the roster): a typed
code is looked up within the address's limits (``join_guard``), and the facilitator lets in a
network that was locked out for guessing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitator import joincodes
from facilitator.errors import Forbidden, NotFound, TooMany
from facilitator.http.common import NO_STORE, app_state, json_error, language
from facilitator.http.identity import who_is
from facilitator.http.join_guard import address_key
from facilitator.http.security import CSRF_HEADER, csrf_ok, csrf_token, origin_allowed
from facilitator.services import joining
from facilitator.services.network import default_language


def address_of(request: Request) -> str:
    """The address a phone's limits are kept for (the proxy's client, when it is trusted)."""
    return address_key(request.client.host if request.client else "?")


async def meeting_for_code(request: Request, code: str) -> int:
    """The open meeting a typed code leads to. A well-formed wrong code counts toward the
    address's guesses; a locked address gets ``join.locked`` for every code, right or wrong,
    and naming an open meeting's code it waits there for the facilitator."""
    st = app_state(request)
    guard, address, typed = st.join_guard, address_of(request), joincodes.normalize(code)
    locked = await guard.locked(address)
    let_in = locked and await guard.admitted(address, typed)
    if locked and not let_in and not await guard.may_look_up(address):
        raise TooMany("join.locked")
    try:
        meeting_id = await joining.find_open_meeting(st.db, code)
    except NotFound:
        if joincodes.looks_valid(typed):  # a malformed code probes nothing
            await guard.wrong(address, typed)
        if locked:
            raise TooMany("join.locked") from None
        raise
    if not locked or let_in:
        return meeting_id
    if await guard.hold(address, meeting_id, typed):
        await st.live.held_changed(meeting_id)  # the console shows one more network waiting
    raise TooMany("join.locked")


async def new_name_allowed(request: Request, meeting_id: int) -> None:
    """A join by name (a new person, or a request to be someone) within the address's and the
    meeting's pace; refused with when to try again."""
    wait = await app_state(request).join_guard.wait_for_name(address_of(request), meeting_id)
    if wait > 0:
        raise TooMany("join.busy", retry_after=max(1, round(wait + 0.5)))


async def let_in(request: Request) -> Response:
    """``POST /api/m/{meeting_id}/let-in``: the meeting's staff let in every network held at its
    door after too many wrong codes (``{"let_in": n}``)."""
    meeting_id: int = request.path_params["meeting_id"]
    st = app_state(request)
    lang = language(request, await default_language(st.db))
    if not origin_allowed(request, st.settings.public_url) or not csrf_ok(
        csrf_token(request), request.headers.get(CSRF_HEADER)
    ):
        return json_error(Forbidden("auth.csrf"), lang)
    if await who_is(request, meeting_id, "console") is None:
        return json_error(Forbidden("auth.required"), lang)
    count = await st.join_guard.let_in(meeting_id)
    await st.live.held_changed(meeting_id)
    return JSONResponse({"let_in": count}, headers=NO_STORE)
