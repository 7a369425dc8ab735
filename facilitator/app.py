"""The Starlette application factory. Nothing is built at import time: ``create_app`` takes
its settings, and the lifespan opens (and closes) the database and the live rooms."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict
from urllib.parse import urlsplit

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from facilitator import paths
from facilitator.db import Database
from facilitator.errors import NotFound
from facilitator.http import (
    admin_audit,
    admin_blockers,
    admin_groups,
    admin_import,
    admin_network,
    admin_people,
    admin_strategies,
    admin_values,
    api,
    auth,
    backbone,
    join_door,
    mail_pages,
    openapi,
    pages,
    personal_page,
    phone_record,
    roster,
    setup,
)
from facilitator.http.common import (
    REFUSAL_KEY,
    AppState,
    app_state,
    current_staff,
    json_error,
    language,
    render,
)
from facilitator.http.join_guard import JoinGuard
from facilitator.http.join_limits import limits_for
from facilitator.http.security import (
    BodyLimit,
    HostGuard,
    SecurityHeaders,
    SenderBudgets,
    UntrustedForwarding,
)
from facilitator.http.socket import ServerHooks, live_socket
from facilitator.live.hub import hub_for
from facilitator.live.rooms import Live
from facilitator.logs import RequestIds
from facilitator.mail.bounces import Reader
from facilitator.mail.compose import Outgoing
from facilitator.mail.imap import Mailbox
from facilitator.mail.remind import Scheduler
from facilitator.mail.smtp import SmtpServer
from facilitator.services.network import default_language
from facilitator.services.server_secrets import shared_key
from facilitator.settings import Settings, parse_pace


async def not_found(request: Request, _error: Exception) -> Response:
    """An address nothing answers: a page in the person's language with a way home (the API
    answers JSON), never the framework's bare English "Not Found"."""
    lang = language(request, await default_language(app_state(request).db))
    if request.url.path.startswith("/api/"):
        return json_error(NotFound("page.not_found"), lang)
    staff = await current_staff(request)
    return render(request, "not_found.html", language(request, lang, staff), 404, staff=staff)


class State(TypedDict):
    app: AppState


async def healthz(request: Request) -> Response:
    try:
        async with app_state(request).db.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # the point of a health check: any failure is "unhealthy"
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


ROUTES = [
    Route("/healthz", healthz),
    Route("/", pages.home),
    Route("/login", auth.login_page, methods=["GET"]),
    Route("/login", auth.login, methods=["POST"]),
    Route("/logout", auth.logout, methods=["POST"]),
    Route("/meetings", pages.new_meeting, methods=["POST"]),
    Route("/m/{meeting_id:id}/edit", pages.edit_meeting, methods=["GET"]),
    Route("/m/{meeting_id:id}/edit", pages.meeting_change, methods=["POST"]),
    Route("/m/{meeting_id:id}/agenda", pages.agenda_change, methods=["POST"]),
    Route("/m/{meeting_id:id}/agenda/{item_id:id}", pages.agenda_change, methods=["POST"]),
    Route("/m/{meeting_id:id}/agenda/{item_id:id}/remove", pages.agenda_change, methods=["POST"]),
    Route("/m/{meeting_id:id}/agenda/{item_id:id}/move", pages.agenda_move, methods=["POST"]),
    Route("/m/{meeting_id:id}/console", pages.console),
    Route("/m/{meeting_id:id}/projector", pages.projector),
    Route("/join", pages.join_page, methods=["GET", "POST"]),
    Route("/j/{code:str}", pages.phone),
    Route("/p/{meeting_id:id}", pages.phone_by_id),
    Route("/p/commitments.ics", phone_record.my_commitments_ics, methods=["POST"]),
    Route("/p/me", personal_page.from_phone, methods=["POST"]),
    Route("/me/{token:str}", personal_page.me),
    Route("/me/{token:str}/calendar.ics", personal_page.calendar),
    Route("/me/{token:str}/report", personal_page.report, methods=["POST"]),
    Route("/me/{token:str}/rotate", personal_page.rotate, methods=["POST"]),
    Route("/mail/off/{token:str}", mail_pages.ask, methods=["GET"]),
    Route("/mail/off/{token:str}", mail_pages.stop, methods=["POST"]),
    Route("/api/join", api.join, methods=["POST"]),
    Route("/api/join/{code:str}/suggest", roster.suggest),
    Route("/api/join/{code:str}/roster", roster.join_roster),
    Route("/api/live/stats", api.live_stats),
    Route("/api/m/{meeting_id:id}/snapshot", api.snapshot),
    Route("/api/m/{meeting_id:id}/events", api.events),
    Route("/api/m/{meeting_id:id}/commands", api.command, methods=["POST"]),
    Route("/api/m/{meeting_id:id}/names", roster.holders),
    Route("/api/m/{meeting_id:id}/let-in", join_door.let_in, methods=["POST"]),
    Route("/api/m/{meeting_id:id}/roster", roster.attendance),
    Route("/m/{meeting_id:id}/agenda", backbone.agenda_print, methods=["GET"]),
    Route("/m/{meeting_id:id}/summary", backbone.summary_print, methods=["GET", "POST"]),
    Route("/backbone", backbone.carryover_page),
    Route("/backbone/commitments/{commitment_id:id}", backbone.history_page),
    Route("/backbone/accountability", backbone.accountability_page),
    Route("/backbone/attendance", backbone.attendance_page),
    Route("/backbone/opener", backbone.opener_page),
    Route("/backbone/commitments.csv", backbone.commitments_csv),
    Route("/backbone/attendance.csv", backbone.attendance_csv),
    Route("/backbone/feeds", backbone.feeds_page, methods=["GET", "POST"]),
    Route("/feeds/{token:str}.ics", backbone.feed_ics),
    Route("/api/backbone/carryover", backbone.api_carryover),
    Route("/api/backbone/accountability", backbone.api_accountability),
    Route("/api/backbone/attendance", backbone.api_attendance),
    Route("/api/backbone/opener", backbone.api_opener),
    Route("/api/commitments/{commitment_id:id}/history", backbone.api_history),
    Route("/api/openapi.json", openapi.schema),
    *setup.ROUTES,
    *admin_network.ROUTES,
    *admin_people.ROUTES,
    *admin_import.ROUTES,
    *admin_groups.ROUTES,
    *admin_strategies.ROUTES,
    *admin_blockers.ROUTES,
    *admin_values.ROUTES,
    *admin_audit.ROUTES,
    WebSocketRoute("/ws/m/{meeting_id:id}", live_socket),
    Mount("/static", StaticFiles(directory=str(paths.web() / "static")), name="static"),
]


def served_hosts(settings: Settings) -> tuple[str, ...]:
    """The host names configured for this server (IP addresses are always served): none means
    no name was configured, and any is answered (a laptop in a venue, say)."""
    public = urlsplit(settings.public_url).hostname if settings.public_url else None
    if public is None or _is_address(public):
        return settings.allowed_hosts
    return (*settings.allowed_hosts, public)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def join_guard_for(settings: Settings) -> JoinGuard:
    address_burst, address_rate = parse_pace(settings.name_joins_per_address)
    meeting_burst, meeting_rate = parse_pace(settings.name_joins_per_meeting)
    return JoinGuard(
        address_burst=address_burst,
        address_rate=address_rate,
        meeting_burst=meeting_burst,
        meeting_rate=meeting_rate,
    )


def mail_scheduler(settings: Settings, db: Database) -> Scheduler | None:
    """Mail rounds in this process, when there is a server to send through and cron was not
    chosen instead (``FACILITATOR_SCHEDULER=off``)."""
    if not settings.smtp_url or settings.scheduler == "off":
        return None
    SmtpServer.from_url(settings.smtp_url)  # a wrong address stops the start, with the reason
    if not settings.mail_from:
        raise ValueError("FACILITATOR_SMTP_URL is set but FACILITATOR_MAIL_FROM is not")
    out = Outgoing(
        settings.public_url, settings.mail_from,
        bounce_address=settings.bounce_address, lan_url=settings.lan_url,
    )  # fmt: skip
    reader = (
        Reader(Mailbox.from_url(settings.bounce_imap_url)) if settings.bounce_imap_url else None
    )
    return Scheduler(db, settings.smtp_url, out, reader)


def create_app(settings: Settings | None = None, database: Database | None = None) -> Starlette:
    """The app for ``settings`` (read from the environment when not given)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        db = database or Database(
            settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        live = Live(hub_for(settings.broadcast_url), db)
        limits = limits_for(settings.broadcast_url, join_guard_for(settings))
        state = AppState(
            db=db,
            settings=settings,
            templates=Jinja2Templates(directory=str(paths.web() / "templates")),
            live=live,
            login_limiter=limits.login,
            join_guard=limits.door,
            suggest_limiter=limits.suggest,
            budgets=SenderBudgets(),
            mail=mail_scheduler(settings, db),
            refusal_key=await shared_key(db, REFUSAL_KEY),
        )
        live.held_at = state.join_guard.held
        await live.start()
        if state.mail is not None:
            live.mail_written = state.mail.wake
            state.mail.start()
        try:
            yield {"app": state}
        finally:
            if state.mail is not None:
                await state.mail.stop()
            await live.close()
            await limits.close()
            if database is None:
                await db.dispose()

    return Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        middleware=[
            # ServerHooks first: it must see uvicorn's own send, which RequestIds wraps.
            Middleware(ServerHooks),
            Middleware(RequestIds),  # every line of a request names it
            Middleware(HostGuard, allowed=served_hosts(settings)),
            *([] if settings.trusted_proxies else [Middleware(UntrustedForwarding)]),
            Middleware(SecurityHeaders, https=settings.https),
            Middleware(BodyLimit),
        ],
        exception_handlers={404: not_found},
    )
