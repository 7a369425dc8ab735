"""What every administration page and its JSON twin share: who may come in, and how a refusal
reads. Backbone staff manage the network; a facilitator reaches only the pages that say so, and
there only what belongs to the groups they look after (``services.scope``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitator.errors import DomainError, Forbidden
from facilitator.flow import Role
from facilitator.http.auth import form_or_none, login_redirect
from facilitator.http.common import (
    app_state,
    current_staff,
    json_error,
    language,
    redirect,
    refused,
    render,
)
from facilitator.services.access import StaffIdentity
from facilitator.services.network import default_language
from facilitator.services.scope import Scope, scope_of


@dataclass(frozen=True)
class Admin:
    staff: StaffIdentity
    lang: str
    scope: Scope

    @property
    def is_backbone(self) -> bool:
        return self.staff.role is Role.BACKBONE


async def _who(request: Request) -> tuple[StaffIdentity | None, str]:
    staff = await current_staff(request)
    lang = language(request, await default_language(app_state(request).db), staff)
    return staff, lang


async def admin_page(request: Request, *, facilitators: bool = False) -> Admin | Response:
    """A signed-in staff member allowed on this page (``facilitators``: the page also serves
    facilitators, scoped to their groups), or the response that turns them away."""
    staff, lang = await _who(request)
    if staff is None:
        return login_redirect(request)
    if staff.role is not Role.BACKBONE and not facilitators:
        return render(request, "admin/forbidden.html", lang, 403, staff=staff)
    scope = await scope_of(app_state(request).db, staff.network_id, staff.user_id, staff.role)
    return Admin(staff, lang, scope)


async def admin_api(request: Request, *, facilitators: bool = False) -> Admin | Response:
    """The same for a JSON twin: 401 signed out, 403 not allowed, as readable JSON errors."""
    staff, lang = await _who(request)
    if staff is None:
        return json_error(DomainError("auth.required"), lang, status=401)
    if staff.role is not Role.BACKBONE and not facilitators:
        return json_error(Forbidden("admin.backbone_only"), lang)
    scope = await scope_of(app_state(request).db, staff.network_id, staff.user_id, staff.role)
    return Admin(staff, lang, scope)


async def admin_form(
    request: Request, back: str, *, facilitators: bool = False
) -> tuple[Admin, dict[str, str]] | Response:
    """A posted administration form: allowed staff, size, origin and CSRF checked. A form that
    fails the checks goes back to ``back`` with the reason."""
    found = await admin_page(request, facilitators=facilitators)
    if isinstance(found, Response):
        return found
    fields = await form_or_none(request)
    if fields is None:
        return redirect(f"{back}?error=auth.csrf")
    return found, fields


def admin_json(payload: dict[str, Any] | list[Any]) -> JSONResponse:
    return JSONResponse(payload)


def back_with_error(back: str, error: DomainError) -> Response:
    """A refused change: back to the page, which shows the reason in the user's language."""
    return refused(back, error)
