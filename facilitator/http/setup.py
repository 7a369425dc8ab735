"""Pages reached by a one-time link, before their holder can sign in: the first run's set-up
(``/setup/{token}``), a staff invitation (``/invite/{token}``) and a password reset
(``/reset/{token}``). A link that does not work says why on a page of its own, never a traceback."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator.errors import DomainError
from facilitator.http.auth import form_or_none
from facilitator.http.common import (
    SESSION_COOKIE,
    app_state,
    error_text,
    language,
    redirect,
    render,
    secure_cookies,
)
from facilitator.services import access, network_settings, staff_links
from facilitator.services import setup as setup_service
from facilitator.services.network import SEED_BLOCKERS, default_language
from facilitator.services.staff_links import FieldError

OPENAPI_PATHS: dict[str, Any] = {}


async def _lang(request: Request) -> str:
    return language(request, await default_language(app_state(request).db))


def link_refused(request: Request, lang: str, error: DomainError) -> Response:
    """The page for a link that cannot be used: unknown (404), used or expired (410)."""
    return render(
        request, "staff_link.html", lang, error.status, refused=error.key, kind=_kind(request)
    )


def _kind(request: Request) -> str:
    return request.url.path.split("/")[1]


async def signed_in(request: Request, user_id: int, target: str) -> Response:
    """Sign the user in exactly as the login form does, and go to ``target``."""
    token = await access.start_session(app_state(request).db, user_id)
    response = redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        max_age=int(access.SESSION_IDLE.total_seconds()),
    )
    return response


def _errors(error: DomainError, lang: str) -> tuple[dict[str, str], str | None]:
    """A refusal beside its field, or (not tied to one field) above the form."""
    message, _details = error_text(error, lang)
    if isinstance(error, FieldError):
        return {error.field: message}, None
    return {}, message


# --- set-up -----------------------------------------------------------------------------------


def _starter_form(lang: str) -> dict[str, Any]:
    values = [
        {"title": title, "behaviours": "\n".join(behaviours)}
        for title, behaviours in (s.words(lang) for s in setup_service.STARTER_VALUES)
    ]
    return {
        "network_name": "",
        "language": lang,
        "timezone": network_settings.ZONES[0],
        "timezone_other": "",
        "meeting_minutes": str(setup_service.DEFAULT_MINUTES),
        "blockers": {key for key, _he, _en in SEED_BLOCKERS},
        "values": [*values, {"title": "", "behaviours": ""}],
        "name": "",
        "email": "",
    }


def _posted_form(fields: dict[str, str]) -> dict[str, Any]:
    values = []
    for index in range(setup_service.MAX_VALUES):
        title = fields.get(f"value_title_{index}")
        if title is None:
            break
        values.append({"title": title, "behaviours": fields.get(f"value_behaviours_{index}", "")})
    return {
        "network_name": fields.get("network_name", ""),
        "language": fields.get("language", ""),
        "timezone": fields.get("timezone", ""),
        "timezone_other": fields.get("timezone_other", ""),
        "meeting_minutes": fields.get("meeting_minutes", ""),
        "blockers": {key for key, _he, _en in SEED_BLOCKERS if fields.get(f"blocker_{key}")},
        "values": values,
        "name": fields.get("name", ""),
        "email": fields.get("email", ""),
    }


def _setup_page(
    request: Request,
    lang: str,
    form: dict[str, Any],
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
) -> Response:
    return render(
        request,
        "setup.html",
        lang,
        status,
        form=form,
        errors=errors or {},
        problem=problem,
        zones=network_settings.ZONES,
        blockers=SEED_BLOCKERS,
        minutes=(network_settings.MINUTES_LOW, network_settings.MINUTES_HIGH),
    )


async def setup_page(request: Request) -> Response:
    lang = await _lang(request)
    try:
        await setup_service.check_setup_link(app_state(request).db, request.path_params["token"])
    except DomainError as error:
        return link_refused(request, lang, error)
    return _setup_page(request, lang, _starter_form(lang))


async def setup_submit(request: Request) -> Response:
    db = app_state(request).db
    lang = await _lang(request)
    token = request.path_params["token"]
    try:
        await setup_service.check_setup_link(db, token)
    except DomainError as error:
        return link_refused(request, lang, error)
    fields = await form_or_none(request)
    if fields is None:
        return _setup_page(request, lang, _starter_form(lang), 400, problem=_csrf(lang))
    form = _posted_form(fields)
    # The form speaks the page's language, so its values are written in it.
    values_language = fields.get("values_language") or lang
    setup = setup_service.NetworkSetup(
        name=form["network_name"],
        language=form["language"],
        timezone=form["timezone_other"].strip() or form["timezone"],
        meeting_minutes=form["meeting_minutes"],
        blockers=form["blockers"],
        values=[
            setup_service.ValueInput(v["title"], v["behaviours"].splitlines())
            for v in form["values"]
        ],
        values_language=values_language,
        admin_name=form["name"],
        admin_email=form["email"],
        password=fields.get("password", ""),
        password_again=fields.get("password_again", ""),
    )
    try:
        _network_id, user_id = await setup_service.create_network(db, setup, setup_token=token)
    except staff_links.LinkGone as error:
        return link_refused(request, lang, error)
    except DomainError as error:
        errors, problem = _errors(error, lang)
        return _setup_page(request, lang, form, error.status, errors, problem)
    return await signed_in(request, user_id, "/?welcome=1")


def _csrf(lang: str) -> str:
    return error_text(DomainError("auth.csrf"), lang)[0]


# --- invitation and password reset ------------------------------------------------------------


def _password_page(
    request: Request,
    lang: str,
    holder: staff_links.LinkHolder,
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    name: str | None = None,
) -> Response:
    return render(
        request,
        "staff_link.html",
        lang,
        status,
        kind=_kind(request),
        holder=holder,
        name=holder.name if name is None else name,
        errors=errors or {},
        problem=problem,
        refused=None,
    )


async def link_page(request: Request) -> Response:
    lang = await _lang(request)
    kind = _kind(request)
    try:
        holder = await staff_links.link_holder(
            app_state(request).db, request.path_params["token"], kind
        )
    except DomainError as error:
        return link_refused(request, lang, error)
    return _password_page(request, lang, holder)


async def link_submit(request: Request) -> Response:
    state = app_state(request)
    lang = await _lang(request)
    kind = _kind(request)
    token = request.path_params["token"]
    try:
        holder = await staff_links.link_holder(state.db, token, kind)
    except DomainError as error:
        return link_refused(request, lang, error)
    fields = await form_or_none(request)
    if fields is None:
        return _password_page(request, lang, holder, 400, problem=_csrf(lang))
    name = fields.get("name", "")
    try:
        password = staff_links.password_checked(
            fields.get("password", ""), fields.get("password_again", "")
        )
        if kind == "invite":
            user_id = await staff_links.accept_invite(state.db, token, name=name, password=password)
        else:
            user_id, revoked = await staff_links.reset_password(state.db, token, password)
            # Every other browser of this user is signed out, and its sockets close now.
            for session_id in revoked:
                await state.live.end_session(session_id)
    except staff_links.LinkGone as error:
        return link_refused(request, lang, error)
    except DomainError as error:
        errors, problem = _errors(error, lang)
        return _password_page(request, lang, holder, error.status, errors, problem, name)
    return await signed_in(request, user_id, "/")


ROUTES: list[BaseRoute] = [
    Route("/setup/{token:str}", setup_page, methods=["GET"]),
    Route("/setup/{token:str}", setup_submit, methods=["POST"]),
    Route("/invite/{token:str}", link_page, methods=["GET"]),
    Route("/invite/{token:str}", link_submit, methods=["POST"]),
    Route("/reset/{token:str}", link_page, methods=["GET"]),
    Route("/reset/{token:str}", link_submit, methods=["POST"]),
]
