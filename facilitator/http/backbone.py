"""The backbone's pages, their JSON, the exports and the calendar feeds."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from facilitator import exports, i18n
from facilitator.errors import DomainError, Invalid, NotFound
from facilitator.http.auth import form_or_none
from facilitator.http.backbone_filters import filters_query, page_links, parse_filters, parse_page
from facilitator.http.common import (
    app_state,
    json_error,
    public_base,
    render,
)
from facilitator.http.guard import Caller, staff_api, staff_page

# The printable agenda and summary live in ``http.paper``; the routes still find them here.
from facilitator.http.paper import agenda_print as agenda_print
from facilitator.http.paper import summary_print as summary_print
from facilitator.services import backbone, feeds, overview, personal
from facilitator.services.access import StaffIdentity
from facilitator.services.backbone import Filters, Reach


async def as_of(request: Request, network_id: int) -> date:
    raw = request.query_params.get("as_of")
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise Invalid("input.bad_date", field="as_of") from None
    return await backbone.today(app_state(request).db, network_id)


async def _render(request: Request, *args: Any, **context: Any) -> Response:
    """``render`` on a thread: a report's page is long, and rendering it on the event loop
    would hold up every live room's socket for as long."""
    return await app_state(request).db.in_background(render, request, *args, **context)


async def _groups(request: Request, staff: StaffIdentity) -> list[int]:
    db = app_state(request).db
    return await backbone.visible_groups(db, staff.network_id, staff.user_id, staff.role)


def _reach(staff: StaffIdentity) -> Reach:
    return backbone.reach_of(staff.network_id, staff.user_id, staff.role)


async def _choices(request: Request, staff: StaffIdentity, groups: list[int]) -> dict[str, Any]:
    return await backbone.filter_choices(app_state(request).db, staff.network_id, groups)


Report = Callable[[Request, StaffIdentity], Awaitable[dict[str, Any]]]


def _api(report: Report) -> Callable[[Request], Awaitable[Response]]:
    """A JSON endpoint for staff: the report for the groups they see, or a readable refusal."""

    @staff_api(signed_out=403)
    async def endpoint(request: Request, caller: Caller) -> Response:
        try:
            found = await report(request, caller.staff)
            return await app_state(request).db.in_background(JSONResponse, found)
        except DomainError as refused:
            return json_error(refused, caller.lang)

    return endpoint


async def _carryover(request: Request, staff: StaffIdentity) -> dict[str, Any]:
    filters = parse_filters(request.query_params)
    page = parse_page(request.query_params)
    day = await as_of(request, staff.network_id)
    db = app_state(request).db
    return await backbone.carryover(db, _reach(staff), filters, day, page)


async def _accountability(request: Request, staff: StaffIdentity) -> dict[str, Any]:
    by = request.query_params.get("by", "organization")
    day = await as_of(request, staff.network_id)
    return await backbone.accountability(app_state(request).db, _reach(staff), by, day)


async def _attendance(request: Request, staff: StaffIdentity) -> dict[str, Any]:
    return await backbone.attendance(app_state(request).db, _reach(staff))


async def _opener(request: Request, staff: StaffIdentity) -> dict[str, Any]:
    return await backbone.opener_trends(app_state(request).db, _reach(staff))


async def _history(request: Request, staff: StaffIdentity) -> dict[str, Any]:
    try:
        commitment_id = request.path_params["commitment_id"]
        return await backbone.history(app_state(request).db, _reach(staff), commitment_id)
    except DomainError:
        raise NotFound("commitment.not_found") from None


@staff_page()
async def carryover_page(request: Request, caller: Caller) -> Response:
    staff, lang = caller.staff, caller.lang
    groups = await _groups(request, staff)
    error, report, filters = None, None, Filters()
    links: dict[str, str | None] = {}
    try:
        filters = parse_filters(request.query_params)
        report = await _carryover(request, staff)
        # The day the page was counted on stays in its links: the order depends on it, so paging
        # across midnight would otherwise skip or repeat commitments.
        links = page_links("/backbone", filters, report["as_of"], report)
    except DomainError as refused:
        error = i18n.translate(refused.key, lang, **refused.params)
    between = await personal.follow_through(
        app_state(request).db, staff.network_id, groups, group_less_mail=caller.is_backbone
    )
    return await _render(
        request,
        "backbone/carryover.html",
        lang,
        400 if error else 200,
        staff=staff,
        no_groups=not groups,
        report=report,
        filters=filters,
        query=urlencode(filters_query(filters)),
        links=links,
        bad_filter=error,
        between=between,
        choices=await _choices(request, staff, groups),
        statuses=backbone.STATUSES,
        tab="carryover",
    )


@staff_page()
async def history_page(request: Request, caller: Caller) -> Response:
    staff, lang = caller.staff, caller.lang
    try:
        journey = await _history(request, staff)
    except DomainError:
        return await _render(request, "not_found.html", lang, 404, staff=staff)
    return await _render(
        request,
        "backbone/history.html",
        lang,
        staff=staff,
        no_groups=not await _groups(request, staff),
        journey=journey,
        tab="carryover",
    )


@staff_page()
async def accountability_page(request: Request, caller: Caller) -> Response:
    staff, lang = caller.staff, caller.lang
    no_groups = not await _groups(request, staff)
    by = request.query_params.get("by", "organization")
    try:
        report = await _accountability(request, staff)
    except DomainError as refused:
        return await _render(
            request, "backbone/accountability.html", lang, 400, staff=staff, no_groups=no_groups, report=None,
            bad_filter=i18n.translate(refused.key, lang, **refused.params), by=by, tab="accountability",
        )  # fmt: skip
    return await _render(
        request, "backbone/accountability.html", lang, staff=staff, no_groups=no_groups, report=report, by=by,
        bad_filter=None, tab="accountability",
    )  # fmt: skip


def _one_group(request: Request, report: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """The group ``?group=`` opens in a report of every group (``None``: none asked for, the
    page sums each group up in a line); ``False`` when it is not one the report shows."""
    raw = request.query_params.get("group")
    if raw is None:
        return True, None
    found = next((g for g in report["groups"] if str(g["id"]) == raw), None)
    return found is not None, found


async def _by_group(request: Request, caller: Caller, report: dict[str, Any], tab: str) -> Response:
    """A report over meetings: every group in a line, or one group meeting by meeting."""
    known, group = _one_group(request, report)
    if not known:
        return await _render(request, "not_found.html", caller.lang, 404, staff=caller.staff)
    return await _render(
        request,
        f"backbone/{tab}.html",
        caller.lang,
        staff=caller.staff,
        no_groups=not report["groups"],
        report=report,
        group=group,
        tab=tab,
    )


@staff_page()
async def attendance_page(request: Request, caller: Caller) -> Response:
    return await _by_group(request, caller, await _attendance(request, caller.staff), "attendance")


@staff_page()
async def opener_page(request: Request, caller: Caller) -> Response:
    return await _by_group(request, caller, await _opener(request, caller.staff), "opener")


# --- exports ------------------------------------------------------------------------------------


def _translator(lang: str) -> Callable[[str], str]:
    def t(key: str) -> str:
        return i18n.translate(key, lang)

    return t


def _csv(body: AsyncIterator[str], filename: str) -> Response:
    async def encoded() -> AsyncIterator[bytes]:
        async for text in body:
            yield text.encode("utf-8")

    return StreamingResponse(
        encoded(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@staff_page()
async def commitments_csv(request: Request, caller: Caller) -> Response:
    staff, lang = caller.staff, caller.lang
    try:
        filters = parse_filters(request.query_params)
        day = await as_of(request, staff.network_id)
    except DomainError as refused:
        return json_error(refused, lang)
    t = _translator(lang)
    header = [
        "id", t("csv.text"), t("csv.status"), t("field.due"), t("csv.overdue"), t("csv.times_slipped"),
        t("csv.done_on_time"), t("field.owner"), t("field.organization"), t("csv.sector"),
        t("field.group"), t("field.strategy"), t("csv.made_at"), t("csv.made_on"),
    ]  # fmt: skip

    def line(r: dict[str, Any]) -> list[Any]:
        return [
            r["id"], r["text"], t(f"status.{r['status']}"), r["due"], t(f"csv.{str(r['overdue']).lower()}"),
            r["times_slipped"], t(f"csv.{str(r['done_on_time']).lower()}"), (r["owner"] or {}).get("name"),
            (r["organization"] or {}).get("name"),
            t(f"sector.{r['organization']['sector']}") if r["organization"] and r["organization"]["sector"] else None,
            r["group"]["name"], (r["strategy"] or {}).get("title"), (r["origin"] or {}).get("title"),
            (r["origin"] or {}).get("day"),
        ]  # fmt: skip

    async def body() -> AsyncIterator[str]:
        yield exports.csv_head(header)
        db = app_state(request).db
        async for batch in backbone.commitments_in_batches(db, _reach(staff), filters, day):
            yield exports.csv_lines(line(r) for r in batch)

    return _csv(body(), f"commitments-{day.isoformat()}.csv")


@staff_page()
async def attendance_csv(request: Request, caller: Caller) -> Response:
    lang = caller.lang
    groups = await _groups(request, caller.staff)
    t = _translator(lang)
    header = [t("field.group"), t("field.meeting"), t("csv.made_on"), t("field.name"),
              t("field.organization"), t("csv.sector"), t("csv.on_roster")]  # fmt: skip

    async def body() -> AsyncIterator[str]:
        yield exports.csv_head(header)
        async for rows in overview.attendance_batches(app_state(request).db, groups):
            yield exports.csv_lines(
                [*r[:5], t(f"sector.{r[5]}") if r[5] else None, t("csv.expected" if r[6] else "csv.guest")]
                for r in rows
            )  # fmt: skip

    return _csv(body(), "attendance.csv")


# --- calendar feeds -----------------------------------------------------------------------------


@staff_page()
async def feeds_page(request: Request, caller: Caller) -> Response:
    staff, lang = caller.staff, caller.lang
    groups = await _groups(request, staff)
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
    return await _render(
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


# --- JSON behind the pages ----------------------------------------------------------------------

api_carryover = _api(_carryover)
api_accountability = _api(_accountability)
api_attendance = _api(_attendance)
api_opener = _api(_opener)
api_history = _api(_history)
