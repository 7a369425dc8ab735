"""What every administration page and its JSON twin share beyond who may come in
(``http.guard``): path and posted ids, a form that changes something and comes back "saved" or
with its reason, and how an answer and a refusal read. Backbone staff manage the network; a
facilitator reaches only the pages that say so, and there only what belongs to the groups they
look after (``services.scope``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitator.errors import DomainError, Forbidden, Invalid, NotFound
from facilitator.flow import Role
from facilitator.http.common import app_state, redirect, refused, remember_typed, render
from facilitator.http.guard import Caller, Endpoint, staff_form
from facilitator.http.security import CSRF_FIELD, csrf_ok, csrf_token, origin_allowed
from facilitator.validate import id_in

Change = Callable[[Request, Caller, dict[str, str]], Awaitable[str | None]]


def admin_json(payload: dict[str, Any] | list[Any]) -> JSONResponse:
    """A JSON twin's answer."""
    return JSONResponse(payload)


def path_id(request: Request, name: str) -> int:
    """An id from the path (its route's ``id`` convertor has checked it)."""
    value: int = request.path_params[name]
    return value


def posted_id(raw: str | None) -> int:
    """A posted id; anything else is an id nothing has (so the service says "not found")."""
    return id_in((raw or "").strip()) or 0


def saved(url: str) -> Response:
    """Back to ``url`` with the "saved" notice."""
    return redirect(f"{url}{'&' if '?' in url else '?'}saved=1")


def page_notices(request: Request) -> dict[str, Any]:
    """What a list page says above itself: a refusal's key, or that a change was saved."""
    return {
        "error": request.query_params.get("error"),
        "notice": "admin.saved" if request.query_params.get("saved") else None,
    }


def _refusal(request: Request, admin: Caller, back: str, error: DomainError) -> Response:
    """A refused change: not allowed is a 403 page, out of reach a 404 page (a facilitator does
    not learn that another group exists), anything else back to the form with the reason."""
    if isinstance(error, Forbidden):
        return render(request, "admin/forbidden.html", admin.lang, 403, staff=admin.staff)
    if isinstance(error, NotFound) and error.key == "group.not_found":
        return render(request, "not_found.html", admin.lang, 404, staff=admin.staff)
    return refused(request, back, error)


def form_change(
    back: Callable[[Request], str], only: Role | None = Role.BACKBONE
) -> Callable[[Change], Endpoint]:
    """A form handler: checks who posts and the form (``only``: the role let in; ``None``: any
    staff), runs ``change``, then returns to ``back`` (or where ``change`` says) with a "saved"
    notice or the reason for a refusal."""

    def wrap(change: Change) -> Endpoint:
        @staff_form(back, only)
        async def endpoint(request: Request, admin: Caller, fields: dict[str, str]) -> Response:
            where = back(request)
            try:
                goes = await change(request, admin, fields)
            except DomainError as error:
                return _refusal(request, admin, where, error)
            return saved(goes or where)

        return endpoint

    return wrap


async def posted_items(
    request: Request, back: str, *, limit: int, files: int = 0
) -> list[tuple[str, str | UploadFile]] | Response:
    """A posted form with every value kept (a person's groups come as many fields, the import
    as a file): size, origin and CSRF checked, as ``staff_form`` does."""
    if int(request.headers.get("content-length") or 0) > limit:
        return refused(request, back, Invalid("import.too_large"))
    if not origin_allowed(request, app_state(request).settings.public_url):
        return refused(request, back, DomainError("auth.csrf"))
    try:
        form = await request.form(max_files=files, max_fields=300, max_part_size=limit)
    except MultiPartException:
        return refused(request, back, Invalid("import.too_large"))
    items = list(form.multi_items())
    sent = next((v for k, v in items if k == CSRF_FIELD and isinstance(v, str)), None)
    if not csrf_ok(csrf_token(request), sent):
        await form.close()
        return refused(request, back, DomainError("auth.csrf"))
    remember_typed({k: v for k, v in items if isinstance(v, str)})
    return items


def posted_text(items: list[tuple[str, str | UploadFile]], name: str) -> str:
    """The first text value posted as ``name`` (empty if none)."""
    return next((v for k, v in items if k == name and isinstance(v, str)), "")
