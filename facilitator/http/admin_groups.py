"""Administration of how the network works together: working groups and their rosters,
strategies, the opener's blocker list, the shared values, and the audit log (read-only).

Groups serve facilitators too, scoped to the groups they look after; everything else here is for
backbone staff. Each list page has a JSON twin under ``/api/admin/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from facilitator.db.models import GROUP_KINDS
from facilitator.errors import DomainError, Forbidden, NotFound
from facilitator.flow import Role
from facilitator.http import pages
from facilitator.http.admin_common import admin_json, back_with_error
from facilitator.http.common import app_state, json_error, recheck_reach, redirect, render
from facilitator.http.guard import Caller, staff_api, staff_form, staff_page
from facilitator.http.openapi_parts import op, path_param, query_param
from facilitator.services import (
    audit_view,
    blockers,
    group_changes,
    groups,
    overview,
    strategies,
)
from facilitator.services.strategies import StrategyInput
from facilitator.validate import id_in


def _path(request: Request, name: str) -> int:
    value: int = request.path_params[name]
    return value


def _number(raw: str | None) -> int:
    """A posted id; anything else is an id nothing has (so the service says "not found")."""
    return id_in((raw or "").strip()) or 0


def _saved(url: str) -> Response:
    return redirect(f"{url}{'&' if '?' in url else '?'}saved=1")


def _refusal(request: Request, admin: Caller, back: str, error: DomainError) -> Response:
    """A refused change: not allowed is a 403 page, out of reach a 404 page (a facilitator does
    not learn that another group exists), anything else back to the form with the reason."""
    if isinstance(error, Forbidden):
        return render(request, "admin/forbidden.html", admin.lang, 403, staff=admin.staff)
    if isinstance(error, NotFound) and error.key == "group.not_found":
        return render(request, "not_found.html", admin.lang, 404, staff=admin.staff)
    return back_with_error(back, error)


Change = Callable[[Request, Caller, dict[str, str]], Awaitable[str | None]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _change(
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
            return _saved(goes or where)

        return endpoint

    return wrap


def _page_words(request: Request) -> dict[str, Any]:
    return {
        "error": request.query_params.get("error"),
        "notice": "admin.saved" if request.query_params.get("saved") else None,
    }


# --- working groups -----------------------------------------------------------------------------


@staff_page()
async def groups_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    listing = await groups.group_list(db, caller.scope)
    return render(
        request, "admin/groups.html", caller.lang, staff=caller.staff, admin=caller,
        listing=listing, kinds=GROUP_KINDS, **_page_words(request),
    )  # fmt: skip


@staff_page()
async def group_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    group_id = _path(request, "group_id")
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
        **_page_words(request),
    )  # fmt: skip


def _group_back(request: Request) -> str:
    return f"/admin/groups/{_path(request, 'group_id')}"


@_change(lambda _r: "/admin/groups", only=None)
async def group_create(request: Request, admin: Caller, fields: dict[str, str]) -> str:
    group_id = await group_changes.create_group(
        app_state(request).db, admin.scope, admin.staff.user_id,
        fields.get("name", ""), fields.get("kind", ""), fields.get("purpose"),
    )  # fmt: skip
    return f"/admin/groups/{group_id}"


@_change(_group_back, only=None)
async def group_edit(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    # A facilitator's form has no name or kind: what is not sent is kept.
    await group_changes.update_group(
        app_state(request).db, admin.scope, admin.staff.user_id, _path(request, "group_id"),
        purpose=fields.get("purpose"), name=fields.get("name"), kind=fields.get("kind"),
    )  # fmt: skip


@_change(_group_back, only=None)
async def group_archive(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await group_changes.set_archived(
        app_state(request).db, admin.scope, admin.staff.user_id, _path(request, "group_id"),
        archived=request.url.path.endswith("/archive"),
    )  # fmt: skip


@_change(_group_back, only=None)
async def group_assign(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await group_changes.assign_facilitator(
        app_state(request).db, admin.scope, admin.staff.user_id, _path(request, "group_id"),
        _number(fields.get("staff_id")),
    )  # fmt: skip


@_change(_group_back, only=None)
async def group_unassign(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await group_changes.unassign_facilitator(
        app_state(request).db, admin.scope, admin.staff.user_id, _path(request, "group_id"),
        _path(request, "staff_id"),
    )  # fmt: skip
    await recheck_reach(request, _path(request, "staff_id"))


@_change(_group_back, only=None)
async def member_add(request: Request, admin: Caller, fields: dict[str, str]) -> str:
    await group_changes.add_member(
        app_state(request).db, admin.scope, admin.staff.user_id, _path(request, "group_id"),
        _number(fields.get("person_id")),
    )  # fmt: skip
    # Back to the same search: adding three people found by one word takes one search.
    query = (fields.get("q") or "").strip()[:120]
    return f"{_group_back(request)}?{urlencode({'q': query})}" if query else _group_back(request)


@_change(_group_back, only=None)
async def member_remove(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await group_changes.remove_member(
        app_state(request).db, admin.scope, admin.staff.user_id, _path(request, "group_id"),
        _path(request, "person_id"),
    )  # fmt: skip


@staff_api()
async def api_groups(request: Request, caller: Caller) -> Response:
    return admin_json(await groups.group_list(app_state(request).db, caller.scope))


@staff_api()
async def api_group(request: Request, caller: Caller) -> Response:
    try:
        return admin_json(
            await groups.group_page(app_state(request).db, caller.scope, _path(request, "group_id"))
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
            _path(request, "group_id"),
            (request.query_params.get("q") or "")[:120],
        )
    except DomainError as error:
        return json_error(error, caller.lang)
    return admin_json({"people": people})


# --- strategies ---------------------------------------------------------------------------------


@staff_page(Role.BACKBONE)
async def strategies_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    listing = await strategies.strategy_list(db, caller.staff.network_id)
    group_list = await groups.group_list(db, caller.scope)
    return render(
        request, "admin/strategies.html", caller.lang, staff=caller.staff, listing=listing,
        groups=group_list["groups"] + group_list["archived"], **_page_words(request),
    )  # fmt: skip


def _strategy_input(fields: dict[str, str]) -> StrategyInput:
    chosen = tuple(
        _number(name.removeprefix("group_"))
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


@_change(lambda _r: "/admin/strategies")
async def strategy_create(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await strategies.create_strategy(
        app_state(request).db, admin.staff.network_id, admin.staff.user_id, _strategy_input(fields)
    )


@_change(lambda _r: "/admin/strategies")
async def strategy_edit(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await strategies.update_strategy(
        app_state(request).db, admin.staff.network_id, admin.staff.user_id,
        _path(request, "strategy_id"), _strategy_input(fields),
    )  # fmt: skip


@_change(lambda _r: "/admin/strategies")
async def strategy_archive(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await strategies.set_archived(
        app_state(request).db, admin.staff.network_id, admin.staff.user_id,
        _path(request, "strategy_id"), archived=request.url.path.endswith("/archive"),
    )  # fmt: skip


@staff_api(Role.BACKBONE)
async def api_strategies(request: Request, caller: Caller) -> Response:
    return admin_json(
        await strategies.strategy_list(app_state(request).db, caller.staff.network_id)
    )


# --- blockers -----------------------------------------------------------------------------------


@staff_page(Role.BACKBONE)
async def blockers_page(request: Request, caller: Caller) -> Response:
    rows = await blockers.blocker_list(app_state(request).db, caller.staff.network_id)
    return render(
        request, "admin/blockers.html", caller.lang, staff=caller.staff,
        active=[b for b in rows if b["active"]], retired=[b for b in rows if not b["active"]],
        **_page_words(request),
    )  # fmt: skip


@_change(lambda _r: "/admin/blockers")
async def blocker_create(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await blockers.add_blocker(
        app_state(request).db, admin.staff.network_id,
        fields.get("label_he", ""), fields.get("label_en", ""), user_id=admin.staff.user_id,
    )  # fmt: skip


@_change(lambda _r: "/admin/blockers")
async def blocker_edit(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    db, blocker_id = app_state(request).db, _path(request, "blocker_id")
    current = {b["id"]: b for b in await blockers.blocker_list(db, admin.staff.network_id)}
    if blocker_id not in current:
        raise NotFound("opener.unknown_blocker")
    await blockers.update_blocker(
        db, admin.staff.network_id, blocker_id, fields.get("label_he", ""),
        fields.get("label_en", ""), active=current[blocker_id]["active"],
        user_id=admin.staff.user_id,
    )  # fmt: skip


@_change(lambda _r: "/admin/blockers")
async def blocker_retire(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await blockers.set_blocker_active(
        app_state(request).db, admin.staff.network_id, _path(request, "blocker_id"),
        active=request.url.path.endswith("/restore"), user_id=admin.staff.user_id,
    )  # fmt: skip


@_change(lambda _r: "/admin/blockers")
async def blocker_move(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await blockers.move_blocker(
        app_state(request).db, admin.staff.network_id, _path(request, "blocker_id"),
        -1 if request.url.path.endswith("/up") else 1, user_id=admin.staff.user_id,
    )  # fmt: skip


@_change(lambda _r: "/admin/blockers")
async def blockers_restore_seed(request: Request, admin: Caller, fields: dict[str, str]) -> None:
    await blockers.restore_seed_blockers(
        app_state(request).db, admin.staff.network_id, user_id=admin.staff.user_id
    )


@staff_api(Role.BACKBONE)
async def api_blockers(request: Request, caller: Caller) -> Response:
    rows = await blockers.blocker_list(app_state(request).db, caller.staff.network_id)
    return admin_json({"blockers": rows})


# --- values (the pages live in ``pages``; their JSON twin here) ---------------------------------


@staff_api(Role.BACKBONE)
async def api_values(request: Request, caller: Caller) -> Response:
    lists = await overview.network_lists(app_state(request).db, caller.staff.network_id)
    return admin_json({"values": lists["values"]})


async def old_values(request: Request) -> Response:
    """The values' old address: they live under the administration now."""
    return RedirectResponse("/admin/values", status_code=301)


# --- the audit log (read-only: no route here or anywhere writes to it) --------------------------


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
    Route("/admin/strategies", strategies_page, methods=["GET"]),
    Route("/admin/strategies", strategy_create, methods=["POST"]),
    Route("/admin/strategies/{strategy_id:id}", strategy_edit, methods=["POST"]),
    Route("/admin/strategies/{strategy_id:id}/archive", strategy_archive, methods=["POST"]),
    Route("/admin/strategies/{strategy_id:id}/unarchive", strategy_archive, methods=["POST"]),
    Route("/admin/blockers", blockers_page, methods=["GET"]),
    Route("/admin/blockers", blocker_create, methods=["POST"]),
    Route("/admin/blockers/restore-seed", blockers_restore_seed, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}", blocker_edit, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}/retire", blocker_retire, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}/restore", blocker_retire, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}/up", blocker_move, methods=["POST"]),
    Route("/admin/blockers/{blocker_id:id}/down", blocker_move, methods=["POST"]),
    Route("/admin/values", pages.values_page, methods=["GET"]),
    Route("/admin/values", pages.values_change, methods=["POST"]),
    Route("/admin/values/{value_id:id}", pages.values_change, methods=["POST"]),
    Route("/admin/values/{value_id:id}/remove", pages.values_change, methods=["POST"]),
    Route("/values", old_values, methods=["GET"]),
    Route("/admin/audit", audit_page, methods=["GET"]),
    Route("/api/admin/groups", api_groups),
    Route("/api/admin/groups/{group_id:id}", api_group),
    Route("/api/admin/groups/{group_id:id}/people", api_group_people),
    Route("/api/admin/strategies", api_strategies),
    Route("/api/admin/blockers", api_blockers),
    Route("/api/admin/values", api_values),
    Route("/api/admin/audit", api_audit),
]

_BACKBONE = "backbone staff of the network"
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
    "/api/admin/strategies": {
        "get": op(
            "Strategies with their target (what, how much, by when), the groups that carry "
            "them and how many agenda items and commitments link to them; archived apart",
            _BACKBONE,
        )
    },
    "/api/admin/blockers": {
        "get": op(
            "The opener's blocker list in order, Hebrew and English labels, retired ones "
            "(`active: false`) included",
            _BACKBONE,
        )
    },
    "/api/admin/values": {
        "get": op("The shared values and their behaviours in each language", _BACKBONE)
    },
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
