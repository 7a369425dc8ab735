"""Signing staff in and out. Sessions live on the server, so logging out really ends them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from facilitator.errors import DomainError
from facilitator.http.common import (
    SESSION_COOKIE,
    app_state,
    current_staff,
    language,
    redirect,
    remember_typed,
    render,
    secure_cookies,
)
from facilitator.http.security import CSRF_FIELD, csrf_ok, csrf_token, origin_allowed
from facilitator.services import access, users
from facilitator.services.network import default_language

MAX_FORM_BYTES = 16 * 1024


async def form_or_none(request: Request) -> dict[str, str] | None:
    """The posted form when it passes the size, origin and CSRF checks; ``None`` otherwise."""
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        return None
    if not origin_allowed(request, app_state(request).settings.public_url):
        return None
    async with request.form(max_files=0, max_fields=200) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(csrf_token(request), fields.get(CSRF_FIELD)):
        return None
    remember_typed(fields)
    return fields


async def login_page(request: Request) -> Response:
    lang = language(request, await default_language(app_state(request).db))
    if await current_staff(request) is not None:
        return redirect("/")
    return render(request, "login.html", lang, error=None, email="")


async def login(request: Request) -> Response:
    state = app_state(request)
    lang = language(request, await default_language(state.db))
    fields = await form_or_none(request)
    if fields is None:
        return render(request, "login.html", lang, 400, error="auth.csrf", email="")
    email = fields.get("email", "")[:254]
    client = request.client.host if request.client else "?"
    # The account's limit is keyed on the address as sign-in reads it, so " a@b", "A@B" and
    # "a@b\t" are one account to the limiter as they are to the password check.
    try:
        address: str | None = users.normalize_email(email)
    except DomainError:
        address = None
    if not await state.login_limiter.allow(f"ip:{client}") or (
        address is not None and not await state.login_limiter.allow(f"email:{address}")
    ):
        return render(request, "login.html", lang, 429, error="auth.too_many", email=email)
    if address is None:  # no account has such an address
        return render(request, "login.html", lang, 401, error="auth.bad_login", email=email)
    user_id = await users.authenticate(state.db, address, fields.get("password", ""))
    if user_id is None:
        return render(request, "login.html", lang, 401, error="auth.bad_login", email=email)
    token = await access.start_session(state.db, user_id)
    response = redirect(_safe_next(fields.get("next")))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        max_age=int(access.SESSION_IDLE.total_seconds()),
    )
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def logout(request: Request) -> Response:
    state = app_state(request)
    fields = await form_or_none(request)
    if fields is None:
        lang = language(request, await default_language(state.db))
        return render(request, "login.html", lang, 400, error="auth.csrf", email="")
    session_id = await access.end_session(state.db, request.cookies.get(SESSION_COOKIE))
    if session_id is not None:
        await state.live.end_session(session_id)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


def login_redirect(request: Request) -> Response:
    return redirect(f"/login?next={request.url.path}")


__all__ = ["DomainError", "form_or_none", "login", "login_page", "login_redirect", "logout"]
