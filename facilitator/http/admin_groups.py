"""Working groups, their facilitators and rosters: ``/admin/groups`` and a group's page, their
forms and JSON twins. They serve facilitators too, scoped to the groups they look after."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator.db.models import GROUP_KINDS
from facilitator.errors import DomainError
from facilitator.http.admin_common import admin_json, form_change, page_notices, path_id, posted_id
from facilitator.http.common import app_state, json_error, render
from facilitator.http.guard import Caller, staff_api, staff_page
from facilitator.http.openapi_parts import op, path_param, query_param
from facilitator.services import group_changes, groups


@staff_page()
async def groups_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    listing = await groups.group_list(db, caller.scope)
    return render(
        request, "admin/groups.html", caller.lang, staff=caller.staff, admin=caller,
        listing=listing, kinds=GROUP_KINDS, **page_notices(request),
    )  # fmt: skip


@staff_page()
async def group_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    group_id = path_id(request, "group_id")
    try:
        group = await groups.group_page(db, caller.scope, group_id)
    except DomainError:
        return render(request, "not_found.html", caller.lang, 404, staff=caller.staff)
    query = (request.query_params.get("q") or "")[:120]
    found_people = await groups.search_people(db, caller.scope, group_id, query) if query else []
    assigned = {f["id"] for f in group["facilitators"]}
    choices = [
        s
        for s in await groups.staff_choices(db, caller.staff.network_id)
        if s["id"] not in assigned
    ]
    return render(
        request, "admin/group.html", caller.lang, staff=caller.staff, admin=caller, group=group,
        kinds=GROUP_KINDS, query=query, found_people=found_people, staff_choices=choices,
        **page_notices(request),
    )  # fmt: skip


def _group_back(request: Request) -> str:
    return f"/admin/groups/{path_id(request, 'group_id')}"


@form_change(lambda _r: "/admin/groups", only=None)
async def group_create(request: Request, admin: Caller, fields: dict[str, str]) -> str:
    group_id = await group_changes.create_group(
        app_state(request).db, admin.scope, admin.staff.user_id,
        fields.get("name", ""), fields.get("kind", ""), fields.get("purpose"),
    )  # fmt: skip
    return f"/admin/groups/{group_id}"


@form_change(_group_back, only=None)
async def group_edit(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    # A facilitator's form has no name or kind: what is not sent is kept.
    await group_changes.update_group(
        app_state(request).db, admin.scope, admin.staff.user_id, path_id(request, "group_id"),
        purpose=fields.get("purpose"), name=fields.get("name"), kind=fields.get("kind"),
    )  # fmt: skip


@form_change(_group_back, only=None)
async def group_archive(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await group_changes.set_archived(
        app_state(request).db, admin.scope, admin.staff.user_id, path_id(request, "group_id"),
        archived=request.url.path.endswith("/archive"),
    )  # fmt: skip


@form_change(_group_back, only=None)
async def group_assign(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await group_changes.assign_facilitator(
        app_state(request).db, admin.scope, admin.staff.user_id, path_id(request, "group_id"),
        posted_id(fields.get("staff_id")),
    )  # fmt: skip


@form_change(_group_back, only=None)
async def group_unassign(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await group_changes.unassign_facilitator(
        app_state(request).db, admin.scope, admin.staff.user_id, path_id(request, "group_id"),
        path_id(request, "staff_id"),
    )  # fmt: skip
    await app_state(request).live.reach_changed(path_id(request, "staff_id"))


@form_change(_group_back, only=None)
async def member_add(request: Request, admin: Caller, fields: dict[str, str]) -> str:
    await group_changes.add_member(
        app_state(request).db, admin.scope, admin.staff.user_id, path_id(request, "group_id"),
        posted_id(fields.get("person_id")),
    )  # fmt: skip
    # Back to the same search: adding three people found by one word takes one search.
    query = (fields.get("q") or "").strip()[:120]
    return f"{_group_back(request)}?{urlencode({'q': query})}" if query else _group_back(request)


@form_change(_group_back, only=None)
async def member_remove(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await group_changes.remove_member(
        app_state(request).db, admin.scope, admin.staff.user_id, path_id(request, "group_id"),
        path_id(request, "person_id"),
    )  # fmt: skip


@staff_api()
async def api_groups(request: Request, caller: Caller) -> Response:
    return admin_json(await groups.group_list(app_state(request).db, caller.scope))


@staff_api()
async def api_group(request: Request, caller: Caller) -> Response:
    try:
        return admin_json(
            await groups.group_page(
                app_state(request).db, caller.scope, path_id(request, "group_id")
            )
        )
    except DomainError as error:
        return json_error(error, caller.lang)


@staff_api()
async def api_group_people(request: Request, caller: Caller) -> Response:
    """The roster form's search as one types: a few matching people not yet on the roster."""
    try:
        people = await groups.search_people(
            app_state(request).db,
            caller.scope,
            path_id(request, "group_id"),
            (request.query_params.get("q") or "")[:120],
        )
    except DomainError as error:
        return json_error(error, caller.lang)
    return admin_json({"people": people})


ROUTES: list[BaseRoute] = [
    Route("/admin/groups", groups_page, methods=["GET"]),
    Route("/admin/groups", group_create, methods=["POST"]),
    Route("/admin/groups/{group_id:id}", group_page, methods=["GET"]),
    Route("/admin/groups/{group_id:id}", group_edit, methods=["POST"]),
    Route("/admin/groups/{group_id:id}/archive", group_archive, methods=["POST"]),
    Route("/admin/groups/{group_id:id}/unarchive", group_archive, methods=["POST"]),
    Route("/admin/groups/{group_id:id}/facilitators", group_assign, methods=["POST"]),
    Route(
        "/admin/groups/{group_id:id}/facilitators/{staff_id:id}/remove",
        group_unassign,
        methods=["POST"],
    ),
    Route("/admin/groups/{group_id:id}/members", member_add, methods=["POST"]),
    Route(
        "/admin/groups/{group_id:id}/members/{person_id:id}/remove", member_remove, methods=["POST"]
    ),
    Route("/api/admin/groups", api_groups),
    Route("/api/admin/groups/{group_id:id}", api_group),
    Route("/api/admin/groups/{group_id:id}/people", api_group_people),
]

_SCOPED = "staff; a facilitator sees only the groups they look after"
_GROUP = path_param("group_id", "a group within the caller's reach")

OPENAPI_PATHS: dict[str, Any] = {
    "/api/admin/groups": {
        "get": op(
            "Working groups within reach: kind, purpose, facilitators, roster size, meetings "
            "held, open commitments; archived ones under `archived`",
            _SCOPED,
        )
    },
    "/api/admin/groups/{group_id}": {
        "get": op(
            "One group with its facilitators and roster; each member's organization and "
            "attendance (`came` of `held` meetings, `rate`)",
            _SCOPED,
            params=[_GROUP],
        )
    },
    "/api/admin/groups/{group_id}/people": {
        "get": op(
            "People of the network matching `q` (name or organization) not yet on the roster; "
            "at most 12",
            _SCOPED,
            params=[_GROUP, query_param("q", "what was typed")],
        )
    },
}
