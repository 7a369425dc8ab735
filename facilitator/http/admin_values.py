"""The network's shared values, for backbone staff: ``/admin/values``, its forms (a change is
told to every open meeting's screens) and its JSON twin."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from facilitator.errors import DomainError
from facilitator.flow import Role
from facilitator.http.admin_common import admin_json
from facilitator.http.common import app_state, redirect, refused, render
from facilitator.http.guard import Caller, staff_api, staff_form, staff_page
from facilitator.http.openapi_parts import op
from facilitator.services import network, overview
from facilitator.services.network import ValueWords


@staff_page(Role.BACKBONE)
async def values_page(request: Request, caller: Caller) -> Response:
    """``/admin/values``: the backbone keeps the network's shared values."""
    lists = await overview.network_lists(app_state(request).db, caller.staff.network_id)
    return render(
        request,
        "admin/values.html",
        caller.lang,
        staff=caller.staff,
        values=lists["values"],
        error=request.query_params.get("error"),
        notice="admin.saved" if request.query_params.get("saved") else None,
    )


@staff_form("/admin/values", Role.BACKBONE)
async def values_change(request: Request, caller: Caller, fields: dict[str, str]) -> Response:
    staff = caller.staff
    db = app_state(request).db
    value_id: int | None = request.path_params.get("value_id")
    words = ValueWords(
        title_he=fields.get("title_he", ""),
        behaviours_he=fields.get("behaviours_he", "").splitlines(),
        title_en=fields.get("title_en", ""),
        behaviours_en=fields.get("behaviours_en", "").splitlines(),
    )
    try:
        if value_id is None:
            change = await network.add_value(db, staff.network_id, words, user_id=staff.user_id)
        elif request.url.path.endswith("/remove"):
            change = await network.remove_value(
                db, staff.network_id, value_id, user_id=staff.user_id
            )
        else:
            change = await network.update_value(
                db, staff.network_id, value_id, words, user_id=staff.user_id
            )
    except DomainError as error:
        return refused(request, "/admin/values", error)
    # Every live screen of the network shows the values: each open meeting logged the change.
    await app_state(request).live.tell(change.events)
    return redirect("/admin/values?saved=1")


@staff_api(Role.BACKBONE)
async def api_values(request: Request, caller: Caller) -> Response:
    lists = await overview.network_lists(app_state(request).db, caller.staff.network_id)
    return admin_json({"values": lists["values"]})


async def old_values(request: Request) -> Response:
    """The values' old address: they live under the administration now."""
    return RedirectResponse("/admin/values", status_code=301)


ROUTES: list[BaseRoute] = [
    Route("/admin/values", values_page, methods=["GET"]),
    Route("/admin/values", values_change, methods=["POST"]),
    Route("/admin/values/{value_id:id}", values_change, methods=["POST"]),
    Route("/admin/values/{value_id:id}/remove", values_change, methods=["POST"]),
    Route("/values", old_values, methods=["GET"]),
    Route("/api/admin/values", api_values),
]

_BACKBONE = "backbone staff of the network"

OPENAPI_PATHS: dict[str, Any] = {
    "/api/admin/values": {
        "get": op("The shared values and their behaviours in each language", _BACKBONE)
    },
}
