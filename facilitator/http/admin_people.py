"""Organizations, people, their merges, and the import and export of the people spreadsheet:
``/admin/organizations``, ``/admin/people``, ``/admin/people.csv``, ``/admin/import`` and their
JSON twins. Backbone staff only."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator import exports, i18n
from facilitator.db.models import SECTORS
from facilitator.errors import DomainError, Invalid
from facilitator.flow import Role
from facilitator.http.admin_common import admin_json, back_with_error
from facilitator.http.common import app_state, redirect, remember_typed, render
from facilitator.http.guard import Caller, staff_api, staff_form, staff_page
from facilitator.http.openapi_parts import op, query_param
from facilitator.http.security import CSRF_FIELD, csrf_ok, csrf_token, origin_allowed
from facilitator.services import (
    import_plan,
    importer,
    organizations,
    overview,
    people,
    people_merge,
    people_search,
    spreadsheet,
)
from facilitator.validate import id_in

#: The confirm form carries the file back as base64 (4/3 of it) with a few small fields.
MAX_UPLOAD_BODY = 3 * 1024 * 1024
#: Small forms: a person's edit form lists their groups, one field each.
MAX_FORM_BODY = 64 * 1024
NOTICES = frozenset(
    {
        "admin.saved",
        "admin.organizations.merged",
        "admin.people.merged",
        "admin.people.added",
        "admin.archived",
        "admin.unarchived",
    }
)


def _notice(request: Request) -> str | None:
    notice = request.query_params.get("notice")
    return notice if notice in NOTICES else None


async def _posted(
    request: Request, back: str, *, limit: int, files: int = 0
) -> list[tuple[str, str | UploadFile]] | Response:
    """A posted form with every value kept (a person's groups come as many fields, the import
    as a file): size, origin and CSRF checked, as ``staff_form`` does."""
    if int(request.headers.get("content-length") or 0) > limit:
        return back_with_error(back, Invalid("import.too_large"))
    if not origin_allowed(request, app_state(request).settings.public_url):
        return back_with_error(back, DomainError("auth.csrf"))
    try:
        form = await request.form(max_files=files, max_fields=300, max_part_size=limit)
    except MultiPartException:
        return back_with_error(back, Invalid("import.too_large"))
    items = list(form.multi_items())
    sent = next((v for k, v in items if k == CSRF_FIELD and isinstance(v, str)), None)
    if not csrf_ok(csrf_token(request), sent):
        await form.close()
        return back_with_error(back, DomainError("auth.csrf"))
    remember_typed({k: v for k, v in items if isinstance(v, str)})
    return items


def _text(items: list[tuple[str, str | UploadFile]], name: str) -> str:
    return next((v for k, v in items if k == name and isinstance(v, str)), "")


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
        return back_with_error(back, error)
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
        return back_with_error(back, error)
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
    return render(
        request,
        "admin/person.html",
        caller.lang,
        staff=caller.staff,
        person=person,
        organizations=[
            o for o in orgs if not o["archived"] or o["id"] == person["organization_id"]
        ],
        notice=_notice(request),
        error=request.query_params.get("error"),
    )


@staff_page(Role.BACKBONE)
async def person_add(request: Request, admin: Caller) -> Response:
    back = "/admin/people"
    items = await _posted(request, back, limit=MAX_FORM_BODY)
    if isinstance(items, Response):
        return items
    group_ids = [id_in(v) for k, v in items if k == "groups"]
    try:
        person_id = await people.add_person(
            app_state(request).db,
            admin.staff.network_id,
            admin.staff.user_id,
            name=_text(items, "name"),
            organization_id=id_in(_text(items, "organization_id")) or 0,
            email=_text(items, "email"),
            phone=_text(items, "phone"),
            group_ids=[g for g in group_ids if g is not None],
        )
    except DomainError as error:
        return back_with_error(back, error)
    return redirect(f"/admin/people/{person_id}?notice=admin.people.added")


@staff_page(Role.BACKBONE)
async def person_change(request: Request, admin: Caller) -> Response:
    person_id: int = request.path_params["person_id"]
    action = request.path_params.get("action", "save")
    back = f"/admin/people/{person_id}"
    items = await _posted(request, back, limit=MAX_FORM_BODY)
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
                name=_text(items, "name"),
                organization_id=id_in(_text(items, "organization_id")) or 0,
                email=_text(items, "email"),
                phone=_text(items, "phone"),
                group_ids=[g for g in group_ids if g is not None],
            )
            notice = "admin.saved"
        elif action in ("archive", "unarchive"):
            archived = action == "archive"
            await people.set_archived(db, nid, uid, person_id, archived=archived)
            notice = "admin.archived" if archived else "admin.unarchived"
        elif action == "merge":
            keep = id_in(_text(items, "keep"))
            if keep is None:
                raise Invalid("person.merge_choose")
            await people_merge.merge(db, nid, uid, keep, person_id)
            return redirect(f"/admin/people/{keep}?notice=admin.people.merged")
        else:
            return render(request, "not_found.html", admin.lang, 404, staff=admin.staff)
    except DomainError as error:
        return back_with_error(back, error)
    return redirect(f"{back}?notice={notice}")


@staff_page(Role.BACKBONE)
async def people_csv(request: Request, caller: Caller) -> Response:
    lang = caller.lang
    rows = await people_search.export_rows(app_state(request).db, caller.staff.network_id)
    header = [i18n.translate(f"import.column.{name}", lang) for name in spreadsheet.FIELDS]
    body = [
        [
            r["name"],
            r["organization"],
            i18n.translate(f"sector.{r['sector']}", lang) if r["sector"] else None,
            r["email"],
            r["phone"],
            "; ".join(r["groups"]),
        ]
        for r in rows
    ]
    return Response(
        exports.to_csv(header, body),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="people.csv"'},
    )


# ---- import -----------------------------------------------------------------------------------


def _row_view(row: import_plan.Row, lang: str) -> dict[str, Any]:
    """A planned row as the preview shows it: its result and its notes in words."""

    def words(key: str, params: dict[str, Any]) -> str:
        shown = dict(params)
        if "sector" in shown:
            shown["sector"] = i18n.translate(f"sector.{shown['sector']}", lang)
        return i18n.translate(key, lang, **shown)

    return {
        "line": row.line,
        "name": row.name,
        "organization": row.organization,
        "sector": row.sector,
        "email": row.email,
        "phone": row.phone,
        "groups": row.groups,
        "action": row.action,
        "matched": row.matched,
        "new_organization": row.organization_action in ("new", "new_again"),
        "reason": words(*row.reason) if row.reason else None,
        "notes": [words(key, params) for key, params in row.notes],
    }


def _import_page(request: Request, admin: Caller, status: int = 200, **context: Any) -> Response:
    return render(
        request,
        "admin/import.html",
        admin.lang,
        status,
        staff=admin.staff,
        max_rows=spreadsheet.MAX_ROWS,
        error=context.pop("error", request.query_params.get("error")),
        **context,
    )


@staff_page(Role.BACKBONE)
async def import_page(request: Request, caller: Caller) -> Response:
    return _import_page(request, caller)


async def _table(data: bytes, filename: str) -> spreadsheet.Table:
    # Parsing a 2 MB spreadsheet takes a while: never on the event loop.
    return await asyncio.to_thread(spreadsheet.read_table, data, filename)


@staff_page(Role.BACKBONE)
async def import_preview(request: Request, admin: Caller) -> Response:
    back = "/admin/import"
    items = await _posted(request, back, limit=MAX_UPLOAD_BODY, files=1)
    if isinstance(items, Response):
        return items
    upload = next((v for k, v in items if k == "file" and isinstance(v, UploadFile)), None)
    if upload is None or not upload.filename:
        return back_with_error(back, Invalid("import.no_file"))
    data = await upload.read(spreadsheet.MAX_BYTES + 1)
    filename = (upload.filename or "")[-200:]
    await upload.close()
    try:
        if len(data) > spreadsheet.MAX_BYTES:
            raise Invalid("import.too_large")
        table = await _table(data, filename)
        plan = await import_plan.preview(app_state(request).db, admin.staff.network_id, table)
    except DomainError as error:
        return _import_page(
            request, admin, 422, error=error.key, error_params=error.params, filename=filename
        )
    return _import_page(
        request,
        admin,
        filename=filename,
        plan=plan.counts,
        ok=plan.ok,
        rows=[_row_view(r, admin.lang) for r in plan.rows],
        data=base64.b64encode(data).decode("ascii"),
        fingerprint=plan.fingerprint,
    )


@staff_page(Role.BACKBONE)
async def import_confirm(request: Request, admin: Caller) -> Response:
    back = "/admin/import"
    items = await _posted(request, back, limit=MAX_UPLOAD_BODY)
    if isinstance(items, Response):
        return items
    filename = _text(items, "filename")[-200:]
    try:
        data = base64.b64decode(_text(items, "data"), validate=True)
    except (binascii.Error, ValueError):
        return back_with_error(back, Invalid("import.bad_file"))
    try:
        if not data:
            raise Invalid("import.no_file")
        table = await _table(data, filename)
        plan = await importer.apply(
            app_state(request).db,
            admin.staff.network_id,
            admin.staff.user_id,
            table,
            expected=_text(items, "fingerprint"),
        )
    except DomainError as error:
        if error.key != "import.changed":
            return _import_page(
                request, admin, 422, error=error.key, error_params=error.params, filename=filename
            )
        # Someone changed the network since the preview: show what it would do now.
        fresh = await import_plan.preview(app_state(request).db, admin.staff.network_id, table)
        return _import_page(
            request, admin, 409, error=error.key, filename=filename, plan=fresh.counts,
            ok=fresh.ok, rows=[_row_view(r, admin.lang) for r in fresh.rows],
            data=base64.b64encode(data).decode("ascii"), fingerprint=fresh.fingerprint,
        )  # fmt: skip
    return _import_page(request, admin, done=plan.counts, filename=filename)


ROUTES: list[BaseRoute] = [
    Route("/admin/organizations", organizations_page, methods=["GET"]),
    Route("/admin/organizations", organization_add, methods=["POST"]),
    Route("/admin/organizations/{org_id:id}", organizations_page, methods=["GET"]),
    Route("/admin/organizations/{org_id:id}", organization_change, methods=["POST"]),
    Route("/admin/organizations/{org_id:id}/{action:str}", organization_change, methods=["POST"]),
    Route("/admin/people", people_page, methods=["GET"]),
    Route("/admin/people", person_add, methods=["POST"]),
    Route("/admin/people.csv", people_csv, methods=["GET"]),
    Route("/admin/people/{person_id:id}", person_page, methods=["GET"]),
    Route("/admin/people/{person_id:id}", person_change, methods=["POST"]),
    Route("/admin/people/{person_id:id}/{action:str}", person_change, methods=["POST"]),
    Route("/admin/import", import_page, methods=["GET"]),
    Route("/admin/import", import_preview, methods=["POST"]),
    Route("/admin/import/confirm", import_confirm, methods=["POST"]),
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
