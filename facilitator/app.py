"""The Starlette application factory. Nothing is built at import time: ``create_app`` takes
its settings, and the lifespan opens (and closes) the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

from sqlalchemy import select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from facilitator import i18n
from facilitator.db import Database
from facilitator.db.models import Network
from facilitator.settings import Settings

WEB = Path(__file__).resolve().parent.parent / "web"


class State(TypedDict):
    db: Database
    settings: Settings
    templates: Jinja2Templates


def pick_language(request: Request, default: str) -> str:
    """``?lang=`` first, then the browser's preference, then the network's default."""
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in i18n.LANGUAGES:
            return code
    return default


async def healthz(request: Request) -> Response:
    db: Database = request.state.db
    try:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # the point of a health check: any failure is "unhealthy"
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def home(request: Request) -> Response:
    db: Database = request.state.db
    async with db.read() as session:
        network = await session.scalar(select(Network).order_by(Network.id).limit(1))
    lang = pick_language(request, network.default_language if network else i18n.DEFAULT_LANGUAGE)
    templates: Jinja2Templates = request.state.templates
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "lang": lang,
            "dir": i18n.direction(lang),
            "t": lambda key, **params: i18n.translate(key, lang, **params),
            "network": network,
        },
    )


def create_app(settings: Settings | None = None, database: Database | None = None) -> Starlette:
    """The app for ``settings`` (read from the environment when not given)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        db = database or Database(
            settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        templates = Jinja2Templates(directory=str(WEB / "templates"))
        try:
            yield {"db": db, "settings": settings, "templates": templates}
        finally:
            if database is None:
                await db.dispose()

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/", home)],
        lifespan=lifespan,
    )
