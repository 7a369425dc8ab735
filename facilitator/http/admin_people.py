"""Organizations, people and their merges: ``/admin/organizations``, ``/admin/people`` and their
JSON twins (the people spreadsheet in and out: ``admin_import``). Backbone staff only."""

from __future__ import annotations

from types import EllipsisType
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator.db.models import SECTORS
from facilitator.errors import Conflict, DomainError, Invalid
from facilitator.flow import Role
from facilitator.http.admin_common import admin_json, posted_items, posted_text
from facilitator.http.common import app_state, redirect, refused, render
from facilitator.http.guard import Caller, staff_api, staff_form, staff_page
from facilitator.http.openapi_parts import op, query_param
from facilitator.http.words import bdi
from facilitator.services import (
    organizations,
    overview,
    people,
    people_merge,
    people_search,
    person_mail,
)
from facilitator.validate import id_in

MAX_FORM_BODY = 64 * 1024


NOTICES = frozenset(
    {
        "admin.saved",
        "admin.organizations.merged",
        "admin.people.merged",
        "admin.people.added",
        "admin.archived",
        "admin.unarchived",
        "admin.people.link_sent",
    }
)


def _notice(request: Request) -> str | None:
    notice = request.query_params.get("notice")
    return notice if notice in NOTICES else None


# ---- organizations ----------------------------------------------------------------------------


@staff_page(Role.BACKBONE)
async def organizations_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    rows = await organizations.list_organizations(db, caller.staff.network_id)
    editing = None
    if "org_id" in request.path_params:
        editing = next((o for o in rows if o["id"] == request.path_params["org_id"]), None)
        if editing is None:
            return render(request, "not_found.html", caller.lang, 404, staff=caller.staff)
    return render(
        request,
        "admin/organizations.html",
        caller.lang,
        staff=caller.staff,
        organizations=rows,
        editing=editing,
        sectors=SECTORS,
        notice=_notice(request),
        error=request.query_params.get("error"),
    )


@staff_form("/admin/organizations", Role.BACKBONE)
async def organization_add(request: Request, admin: Caller, fields: dict[str, str]) -> Response:
    back = "/admin/organizations"
    try:
        await organizations.add_organization(
            app_state(request).db,
            admin.staff.network_id,
            admin.staff.user_id,
            fields.get("name", ""),
            fields.get("sector"),
            fields.get("aliases", ""),
        )
    except DomainError as error:
        return refused(request, back, error)
    return redirect(f"{back}?notice=admin.saved")


def _organization_back(request: Request) -> str:
    return f"/admin/organizations/{request.path_params['org_id']}"


@staff_form(_organization_back, Role.BACKBONE)
async def organization_change(request: Request, admin: Caller, fields: dict[str, str]) -> Response:
    org_id: int = request.path_params["org_id"]
    action = request.path_params.get("action", "save")
    back = _organization_back(request)
    db, nid, uid = app_state(request).db, admin.staff.network_id, admin.staff.user_id
    try:
        if action == "save":
            await organizations.update_organization(
                db,
                nid,
                uid,
                org_id,
                fields.get("name", ""),
                fields.get("sector"),
                fields.get("aliases", ""),
            )
            notice = "admin.saved"
        elif action in ("archive", "unarchive"):
            archived = action == "archive"
            await organizations.set_archived(db, nid, uid, org_id, archived=archived)
            notice = "admin.archived" if archived else "admin.unarchived"
        elif action == "merge":
            into = id_in(fields.get("into"))
            if into is None:
                raise Invalid("organization.merge_choose")
            await organizations.merge(db, nid, uid, org_id, into)
            return redirect(f"/admin/organizations/{into}?notice=admin.organizations.merged")
        else:
            return render(request, "not_found.html", admin.lang, 404, staff=admin.staff)
    except DomainError as error:
        return refused(request, back, error)
    return redirect(f"{back}?notice={notice}")


@staff_api(Role.BACKBONE)
async def api_organizations(request: Request, caller: Caller) -> Response:
    rows = await organizations.list_organizations(app_state(request).db, caller.staff.network_id)
    return admin_json({"organizations": rows})


# ---- people -----------------------------------------------------------------------------------


@staff_page(Role.BACKBONE)
async def people_page(request: Request, caller: Caller) -> Response:
    query = people_search.Query.parse(request.query_params)
    db, nid = app_state(request).db, caller.staff.network_id
    result = await people_search.search(db, nid, query)
    lists = await overview.network_lists(db, nid)
    return render(
        request,
        "admin/people.html",
        caller.lang,
        staff=caller.staff,
        query=query,
        result=result,
        sorts=people_search.SORTS,
        # What the add form offers: current organizations and groups only.
        organizations=await overview.organizations(db, nid),
        group_choices=lists["groups"],
        notice=_notice(request),
        error=request.query_params.get("error"),
    )


@staff_api(Role.BACKBONE)
async def api_people(request: Request, caller: Caller) -> Response:
    query = people_search.Query.parse(request.query_params)
    return admin_json(
        await people_search.search(app_state(request).db, caller.staff.network_id, query)
    )


@staff_page(Role.BACKBONE)
async def person_page(request: Request, caller: Caller) -> Response:
    db = app_state(request).db
    try:
        person = await people.person(db, caller.staff.network_id, request.path_params["person_id"])
    except DomainError:
        return render(request, "not_found.html", caller.lang, 404, staff=caller.staff)
    if person["merged_into_id"]:
        return redirect(f"/admin/people/{person['merged_into_id']}")
    orgs = await organizations.list_organizations(db, caller.staff.network_id)
    notice = _notice(request)
    if notice == "admin.people.link_sent" and not person["email"]:
        notice = None  # their address was taken away since: no sentence with a gap in it
    return render(
        request,
        "admin/person.html",
        caller.lang,
        staff=caller.staff,
        person=person,
        organizations=[
            o for o in orgs if not o["archived"] or o["id"] == person["organization_id"]
        ],
        mail_server=bool(app_state(request).settings.smtp_url),
        notice=notice,
        notice_params={"email": bdi(person["email"])},
        error=request.query_params.get("error"),
    )


@staff_page(Role.BACKBONE)
async def person_add(request: Request, admin: Caller) -> Response:
    back = "/admin/people"
    items = await posted_items(request, back, limit=MAX_FORM_BODY)
    if isinstance(items, Response):
        return items
    group_ids = [id_in(v) for k, v in items if k == "groups"]
    try:
        person_id = await people.add_person(
            app_state(request).db,
            admin.staff.network_id,
            admin.staff.user_id,
            name=posted_text(items, "name"),
            organization_id=id_in(posted_text(items, "organization_id")) or 0,
            email=posted_text(items, "email"),
            phone=posted_text(items, "phone"),
            group_ids=[g for g in group_ids if g is not None],
        )
    except DomainError as error:
        return refused(request, back, error)
    return redirect(f"/admin/people/{person_id}?notice=admin.people.added")


@staff_page(Role.BACKBONE)
async def person_change(request: Request, admin: Caller) -> Response:
    person_id: int = request.path_params["person_id"]
    action = request.path_params.get("action", "save")
    back = f"/admin/people/{person_id}"
    items = await posted_items(request, back, limit=MAX_FORM_BODY)
    if isinstance(items, Response):
        return items
    db, nid, uid = app_state(request).db, admin.staff.network_id, admin.staff.user_id
    try:
        if action == "save":
            group_ids = [id_in(v) for k, v in items if k == "groups"]
            await people.update_person(
                db,
                nid,
                uid,
                person_id,
                name=posted_text(items, "name"),
                organization_id=id_in(posted_text(items, "organization_id")) or 0,
                email=posted_text(items, "email"),
                phone=posted_text(items, "phone"),
                group_ids=[g for g in group_ids if g is not None],
                language=_language(items),
            )
            notice = "admin.saved"
        elif action == "send_link":
            await _send_link(request, admin, person_id)
            notice = "admin.people.link_sent"
        elif action in ("archive", "unarchive"):
            archived = action == "archive"
            await people.set_archived(db, nid, uid, person_id, archived=archived)
            notice = "admin.archived" if archived else "admin.unarchived"
        elif action == "merge":
            keep = id_in(posted_text(items, "keep"))
            if keep is None:
                raise Invalid("person.merge_choose")
            await people_merge.merge(db, nid, uid, keep, person_id)
            return redirect(f"/admin/people/{keep}?notice=admin.people.merged")
        else:
            return render(request, "not_found.html", admin.lang, 404, staff=admin.staff)
    except DomainError as error:
        return refused(request, back, error)
    return redirect(f"{back}?notice={notice}")


def _language(items: list[tuple[str, str | UploadFile]]) -> str | EllipsisType | None:
    """The posted language of a person's mails and page: blank for the network's, ``he`` or
    ``en``; not posted at all (an older form, a script): left as it is."""
    posted = [v for k, v in items if k == "language"]
    if not posted:
        return ...
    if posted[0] not in ("", "he", "en"):
        raise Invalid("input.bad_language")
    return str(posted[0]) or None


async def _send_link(request: Request, admin: Caller, person_id: int) -> None:
    """Their page's link into the outbox, and the sender woken to send it now."""
    state = app_state(request)
    if not state.settings.smtp_url:
        raise Conflict("admin.people.link_no_server")
    await person_mail.send_link(state.db, admin.staff.network_id, admin.staff.user_id, person_id)
    if state.mail is not None:
        state.mail.wake()


ROUTES: list[BaseRoute] = [
    Route("/admin/organizations", organizations_page, methods=["GET"]),
    Route("/admin/organizations", organization_add, methods=["POST"]),
    Route("/admin/organizations/{org_id:id}", organizations_page, methods=["GET"]),
    Route("/admin/organizations/{org_id:id}", organization_change, methods=["POST"]),
    Route("/admin/organizations/{org_id:id}/{action:str}", organization_change, methods=["POST"]),
    Route("/admin/people", people_page, methods=["GET"]),
    Route("/admin/people", person_add, methods=["POST"]),
    Route("/admin/people/{person_id:id}", person_page, methods=["GET"]),
    Route("/admin/people/{person_id:id}", person_change, methods=["POST"]),
    Route("/admin/people/{person_id:id}/{action:str}", person_change, methods=["POST"]),
    Route("/api/admin/organizations", api_organizations, methods=["GET"]),
    Route("/api/admin/people", api_people, methods=["GET"]),
]

_BACKBONE = "signed-in backbone staff of the network"


OPENAPI_PATHS: dict[str, Any] = {
    "/api/admin/organizations": {
        "get": op(
            "The network's organizations (merged ones left out): name, sector, other "
            "spellings, how many people and open commitments, archived or not",
            _BACKBONE,
        )
    },
    "/api/admin/people": {
        "get": op(
            "One page of the network's people (merged ones left out): organization, email, "
            "phone, groups, open commitments, the day they last came",
            _BACKBONE,
            params=[
                query_param("q", "Part of a name, an organization (any spelling) or an email"),
                query_param("sort", "name | organization | commitments | attended"),
                query_param("page", "Page number, from 1 (50 people a page)", "integer"),
                query_param("archived", "1: the archived people instead"),
            ],
        )
    },
}
