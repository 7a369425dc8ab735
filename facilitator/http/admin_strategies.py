"""The network's strategies and their targets, for backbone staff: ``/admin/strategies``, its
forms and its JSON twin."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator.flow import Role
from facilitator.http.admin_common import admin_json, form_change, page_notices, path_id, posted_id
from facilitator.http.common import app_state, render
from facilitator.http.guard import Caller, staff_api, staff_page
from facilitator.http.openapi_parts import op
from facilitator.services import groups, strategies
from facilitator.services.strategies import StrategyInput


@staff_page(Role.BACKBONE)
async def strategies_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    listing = await strategies.strategy_list(db, caller.staff.network_id)
    group_list = await groups.group_list(db, caller.scope)
    return render(
        request, "admin/strategies.html", caller.lang, staff=caller.staff, listing=listing,
        groups=group_list["groups"] + group_list["archived"], **page_notices(request),
    )  # fmt: skip


def _strategy_input(fields: dict[str, str]) -> StrategyInput:
    chosen = tuple(
        posted_id(name.removeprefix("group_"))
        for name, value in fields.items()
        if name.startswith("group_") and value
    )
    return StrategyInput(
        title=fields.get("title", ""),
        target=fields.get("target", ""),
        target_amount=fields.get("target_amount", ""),
        target_by=fields.get("target_by", ""),
        groups=chosen,
    )


@form_change(lambda _r: "/admin/strategies")
async def strategy_create(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await strategies.create_strategy(
        app_state(request).db, admin.staff.network_id, admin.staff.user_id, _strategy_input(fields)
    )


@form_change(lambda _r: "/admin/strategies")
async def strategy_edit(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await strategies.update_strategy(
        app_state(request).db, admin.staff.network_id, admin.staff.user_id,
        path_id(request, "strategy_id"), _strategy_input(fields),
    )  # fmt: skip


@form_change(lambda _r: "/admin/strategies")
async def strategy_archive(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await strategies.set_archived(
        app_state(request).db, admin.staff.network_id, admin.staff.user_id,
        path_id(request, "strategy_id"), archived=request.url.path.endswith("/archive"),
    )  # fmt: skip


@staff_api(Role.BACKBONE)
async def api_strategies(request: Request, caller: Caller) -> Response:
    return admin_json(
        await strategies.strategy_list(app_state(request).db, caller.staff.network_id)
    )


ROUTES: list[BaseRoute] = [
    Route("/admin/strategies", strategies_page, methods=["GET"]),
    Route("/admin/strategies", strategy_create, methods=["POST"]),
    Route("/admin/strategies/{strategy_id:id}", strategy_edit, methods=["POST"]),
    Route("/admin/strategies/{strategy_id:id}/archive", strategy_archive, methods=["POST"]),
    Route("/admin/strategies/{strategy_id:id}/unarchive", strategy_archive, methods=["POST"]),
    Route("/api/admin/strategies", api_strategies),
]

_BACKBONE = "backbone staff of the network"

OPENAPI_PATHS: dict[str, Any] = {
    "/api/admin/strategies": {
        "get": op(
            "Strategies with their target (what, how much, by when), the groups that carry "
            "them and how many agenda items and commitments link to them; archived apart",
            _BACKBONE,
        )
    },
}
