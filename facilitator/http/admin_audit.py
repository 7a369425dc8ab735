"""The audit log, read-only, for backbone staff: ``/admin/audit`` and its JSON twin (no route
here or anywhere writes to it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator.errors import DomainError
from facilitator.flow import Role
from facilitator.http.admin_common import admin_json
from facilitator.http.common import app_state, json_error, render
from facilitator.http.guard import Caller, staff_api, staff_page
from facilitator.http.openapi_parts import op, query_param
from facilitator.services import audit_view


@staff_page(Role.BACKBONE)
async def audit_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    choices = await audit_view.choices(db, caller.staff.network_id)
    error, filters = None, audit_view.AuditFilters()
    details: dict[str, Any] = {}
    listing: dict[str, Any] = {"entries": [], "older": None}
    try:
        filters = audit_view.AuditFilters.parse(request.query_params)
        listing = await audit_view.listing(db, caller.staff.network_id, filters)
    except DomainError as refusal:
        error, details = refusal.key, refusal.params
    called = await audit_view.names(db, caller.staff.network_id, listing["entries"], caller.lang)
    entries = [
        audit_view.readable(
            e, caller.lang, choices["timezone"], called.get(f"{e['entity']}:{e['entity_id']}")
        )
        for e in listing["entries"]
    ]
    older = "?" + urlencode(filters.query(before=listing["older"])) if listing["older"] else None
    return render(
        request, "admin/audit.html", caller.lang, staff=caller.staff, entries=entries,
        choices=choices, filters=filters, older=older, error=error, error_params=details,
        action_text=lambda action: audit_view.action_text(action, caller.lang),
    )  # fmt: skip


@staff_api(Role.BACKBONE)
async def api_audit(request: Request, caller: Caller) -> Response:
    try:
        filters = audit_view.AuditFilters.parse(request.query_params)
        listing = await audit_view.listing(app_state(request).db, caller.staff.network_id, filters)
    except DomainError as error:
        return json_error(error, caller.lang)
    return admin_json(listing)


ROUTES: list[BaseRoute] = [
    Route("/admin/audit", audit_page, methods=["GET"]),
    Route("/api/admin/audit", api_audit),
]

_BACKBONE = "backbone staff of the network"

OPENAPI_PATHS: dict[str, Any] = {
    "/api/admin/audit": {
        "get": op(
            "The audit log, newest first, 50 at a time; `older` is the `before` of the next page",
            _BACKBONE,
            params=[
                query_param("entity", "group, strategy, blocker, value, organization, person, …"),
                query_param("action", "e.g. group.update"),
                query_param("who", "a staff user's id", "integer"),
                query_param("before", "only entries older than this id", "integer"),
            ],
        )
    },
}
