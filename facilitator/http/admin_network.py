"""The network's settings and its staff, for backbone staff: ``/admin/network`` and
``/admin/staff`` with their JSON twins. A new staff member's invitation and a password reset
are one-time links shown once, on the page that made them (no mail needed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator import i18n
from facilitator.errors import DomainError
from facilitator.flow import Role
from facilitator.http.admin_common import admin_json
from facilitator.http.common import (
    app_state,
    error_text,
    public_base,
    redirect,
    refused,
    render,
)
from facilitator.http.guard import Caller, staff_api, staff_form, staff_page
from facilitator.http.openapi_parts import op
from facilitator.services import network_settings
from facilitator.services import staff as staff_service
from facilitator.services.staff_links import FieldError
from facilitator.validate import id_in

BACKBONE = "backbone staff of the network"


# --- network settings -------------------------------------------------------------------------


async def _network_page(
    request: Request,
    admin: Caller,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    current = await network_settings.network_settings(app_state(request).db, admin.staff.network_id)
    shown = form or {
        "network_name": current["name"],
        "language": current["default_language"],
        "timezone": current["timezone"],
        "meeting_minutes": str(current["meeting_minutes"]),
        "public_url": current["public_url"] or "",
        "reminder_days": str(current["reminder_days"]),
    }
    return render(
        request,
        "admin/network.html",
        admin.lang,
        status,
        staff=admin.staff,
        form=shown,
        errors=errors or {},
        zones=network_settings.ZONES,
        minutes=(network_settings.MINUTES_LOW, network_settings.MINUTES_HIGH),
        reminder=(network_settings.REMINDER_LOW, network_settings.REMINDER_HIGH),
        server_url=app_state(request).settings.public_url,
        lan_url=app_state(request).settings.lan_url,
        notice=notice or _notice(request),
        error=request.query_params.get("error"),
    )


def _notice(request: Request) -> str | None:
    notice = request.query_params.get("notice")
    return notice if notice in NOTICES else None


NOTICES = frozenset({"network.saved", "staff.saved", "staff.deactivated", "staff.reactivated"})


@staff_page(Role.BACKBONE)
async def network_page(request: Request, caller: Caller) -> Response:
    return await _network_page(request, caller)


@staff_form("/admin/network", Role.BACKBONE)
async def network_change(request: Request, admin: Caller, fields: dict[str, str]) -> Response:
    form = {
        key: fields.get(key, "")
        for key in (
            "network_name",
            "language",
            "timezone",
            "meeting_minutes",
            "public_url",
            "reminder_days",
        )
    }
    try:
        await network_settings.update_network(
            app_state(request).db, admin.staff.network_id, admin.staff.user_id, dict(form)
        )
    except FieldError as error:
        message, _ = error_text(error, admin.lang)
        return await _network_page(request, admin, form, {error.field: message}, error.status)
    except DomainError as error:
        return refused(request, "/admin/network", error)
    return redirect("/admin/network?notice=network.saved")


@staff_api(Role.BACKBONE)
async def network_api(request: Request, caller: Caller) -> Response:
    return admin_json(
        await network_settings.network_settings(app_state(request).db, caller.staff.network_id)
    )


# --- staff ------------------------------------------------------------------------------------


def _seen(moment: str | None, timezone: str, lang: str) -> str:
    """ "Last seen" where the network meets, as people write a day and a time."""
    if not moment:
        return ""
    local = datetime.fromisoformat(moment).astimezone(ZoneInfo(timezone))
    return f"{i18n.format_date(local.date(), lang)} {local:%H:%M}"


async def _staff_list(
    request: Request,
    admin: Caller,
    *,
    status: int = 200,
    link: dict[str, str] | None = None,
    invite_form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    db = app_state(request).db
    settings = await network_settings.network_settings(db, admin.staff.network_id)
    people = await staff_service.staff_list(db, admin.staff.network_id)
    for person in people:
        person["seen"] = _seen(person["last_seen"], settings["timezone"], admin.lang)
        person["group_ids"] = {g["id"] for g in person["groups"]}
    return render(
        request,
        "admin/staff.html",
        admin.lang,
        status,
        staff=admin.staff,
        people=people,
        groups=await staff_service.network_groups(db, admin.staff.network_id),
        link=link,
        invite=invite_form or {"name": "", "email": "", "role": "facilitator", "groups": set()},
        errors=errors or {},
        notice=_notice(request),
        error=request.query_params.get("error"),
    )


@staff_page(Role.BACKBONE)
async def staff_list(request: Request, caller: Caller) -> Response:
    return await _staff_list(request, caller)


def _chosen_groups(fields: dict[str, str]) -> set[int]:
    chosen = set()
    for key in fields:
        found = id_in(key.removeprefix("group_")) if key.startswith("group_") else None
        if found:
            chosen.add(found)
    return chosen


async def _link_for(request: Request, admin: Caller, kind: str, token: str) -> dict[str, str]:
    base = await public_base(request, admin.staff.network_id)
    return {"kind": kind, "url": f"{base}/{kind}/{token}"}


@staff_form("/admin/staff", Role.BACKBONE)
async def staff_invite(request: Request, admin: Caller, fields: dict[str, str]) -> Response:
    chosen = _chosen_groups(fields)
    form: dict[str, Any] = {
        "name": fields.get("name", ""),
        "email": fields.get("email", ""),
        "role": fields.get("role", "facilitator"),
        "groups": chosen,
    }
    try:
        _user_id, token = await staff_service.invite(
            app_state(request).db,
            admin.staff.network_id,
            admin.staff.user_id,
            name=form["name"],
            email=form["email"],
            role=form["role"],
            group_ids=chosen,
        )
    except FieldError as error:
        message, _ = error_text(error, admin.lang)
        return await _staff_list(
            request, admin, status=error.status, invite_form=form, errors={error.field: message}
        )
    except DomainError as error:
        return refused(request, "/admin/staff", error)
    # Shown once, on this very answer: the token is not stored and is not put in any URL.
    link = await _link_for(request, admin, "invite", token)
    return await _staff_list(request, admin, link={**link, "name": form["name"]})


def _user_id(request: Request) -> int:
    user_id: int = request.path_params["user_id"]
    return user_id


@staff_form("/admin/staff", Role.BACKBONE)
async def staff_change(request: Request, admin: Caller, fields: dict[str, str]) -> Response:
    try:
        await staff_service.update_staff(
            app_state(request).db,
            admin.staff.network_id,
            admin.staff.user_id,
            _user_id(request),
            role=fields.get("role"),
            group_ids=_chosen_groups(fields),
        )
    except DomainError as error:
        return refused(request, "/admin/staff", error)
    await app_state(request).live.reach_changed(_user_id(request))
    return redirect("/admin/staff?notice=staff.saved")


@staff_form("/admin/staff", Role.BACKBONE)
async def staff_active(request: Request, admin: Caller, _fields: dict[str, str]) -> Response:
    active = request.url.path.endswith("/reactivate")
    state = app_state(request)
    try:
        revoked = await staff_service.set_active(
            state.db, admin.staff.network_id, admin.staff.user_id, _user_id(request), active=active
        )
    except DomainError as error:
        return refused(request, "/admin/staff", error)
    # Their open sockets close now, as on sign-out: a deactivated user keeps no live console.
    for session_id in revoked:
        await state.live.end_session(session_id)
    if admin.staff.session_id in revoked:
        return redirect("/login")
    return redirect(f"/admin/staff?notice=staff.{'reactivated' if active else 'deactivated'}")


@staff_form("/admin/staff", Role.BACKBONE)
async def staff_reset(request: Request, admin: Caller, _fields: dict[str, str]) -> Response:
    user_id = _user_id(request)
    try:
        token = await staff_service.reset_link(
            app_state(request).db, admin.staff.network_id, admin.staff.user_id, user_id
        )
    except DomainError as error:
        return refused(request, "/admin/staff", error)
    people = await staff_service.staff_list(app_state(request).db, admin.staff.network_id)
    name = next((p["name"] for p in people if p["id"] == user_id), "")
    link = await _link_for(request, admin, "reset", token)
    return await _staff_list(request, admin, link={**link, "name": name})


@staff_api(Role.BACKBONE)
async def api_staff(request: Request, caller: Caller) -> Response:
    people = await staff_service.staff_list(app_state(request).db, caller.staff.network_id)
    return admin_json({"staff": people})


@staff_page()
async def admin_home(request: Request, caller: Caller) -> Response:
    """``/admin``: the backbone's first tab; a facilitator's groups (the one page they have)."""
    return redirect("/admin/network" if caller.is_backbone else "/admin/groups")


ROUTES: list[BaseRoute] = [
    Route("/admin", admin_home, methods=["GET"]),
    Route("/admin/network", network_page, methods=["GET"]),
    Route("/admin/network", network_change, methods=["POST"]),
    Route("/api/admin/network", network_api, methods=["GET"]),
    Route("/admin/staff", staff_list, methods=["GET"]),
    Route("/admin/staff/invite", staff_invite, methods=["POST"]),
    Route("/admin/staff/{user_id:id}", staff_change, methods=["POST"]),
    Route("/admin/staff/{user_id:id}/deactivate", staff_active, methods=["POST"]),
    Route("/admin/staff/{user_id:id}/reactivate", staff_active, methods=["POST"]),
    Route("/admin/staff/{user_id:id}/reset", staff_reset, methods=["POST"]),
    Route("/api/admin/staff", api_staff, methods=["GET"]),
]

OPENAPI_PATHS: dict[str, Any] = {
    "/api/admin/network": {
        "get": op(
            "The network's settings: name, default language, time zone, default meeting length "
            "in minutes, and the public address phones are sent to (null when unset)",
            BACKBONE,
        )
    },
    "/api/admin/staff": {
        "get": op(
            "Every staff user of the network: name, email, role, active, the groups they look "
            "after, when last seen, and whether an invitation is still waiting",
            BACKBONE,
        )
    },
}
