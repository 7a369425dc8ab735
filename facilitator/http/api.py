"""The JSON API: what the pages do, for scripts and for phones whose socket is down."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitator.errors import DomainError, Forbidden, Invalid, Refused
from facilitator.flow import Role
from facilitator.http.common import app_state, current_staff, json_error, language
from facilitator.http.guard import Caller, staff_api
from facilitator.http.identity import Who, bearer, budget_of, sender_of, who_is
from facilitator.http.join_door import meeting_for_code, new_name_allowed
from facilitator.http.security import CSRF_HEADER, csrf_ok, csrf_token, origin_allowed
from facilitator.live import messages
from facilitator.live.dispatch import execute
from facilitator.live.envelope import ack_for, phone_message_for
from facilitator.live.rooms import message_for
from facilitator.services import access, claims, joining, opener, state
from facilitator.services.network import default_language
from facilitator.validate import id_in

MAX_BODY = messages.MAX_MESSAGE_BYTES


async def _lang(request: Request) -> str:
    return language(request, await default_language(app_state(request).db))


async def join(request: Request) -> Response:
    """A phone joins with the code: by its token, or by name and organization the first time."""
    st = app_state(request)
    # The language is asked only for a refusal: a hall joining is never refused.
    if not origin_allowed(request, st.settings.public_url):
        return json_error(Forbidden("auth.bad_origin"), await _lang(request))
    # A person already claimed by another phone is not handed over by typing their name.
    try:
        data = messages.parse_join(await request.body())
        meeting_id = await meeting_for_code(request, data.code)
        if data.token is None:
            await new_name_allowed(request, meeting_id)
        token = data.token
        person_id = None
        if token is not None:
            found = await access.person_for(st.db, token)
            if found is None:
                return await _still_waiting(request, meeting_id, token)
            person_id = found
        # A new phone's token is stored with its attendance, in the same transaction.
        fresh = access.new_token() if person_id is None else None
        result = await st.live.commit_and_tell(
            joining.join(
                st.db,
                meeting_id,
                person_id=person_id,
                name=data.name,
                organization=data.organization,
                sector=data.sector or None,
                client_msg_id=data.client_msg_id,
                token_hash=access.digest(fresh) if fresh is not None else None,
            )
        )
    except DomainError as error:
        return json_error(error, await _lang(request))
    person = result.event.payload["person"]
    if result.event.type == "claim_requested":
        assert fresh is not None  # only a phone without a token asks
        claim = result.event.payload["claim"]
        if result.replayed and not await claims.reissue(st.db, claim["id"], access.digest(fresh)):
            return json_error(Refused("join.claim_decided"), await _lang(request))
        return _waiting_answer(meeting_id, person, fresh, claim["number"])
    if person_id is not None:
        issued = token
    elif fresh is not None and (not result.replayed or result.claimed):
        issued = fresh
    else:  # a join answered again: the phone never got its token, so it gets another instead
        again = await access.reissue_after_resend(st.db, int(person["id"]), result.event.at)
        if again is None:  # released meanwhile: the name is no longer this phone's
            taken = Refused("join.name_taken", name=str(person.get("name", "")))
            return json_error(taken, await _lang(request))
        issued = again
    return JSONResponse({"meeting_id": meeting_id, "person": person, "token": issued})


def _waiting_answer(meeting_id: int, person: dict[str, Any], token: str, number: int) -> Response:
    """202: the phone asked to be a known person and waits for the facilitator; it keeps the
    token and asks again with it."""
    body = {
        "meeting_id": meeting_id,
        "person": person,
        "token": token,
        "waiting": {"number": number},
    }
    return JSONResponse(body, status_code=202)


async def _still_waiting(request: Request, meeting_id: int, token: str) -> Response:
    """A phone asking again with the secret of its request to be someone: still waiting, or
    refused; any other unknown token is refused as before."""
    found = await claims.still_asking(app_state(request).db, access.digest(token))
    if found is None or found.meeting_id != meeting_id or found.accepted is not None:
        key = "join.claim_refused" if found is not None and found.accepted is False else None
        return json_error(Forbidden(key or "join.token_unknown"), await _lang(request))
    if found.taken:  # another phone holds the person now: this one can only lose
        taken = Refused("join.name_taken", name=found.person["name"])
        return json_error(taken, await _lang(request))
    return _waiting_answer(meeting_id, found.person, token, found.number)


async def _api_sender(request: Request, meeting_id: int, *, writing: bool) -> Who | None:
    """Staff by cookie (with the CSRF header when writing), phones by bearer token, the wall by
    its view token (reading only)."""
    token = bearer(request)
    if token:
        return await who_is(request, meeting_id, "phone", token=token)
    if await current_staff(request) is not None:
        if writing and not csrf_ok(csrf_token(request), request.headers.get(CSRF_HEADER)):
            return None
        return await who_is(request, meeting_id, "console")
    view = request.query_params.get("view")
    if view and not writing:
        return await who_is(request, meeting_id, "projector", view=view)
    return None


async def snapshot(request: Request) -> Response:
    meeting_id: int = request.path_params["meeting_id"]
    lang = await _lang(request)
    who = await _api_sender(request, meeting_id, writing=False)
    if who is None:
        return json_error(Forbidden("auth.required"), lang)
    db = app_state(request).db
    data = await state.snapshot(db, meeting_id)
    if who.role is Role.PARTICIPANT:
        data = state.for_phones(data)  # what a phone draws, as its socket's welcome has it
    if who.role in (Role.FACILITATOR, Role.BACKBONE):
        # Names people chose to show with their opener answer: for the console only.
        data["named_answers"] = await opener.named_answers(db, meeting_id)
    return JSONResponse({**data, "me": await me_of(request, who, meeting_id)})


async def me_of(request: Request, who: Who, meeting_id: int) -> dict[str, Any] | None:
    """A phone's own view: who it is and what it flagged in the opener."""
    if who.role is not Role.PARTICIPANT or who.actor.person_id is None:
        return None
    return await state.me(app_state(request).db, meeting_id, who.actor.person_id)


async def events(request: Request) -> Response:
    meeting_id: int = request.path_params["meeting_id"]
    lang = await _lang(request)
    who = await _api_sender(request, meeting_id, writing=False)
    if who is None:
        return json_error(Forbidden("auth.required"), lang)
    after = id_in(request.query_params.get("after", "0"))
    if after is None:
        return json_error(Invalid("input.bad_id", field="after"), lang)
    found = await state.events_since(app_state(request).db, meeting_id, max(after, 0))
    told = [message_for(e) for e in found]
    if who.role is Role.PARTICIPANT:  # what its socket would have been sent
        told = [phone_message_for(e) for e in found if e.type not in state.EVENTS_NOT_FOR_PHONES]
    body = messages.encode_bytes({"events": told})
    return Response(body, media_type="application/json")


async def command(request: Request) -> Response:
    """One command, exactly as it would go over the socket."""
    meeting_id: int = request.path_params["meeting_id"]
    st = app_state(request)
    lang = await _lang(request)
    if not origin_allowed(request, st.settings.public_url):
        return json_error(Forbidden("auth.bad_origin"), lang)
    who = await _api_sender(request, meeting_id, writing=True)
    if who is None:
        return json_error(Forbidden("auth.required"), lang)
    # The same budget as the sender's sockets: posting instead of sending buys no more.
    if not st.budgets.take(sender_of(who, meeting_id), *budget_of(who)):
        return json_error(DomainError("msg.rate_limited"), lang, status=429)
    try:
        message = messages.parse(await request.body())
        if not isinstance(message, messages.Command):
            raise Invalid("msg.unknown_type", type=message.type)
        result = await st.live.commit_and_tell(execute(st.db, meeting_id, who.actor, message))
    except DomainError as error:
        return json_error(error, lang)
    phone = who.role is Role.PARTICIPANT
    ack = ack_for(message.id, result.event, result.replayed, phone)
    return Response(messages.encode_bytes(ack), media_type="application/json")


@staff_api(signed_out=403)
async def live_stats(request: Request, _caller: Caller) -> Response:
    """How the live rooms of every process are holding (for whoever runs the forum, and the
    benchmark): counts and timings only, for signed-in staff."""
    return JSONResponse(await app_state(request).live.stats_everywhere())
