"""What every handler needs: the app's state, who is asking, which language, and rendering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from contextvars import ContextVar
from dataclasses import dataclass
from string import Formatter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from facilitator import i18n
from facilitator.db import Database
from facilitator.errors import DomainError, GateRefused
from facilitator.http.join_limits import Door, Limiter
from facilitator.http.security import (
    CSRF_COOKIE,
    SenderBudgets,
    csrf_token,
    new_csrf_token,
)
from facilitator.http.words import page_words
from facilitator.live.rooms import Live
from facilitator.services.access import StaffIdentity, staff_for
from facilitator.services.network_settings import link_base, public_url_of
from facilitator.settings import Settings

if TYPE_CHECKING:
    from facilitator.mail.remind import Scheduler

SESSION_COOKIE = "fac_session"
LANG_COOKIE = "fac_lang"


@dataclass
class AppState:
    db: Database
    settings: Settings
    templates: Jinja2Templates
    live: Live
    #: Sign-in tries per address and per account (shared by every process with Redis).
    login_limiter: Limiter
    #: Every join path's limits: guessed codes per address, joins by name per address and meeting.
    join_guard: Door
    #: Lookups while a phone types its organization: a hall of phones behind one address types
    #: a lot, a script listing the network's names types more.
    suggest_limiter: Limiter
    #: Each sender's message budget and open sockets, across its sockets and the HTTP API.
    budgets: SenderBudgets
    #: Signs the refused form's cookie (shared by every process: services/server_secrets).
    refusal_key: bytes = b""
    #: Mail rounds in this process (``None``: no SMTP server set, or cron sends instead).
    mail: Scheduler | None = None


def app_state(connection: HTTPConnection) -> AppState:
    state: AppState = connection.state.app
    return state


async def current_staff(connection: HTTPConnection) -> StaffIdentity | None:
    cached = connection.scope.get("facilitator.staff", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    staff = await staff_for(app_state(connection).db, connection.cookies.get(SESSION_COOKIE))
    connection.scope["facilitator.staff"] = staff
    return staff


def language(connection: HTTPConnection, default: str, staff: StaffIdentity | None = None) -> str:
    """``?lang=``, then the language cookie, then the user's own, then the network's."""
    for choice in (
        connection.query_params.get("lang"),
        connection.cookies.get(LANG_COOKIE),
        staff.language if staff else None,
    ):
        if choice in i18n.LANGUAGES:
            return str(choice)
    return default if default in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def error_text(error: DomainError, lang: str) -> tuple[str, list[str]]:
    """A refusal as a sentence, with each unmet gate as its own line."""
    message = i18n.translate(error.key, lang, **error.params)
    details = []
    if isinstance(error, GateRefused):
        details = [i18n.translate(r.key, lang, **r.params) for r in error.reasons]
    return message, details


#: Answers that hold who is where right now: never kept by a browser or a proxy.
NO_STORE = {"cache-control": "no-store"}


def json_error(error: DomainError, lang: str, status: int | None = None) -> JSONResponse:
    message, details = error_text(error, lang)
    body: dict[str, Any] = {"key": error.key, "message": message, "details": details}
    headers = None
    retry = error.params.get("retry_after")
    if isinstance(retry, int):  # too many, too fast: when to try again
        body["retry_after"] = retry
        headers = {"retry-after": str(retry)}
    return JSONResponse({"error": body}, status_code=status or error.status, headers=headers)


REFUSAL_COOKIE = "fac_refusal"
_REFUSAL_BYTES = 3500  # a browser keeps 4 KB a cookie, its name and attributes included
# What the form being handled had typed in it: a refusal takes it back to the page.
_TYPED: ContextVar[dict[str, str] | None] = ContextVar("typed", default=None)
_NOT_KEPT = frozenset({"csrf", "password", "password_again", "data"})


def remember_typed(fields: dict[str, str]) -> None:
    """Called with a posted form (checked): if it is refused, the page shows it again."""
    _TYPED.set({k: v for k, v in fields.items() if k not in _NOT_KEPT and len(v) <= 2000})


_MISSING = "…"
REFUSAL_KEY = "refusal"  # the shared key (services/server_secrets) that signs the cookie


def _signature(request: Request, packed: str) -> str:
    # Only this installation writes words into the cookie (another site on the host, or a
    # forged cookie, can't); every process of it reads what another wrote.
    key = app_state(request).refusal_key
    return hmac.new(key, packed.encode(), hashlib.sha256).hexdigest()[:32]


def refused(request: Request, url: str, error: DomainError) -> Response:
    """Back to a form's page with the reason: the key in the address, and what fills it in (a
    name, a limit) in a signed cookie for that page that lives a minute — a link of someone
    else's carries a key only, and so can never put words of its own on the page."""
    joiner = "&" if "?" in url else "?"
    path, _hash, anchor = url.partition("#")
    target = f"{path}{joiner}error={error.key}" + (f"#{anchor}" if anchor else "")
    response = redirect(target)
    params = {k: v for k, v in error.params.items() if isinstance(v, str | int | float)}
    page = urlsplit(path).path
    # The reason and what was typed; the typed text goes first if the cookie would be too big.
    for typed in (_TYPED.get() or {}, {}):
        packed = base64.urlsafe_b64encode(
            json.dumps(
                {"key": error.key, "params": params, "page": page, "typed": typed},
                ensure_ascii=False,
            ).encode()
        ).decode()
        value = f"{packed}.{_signature(request, packed)}"
        if len(value) <= _REFUSAL_BYTES:
            response.set_cookie(REFUSAL_COOKIE, value, max_age=60, httponly=True, samesite="lax")
            break
    return response


def _refusal(request: Request, key: str) -> dict[str, Any] | None:
    """The refusal ``key`` of this page, as ``refused`` signed it: its details and what was
    typed (``None``: nothing, or not ours, or another page's)."""
    value = request.cookies.get(REFUSAL_COOKIE)
    if not value or len(value) > _REFUSAL_BYTES or "." not in value:
        return None
    packed, _dot, signature = value.rpartition(".")
    if not hmac.compare_digest(signature, _signature(request, packed)):
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(packed.encode()))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(found, dict) or found.get("key") != key:
        return None
    if found.get("page") != request.url.path:
        return None
    return found


def _placeholders(key: str, lang: str) -> set[str]:
    entry = i18n.catalog(lang).get(key, "")
    forms = entry.values() if isinstance(entry, dict) else [entry]
    return {name for form in forms for _, name, _, _ in Formatter().parse(form) if name}


def render(
    request: Request, template: str, lang: str, status_code: int = 200, **context: Any
) -> Response:
    """A page in ``lang`` with the CSRF token set, the direction and the translator in reach."""
    token = csrf_token(request) or new_csrf_token()
    templates = app_state(request).templates
    # Only a known message key is shown: ?error= never carries text of its own. A message that
    # needs its details shows only with them (from ``refused``), never with a bare {name}.
    error = context.get("error")
    params: dict[str, Any] = context.get("error_params") or {}
    typed: dict[str, Any] = {}
    if error not in i18n.catalog(lang):
        context["error"] = None
    else:
        found = _refusal(request, error) or {}
        if isinstance(found.get("typed"), dict):
            typed = found["typed"]
        if _placeholders(error, lang) - set(params):
            if isinstance(found.get("params"), dict):
                params = found["params"]
            # Details lost (a reload, a minute later): the sentence with "…" where they stood.
            params = dict.fromkeys(_placeholders(error, lang), _MISSING) | params
    context["error_params"] = params
    # A refused form shows what was typed into it: ``typed.get(name, stored value)``.
    context.setdefault("typed", typed)
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "dir": i18n.direction(lang),
            **page_words(lang),
            "lang_href": lambda code: language_link(request, code),
            "csrf": token,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    remember(response, request, token, lang)
    if REFUSAL_COOKIE in request.cookies:
        response.delete_cookie(REFUSAL_COOKIE)
    return response


def language_link(request: Request, lang: str) -> str:
    """This page in ``lang``: its query (a filter, a view link) is kept; ``error`` is not, as it
    told of one refused form and is no part of the page."""
    return f"?{request.url.remove_query_params('error').include_query_params(lang=lang).query}"


def secure_cookies(connection: HTTPConnection) -> bool:
    """Cookies only over TLS when the site is served so, even if the proxy spoke plain HTTP."""
    return connection.url.scheme == "https" or app_state(connection).settings.https


def remember(response: Response, request: Request, token: str, lang: str) -> None:
    secure = secure_cookies(request)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure)


async def public_base(connection: HTTPConnection, network_id: int) -> str:
    """Where a link handed to someone points (see ``link_base``): at the last, the address the
    request asked for."""
    state = app_state(connection)
    settings = state.settings
    # The network's own is read only when the server sets none (it would not be used).
    network_url = None if settings.public_url else await public_url_of(state.db, network_id)
    return link_base(settings.public_url, network_url, settings.lan_url, str(connection.base_url))


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
