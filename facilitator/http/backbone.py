"""The backbone's pages, exports, calendar feeds, and the printable agenda and summary."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitator import exports, i18n
from facilitator.db.models import Network
from facilitator.errors import DomainError, Invalid, NotFound
from facilitator.http import phone_record
from facilitator.http.auth import form_or_none, login_redirect
from facilitator.http.common import (
    app_state,
    current_staff,
    json_error,
    language,
    public_base,
    render,
)
from facilitator.http.pages import meeting_viewer
from facilitator.services import backbone, feeds, overview, state
from facilitator.services.access import StaffIdentity
from facilitator.services.backbone import Filters
from facilitator.services.commands import local_today
from facilitator.services.network import default_language


async def _staff(request: Request) -> tuple[StaffIdentity, str, list[int]] | Response:
    staff = await current_staff(request)
    if staff is None:
        return login_redirect(request)
    db = app_state(request).db
    lang = language(request, await default_language(db), staff)
    groups = await backbone.visible_groups(db, staff.network_id, staff.user_id, staff.role)
    return staff, lang, groups


async def _api_staff(request: Request) -> tuple[StaffIdentity, str, list[int]] | Response:
    found = await _staff(request)
    if isinstance(found, Response):
        lang = language(request, await default_language(app_state(request).db))
        return json_error(DomainError("auth.required"), lang, status=403)
    return found


async def as_of(request: Request, network_id: int) -> date:
    raw = request.query_params.get("as_of")
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise Invalid("input.bad_date", field="as_of") from None
    async with app_state(request).db.read() as session:
        network = await session.get_one(Network, network_id)
    return local_today(network, app_state(request).db.now())


async def _choices(request: Request, staff: StaffIdentity, groups: list[int]) -> dict[str, Any]:
    db = app_state(request).db
    lists = await overview.network_lists(db, staff.network_id)
    return {
        "groups": [g for g in lists["groups"] if g["id"] in groups],
        "people": lists["people"],
        "strategies": await overview.every_strategy(db, staff.network_id),
        "organizations": await overview.organizations(db, staff.network_id),
    }


Report = Callable[[Request, StaffIdentity, list[int]], Awaitable[dict[str, Any]]]


def _api(report: Report) -> Callable[[Request], Awaitable[Response]]:
    """A JSON endpoint for staff: the report for the groups they see, or a readable refusal."""

    async def endpoint(request: Request) -> Response:
        found = await _api_staff(request)
        if isinstance(found, Response):
            return found
        staff, lang, groups = found
        try:
            return JSONResponse(await report(request, staff, groups))
        except DomainError as refused:
            return json_error(refused, lang)

    return endpoint


async def _carryover(request: Request, staff: StaffIdentity, groups: list[int]) -> dict[str, Any]:
    filters = Filters.parse(request.query_params)
    day = await as_of(request, staff.network_id)
    return await backbone.carryover(app_state(request).db, staff.network_id, groups, filters, day)


async def _accountability(
    request: Request, staff: StaffIdentity, groups: list[int]
) -> dict[str, Any]:
    by = request.query_params.get("by", "organization")
    day = await as_of(request, staff.network_id)
    return await backbone.accountability(app_state(request).db, staff.network_id, groups, by, day)


async def _attendance(request: Request, staff: StaffIdentity, groups: list[int]) -> dict[str, Any]:
    return await backbone.attendance(app_state(request).db, staff.network_id, groups)


async def _opener(request: Request, staff: StaffIdentity, groups: list[int]) -> dict[str, Any]:
    return await backbone.opener_trends(app_state(request).db, staff.network_id, groups)


async def _history(request: Request, staff: StaffIdentity, groups: list[int]) -> dict[str, Any]:
    try:
        return await backbone.history(
            app_state(request).db, request.path_params["commitment_id"], groups
        )
    except DomainError:
        raise NotFound("commitment.not_found") from None


async def carryover_page(request: Request) -> Response:
    found = await _staff(request)
    if isinstance(found, Response):
        return found
    staff, lang, groups = found
    error, report, filters = None, None, Filters()
    try:
        filters = Filters.parse(request.query_params)
        report = await _carryover(request, staff, groups)
    except DomainError as refused:
        error = i18n.translate(refused.key, lang, **refused.params)
    return render(
        request,
        "backbone/carryover.html",
        lang,
        400 if error else 200,
        staff=staff,
        no_groups=not groups,
        report=report,
        filters=filters,
        query=urlencode(filters.query()),
        bad_filter=error,
        choices=await _choices(request, staff, groups),
        statuses=backbone.STATUSES,
        tab="carryover",
    )


async def history_page(request: Request) -> Response:
    found = await _staff(request)
    if isinstance(found, Response):
        return found
    staff, lang, groups = found
    try:
        journey = await _history(request, staff, groups)
    except DomainError:
        return render(request, "not_found.html", lang, 404, staff=staff)
    return render(
        request,
        "backbone/history.html",
        lang,
        staff=staff,
        no_groups=not groups,
        journey=journey,
        tab="carryover",
    )


async def accountability_page(request: Request) -> Response:
    found = await _staff(request)
    if isinstance(found, Response):
        return found
    staff, lang, groups = found
    by = request.query_params.get("by", "organization")
    try:
        report = await _accountability(request, staff, groups)
    except DomainError as refused:
        return render(
            request, "backbone/accountability.html", lang, 400, staff=staff, no_groups=not groups, report=None,
            bad_filter=i18n.translate(refused.key, lang, **refused.params), by=by, tab="accountability",
        )  # fmt: skip
    return render(
        request, "backbone/accountability.html", lang, staff=staff, no_groups=not groups, report=report, by=by,
        bad_filter=None, tab="accountability",
    )  # fmt: skip


async def attendance_page(request: Request) -> Response:
    found = await _staff(request)
    if isinstance(found, Response):
        return found
    staff, lang, groups = found
    report = await _attendance(request, staff, groups)
    return render(
        request,
        "backbone/attendance.html",
        lang,
        staff=staff,
        no_groups=not groups,
        report=report,
        tab="attendance",
    )


async def opener_page(request: Request) -> Response:
    found = await _staff(request)
    if isinstance(found, Response):
        return found
    staff, lang, groups = found
    report = await _opener(request, staff, groups)
    return render(
        request,
        "backbone/opener.html",
        lang,
        staff=staff,
        no_groups=not groups,
        report=report,
        tab="opener",
    )


# --- exports ------------------------------------------------------------------------------------


def _translator(lang: str) -> Callable[[str], str]:
    def t(key: str) -> str:
        return i18n.translate(key, lang)

    return t


def _csv(text: str, filename: str) -> Response:
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


async def commitments_csv(request: Request) -> Response:
    found = await _staff(request)
    if isinstance(found, Response):
        return found
    staff, lang, groups = found
    try:
        report = await _carryover(request, staff, groups)
    except DomainError as refused:
        return json_error(refused, lang)
    t = _translator(lang)
    header = [
        "id", t("csv.text"), t("csv.status"), t("field.due"), t("csv.overdue"), t("csv.times_slipped"),
        t("csv.done_on_time"), t("field.owner"), t("field.organization"), t("csv.sector"),
        t("field.group"), t("field.strategy"), t("csv.made_at"), t("csv.made_on"),
    ]  # fmt: skip
    rows = [
        [
            r["id"], r["text"], t(f"status.{r['status']}"), r["due"], t(f"csv.{str(r['overdue']).lower()}"),
            r["times_slipped"], t(f"csv.{str(r['done_on_time']).lower()}"), (r["owner"] or {}).get("name"),
            (r["organization"] or {}).get("name"),
            t(f"sector.{r['organization']['sector']}") if r["organization"] and r["organization"]["sector"] else None,
            r["group"]["name"], (r["strategy"] or {}).get("title"), (r["origin"] or {}).get("title"),
            (r["origin"] or {}).get("day"),
        ]
        for r in report["commitments"]
    ]  # fmt: skip
    return _csv(exports.to_csv(header, rows), f"commitments-{report['as_of']}.csv")


async def attendance_csv(request: Request) -> Response:
    found = await _staff(request)
    if isinstance(found, Response):
        return found
    _staff_id, lang, groups = found
    rows = await overview.attendance_rows(app_state(request).db, groups)
    t = _translator(lang)
    header = [t("field.group"), t("field.meeting"), t("csv.made_on"), t("field.name"),
              t("field.organization"), t("csv.sector"), t("csv.on_roster")]  # fmt: skip
    body = [
        [*r[:5], t(f"sector.{r[5]}") if r[5] else None, t("csv.expected" if r[6] else "csv.guest")]
        for r in rows
    ]
    return _csv(exports.to_csv(header, body), "attendance.csv")


# --- calendar feeds -----------------------------------------------------------------------------


async def feeds_page(request: Request) -> Response:
    found = await _staff(request)
    if isinstance(found, Response):
        return found
    staff, lang, groups = found
    db = app_state(request).db
    created, error = None, None
    details: dict[str, Any] = {}
    if request.method == "POST":
        fields = await form_or_none(request)
        if fields is None:
            error = "auth.csrf"
        else:
            try:
                if fields.get("revoke"):
                    await feeds.revoke_feed(db, staff, _number(fields["revoke"]))
                else:
                    kind = fields.get("kind", "")
                    target = _number(fields.get(f"{kind}_id", ""))
                    token = await feeds.create_feed(db, staff, kind, target, groups)
                    base = await public_base(request, staff.network_id)
                    created = f"{base}/feeds/{token}.ics"
            except DomainError as refusal:
                error, details = refusal.key, refusal.params
    return render(
        request, "backbone/feeds.html", lang, 400 if error else 200, staff=staff, no_groups=not groups, error=error,
        error_params=details,
        created=created, feeds=await feeds.list_feeds(db, staff),
        choices=await _choices(request, staff, groups), tab="feeds",
    )  # fmt: skip


def _number(raw: str) -> int:
    """A form's id, or 0 (refused as "not found" downstream) for anything else."""
    return int(raw) if re.fullmatch(r"[0-9]{1,18}", raw or "") else 0


async def feed_ics(request: Request) -> Response:
    """A calendar app subscribes here without signing in: the link itself is the secret."""
    db = app_state(request).db
    found = await feeds.feed_events(db, request.path_params["token"])
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    name, events = found
    body = exports.to_ics(name, events, db.now())
    # Private: the link is a secret; no shared cache should keep what it shows.
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"cache-control": "private, max-age=300"},
    )


# --- paper: the printable agenda and the meeting's record --------------------------------------


async def _printable(request: Request) -> tuple[str, int, Any] | Response:
    found = await meeting_viewer(request)
    if isinstance(found, Response):
        return found
    lang, meeting_id, staff, _access = found
    return lang, meeting_id, staff


async def agenda_print(request: Request) -> Response:
    found = await _printable(request)
    if isinstance(found, Response):
        return found
    lang, meeting_id, staff = found
    db = app_state(request).db
    return render(
        request, "paper/agenda.html", lang, staff=staff, snap=await state.snapshot(db, meeting_id),
        carried=await state.carried_commitments(db, meeting_id),
    )  # fmt: skip


async def summary_print(request: Request) -> Response:
    """The meeting's record: for staff and view-link holders, and (posted with its token, once
    the meeting is closed) for the phone of anyone who attended."""
    if request.method == "POST":
        reader = await phone_record.record_reader(request)
        if reader is None:
            lang = language(request, await default_language(app_state(request).db))
            return render(request, "not_found.html", lang, 404)
        (lang, meeting_id), staff = reader, None
    else:
        found = await _printable(request)
        if isinstance(found, Response):
            return found
        lang, meeting_id, staff = found
    db = app_state(request).db
    snap = await state.snapshot(db, meeting_id)
    by_org: dict[str, list[str]] = {}
    sectors: dict[str, int] = {}
    for person in snap["attendance"]:
        by_org.setdefault(person["organization"] or "—", []).append(person["name"])
        if person["sector"]:
            sectors[person["sector"]] = sectors.get(person["sector"], 0) + 1
    share = await overview.meeting_access(db, meeting_id)
    page = render(
        request, "paper/summary.html", lang, staff=staff, snap=snap, by_org=by_org, sectors=sectors,
        share_link=f"/m/{meeting_id}/summary?view={share[1]}" if share and share[1] and staff else None,
    )  # fmt: skip
    if request.method == "POST":
        page.headers["cache-control"] = "no-store"  # opened with a person's token
    return page


# --- JSON behind the pages ----------------------------------------------------------------------

api_carryover = _api(_carryover)
api_accountability = _api(_accountability)
api_attendance = _api(_attendance)
api_opener = _api(_opener)
api_history = _api(_history)
