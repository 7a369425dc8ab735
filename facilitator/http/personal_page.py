"""``/me/{token}``: a person's own page, reached by their secret link (no password), phone
first. They report on their open commitments between meetings; the link can be rotated. A phone
that joined a meeting gets a link by posting its token (``/p/me``), never in an address."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from facilitator.errors import DomainError, Invalid
from facilitator.http.auth import form_or_none
from facilitator.http.common import app_state, language, public_base, redirect, render
from facilitator.http.phone_record import own_calendar, posted_token
from facilitator.services import access, personal
from facilitator.services.network import default_language
from facilitator.validate import id_in

NO_STORE = {"cache-control": "no-store"}


async def _lang(request: Request) -> str:
    return language(request, await default_language(app_state(request).db))


async def _gone(request: Request) -> Response:
    """An unknown, revoked or rotated link: the same answer for each."""
    return render(request, "not_found.html", await _lang(request), 404)


async def me(request: Request, *, error: DomainError | None = None) -> Response:
    token = str(request.path_params["token"])
    db = app_state(request).db
    person_id = await personal.person_of_link(db, token)
    if person_id is None:
        return await _gone(request)
    shown = await personal.page(db, person_id)
    response = render(
        request,
        "me.html",
        language(request, shown["language"]),
        error.status if error else 200,
        me=shown,
        token=token,
        calendar=f"{await public_base(request, shown['network']['id'])}/me/{token}/calendar.ics",
        said=id_in(request.query_params.get("said", "")),
        rotated=request.query_params.get("rotated") == "1",
        error=error.key if error else None,
        error_params=error.params if error else None,
    )
    response.headers.update(NO_STORE)
    return response


async def calendar(request: Request) -> Response:
    """The person's open commitments in every group as a calendar to subscribe to (the same
    secret as the page: replacing the link ends this address too)."""
    db = app_state(request).db
    person_id = await personal.person_of_link(db, request.path_params["token"])
    if person_id is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return await own_calendar(db, person_id, "inline")


async def _posted(request: Request) -> tuple[int, dict[str, str]] | Response:
    """The link's person and the posted form, or the answer: 404 for a dead link, the page
    with the reason for a form that failed its checks."""
    fields = await form_or_none(request)
    person_id = await personal.person_of_link(app_state(request).db, request.path_params["token"])
    if person_id is None:
        return await _gone(request)
    if fields is None:
        return await me(request, error=DomainError("auth.csrf"))
    return person_id, fields


async def report(request: Request) -> Response:
    """A word on one of the person's commitments: done, on track, or stuck (with a note)."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    person_id, fields = posted
    commitment = id_in(fields.get("commitment_id", ""))
    try:
        if commitment is None:
            raise Invalid("input.bad_id", field="commitment")
        await personal.report(
            app_state(request).db, person_id, commitment, fields.get("outcome"), fields.get("note")
        )
    except DomainError as refused:
        return await me(request, error=refused)
    token = request.path_params["token"]
    return redirect(f"/me/{token}?said={commitment}#c{commitment}")


async def rotate(request: Request) -> Response:
    """Every link to this page stops working; the page moves to a new one."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    fresh = await personal.rotate_links(app_state(request).db, posted[0])
    return redirect(f"/me/{fresh}?rotated=1")


async def from_phone(request: Request) -> Response:
    """``POST /p/me`` with the phone's token in the body: a link to its person's page."""
    db = app_state(request).db
    person_id = await access.person_for(db, await posted_token(request))
    if person_id is None:
        return await _gone(request)
    return redirect(f"/me/{await personal.issue_link(db, person_id)}")
