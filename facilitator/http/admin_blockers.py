"""The opener's blocker list, for backbone staff: ``/admin/blockers``, its forms and its JSON
twin."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator.errors import NotFound
from facilitator.flow import Role
from facilitator.http.admin_common import admin_json, form_change, page_notices, path_id
from facilitator.http.common import app_state, render
from facilitator.http.guard import Caller, staff_api, staff_page
from facilitator.http.openapi_parts import op
from facilitator.services import blockers


@staff_page(Role.BACKBONE)
async def blockers_page(request: Request, caller: Caller) -> Response:
    rows = await blockers.blocker_list(app_state(request).db, caller.staff.network_id)
    return render(
        request, "admin/blockers.html", caller.lang, staff=caller.staff,
        active=[b for b in rows if b["active"]], retired=[b for b in rows if not b["active"]],
        **page_notices(request),
    )  # fmt: skip


@form_change(lambda _r: "/admin/blockers")
async def blocker_create(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await blockers.add_blocker(
        app_state(request).db, admin.staff.network_id,
        fields.get("label_he", ""), fields.get("label_en", ""), user_id=admin.staff.user_id,
    )  # fmt: skip


@form_change(lambda _r: "/admin/blockers")
async def blocker_edit(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    db, blocker_id = app_state(request).db, path_id(request, "blocker_id")
    current = {b["id"]: b for b in await blockers.blocker_list(db, admin.staff.network_id)}
    if blocker_id not in current:
        raise NotFound("opener.unknown_blocker")
    await blockers.update_blocker(
        db, admin.staff.network_id, blocker_id, fields.get("label_he", ""),
        fields.get("label_en", ""), active=current[blocker_id]["active"],
        user_id=admin.staff.user_id,
    )  # fmt: skip


@form_change(lambda _r: "/admin/blockers")
async def blocker_retire(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await blockers.set_blocker_active(
        app_state(request).db, admin.staff.network_id, path_id(request, "blocker_id"),
        active=request.url.path.endswith("/restore"), user_id=admin.staff.user_id,
    )  # fmt: skip


@form_change(lambda _r: "/admin/blockers")
async def blocker_move(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await blockers.move_blocker(
        app_state(request).db, admin.staff.network_id, path_id(request, "blocker_id"),
        -1 if request.url.path.endswith("/up") else 1, user_id=admin.staff.user_id,
    )  # fmt: skip


@form_change(lambda _r: "/admin/blockers")
async def blockers_restore_seed(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await blockers.restore_seed_blockers(
        app_state(request).db, admin.staff.network_id, user_id=admin.staff.user_id
    )


@staff_api(Role.BACKBONE)
async def api_blockers(request: Request, caller: Caller) -> Response:
    rows = await blockers.blocker_list(app_state(request).db, caller.staff.network_id)
    return admin_json({"blockers": rows})


ROUTES: list[BaseRoute] = [
    Route("/admin/blockers", blockers_page, methods=["GET"]),
    Route("/admin/blockers", blocker_create, methods=["POST"]),
    Route("/admin/blockers/restore-seed", blockers_restore_seed, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}", blocker_edit, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}/retire", blocker_retire, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}/restore", blocker_retire, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}/up", blocker_move, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}/down", blocker_move, methods=["POST"]),
    Route("/api/admin/blockers", api_blockers),
]

_BACKBONE = "backbone staff of the network"

OPENAPI_PATHS: dict[str, Any] = {
    "/api/admin/blockers": {
        "get": op(
            "The opener's blocker list in order, Hebrew and English labels, retired ones "
            "(`active: false`) included",
            _BACKBONE,
        )
    },
}
