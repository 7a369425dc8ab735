"""The one prologue of every staff handler: who is signed in, in which language, and whether
their role may come in. Signed out, a page sends them to sign in and an API answers JSON; the
wrong role gets a page (or JSON) that says so. The handler is called with the ``Caller``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from facilitator.errors import DomainError, Forbidden
from facilitator.flow import Role
from facilitator.http.auth import form_or_none, login_redirect
from facilitator.http.common import app_state, current_staff, json_error, language, redirect, render
from facilitator.services.access import StaffIdentity
from facilitator.services.network import default_language
from facilitator.services.scope import Scope, scope_of


@dataclass(frozen=True)
class Caller:
    """A signed-in staff member let in: who, their language, and the groups within reach."""

    staff: StaffIdentity
    lang: str
    scope: Scope

    @property
    def is_backbone(self) -> bool:
        return self.staff.role is Role.BACKBONE


Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Caller], Awaitable[Response]]
FormHandler = Callable[[Request, Caller, dict[str, str]], Awaitable[Response]]


async def _signed_in(request: Request) -> tuple[StaffIdentity | None, str]:
    staff = await current_staff(request)
    return staff, language(request, await default_language(app_state(request).db), staff)


async def _caller(staff: StaffIdentity, lang: str, request: Request) -> Caller:
    scope = await scope_of(app_state(request).db, staff.network_id, staff.user_id, staff.role)
    return Caller(staff, lang, scope)


def _let_in(staff: StaffIdentity, only: Role | None) -> bool:
    return only is None or staff.role is only


def staff_page(only: Role | None = None) -> Callable[[Handler], Endpoint]:
    """A page for signed-in staff (``only``: of that role; ``None``: any staff, each seeing
    what their scope reaches). Signed out: to sign in; the wrong role: a 403 page."""

    def wrap(handler: Handler) -> Endpoint:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            staff, lang = await _signed_in(request)
            if staff is None:
                return login_redirect(request)
            if not _let_in(staff, only):
                return render(request, "admin/forbidden.html", lang, 403, staff=staff)
            return await handler(request, await _caller(staff, lang, request))

        return endpoint

    return wrap


def staff_api(only: Role | None = None, *, signed_out: int = 401) -> Callable[[Handler], Endpoint]:
    """The same for JSON: signed out is ``signed_out`` (401; the older meeting and backbone
    APIs answer 403), the wrong role 403, each as a readable JSON error."""

    def wrap(handler: Handler) -> Endpoint:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            staff, lang = await _signed_in(request)
            if staff is None:
                return json_error(DomainError("auth.required"), lang, status=signed_out)
            if not _let_in(staff, only):
                return json_error(Forbidden("admin.backbone_only"), lang)
            return await handler(request, await _caller(staff, lang, request))

        return endpoint

    return wrap


def staff_form(
    back: str | Callable[[Request], str], only: Role | None = None
) -> Callable[[FormHandler], Endpoint]:
    """A posted form for staff, as ``staff_page`` lets them in, with its size, origin and CSRF
    checked: a form that fails the checks goes back to ``back`` with the reason."""

    def wrap(handler: FormHandler) -> Endpoint:
        @staff_page(only)
        @wraps(handler)
        async def endpoint(request: Request, caller: Caller) -> Response:
            fields = await form_or_none(request)
            if fields is None:
                where = back if isinstance(back, str) else back(request)
                return redirect(f"{where}?error=auth.csrf")
            return await handler(request, caller, fields)

        return endpoint

    return wrap
