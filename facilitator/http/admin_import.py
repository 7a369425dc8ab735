"""The people spreadsheet in and out, for backbone staff: ``/admin/people.csv`` exports the
network's people as the import reads them; ``/admin/import`` previews a file row by row and
confirms exactly the plan it showed."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facilitator import exports, i18n
from facilitator.errors import DomainError, Invalid
from facilitator.flow import Role
from facilitator.http.admin_common import posted_items, posted_text
from facilitator.http.common import app_state, refused, render
from facilitator.http.guard import Caller, staff_page
from facilitator.services import import_plan, importer, people_search, spreadsheet

#: The confirm form carries the file back as base64 (4/3 of it) with a few small fields.
MAX_UPLOAD_BODY = 3 * 1024 * 1024
#: Small forms: a person's edit form lists their groups, one field each.


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
    items = await posted_items(request, back, limit=MAX_UPLOAD_BODY, files=1)
    if isinstance(items, Response):
        return items
    upload = next((v for k, v in items if k == "file" and isinstance(v, UploadFile)), None)
    if upload is None or not upload.filename:
        return refused(request, back, Invalid("import.no_file"))
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
    items = await posted_items(request, back, limit=MAX_UPLOAD_BODY)
    if isinstance(items, Response):
        return items
    filename = posted_text(items, "filename")[-200:]
    try:
        data = base64.b64decode(posted_text(items, "data"), validate=True)
    except (binascii.Error, ValueError):
        return refused(request, back, Invalid("import.bad_file"))
    try:
        if not data:
            raise Invalid("import.no_file")
        table = await _table(data, filename)
        plan = await importer.apply(
            app_state(request).db,
            admin.staff.network_id,
            admin.staff.user_id,
            table,
            expected=posted_text(items, "fingerprint"),
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
    Route("/admin/people.csv", people_csv, methods=["GET"]),
    Route("/admin/import", import_page, methods=["GET"]),
    Route("/admin/import", import_preview, methods=["POST"]),
    Route("/admin/import/confirm", import_confirm, methods=["POST"]),
]
