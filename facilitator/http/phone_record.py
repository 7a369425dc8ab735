"""What a phone keeps after the close: the meeting's record and a calendar of its person's own
open commitments.

Both are authorised by the phone's participant token, posted in the form body: never in an
address, which a person might share or a log might keep, because the token speaks for them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from facilitator import exports
from facilitator.db import Database
from facilitator.flow import Stage
from facilitator.http.common import app_state, language
from facilitator.http.security import origin_allowed
from facilitator.services import access, feeds, overview, state
from facilitator.services.network import default_language

MAX_FIELDS = 4


async def posted_token(request: Request) -> str | None:
    """The token a phone posted from this site, or ``None``."""
    if not origin_allowed(request, app_state(request).settings.public_url):
        return None
    async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
        token = form.get("token")
    return token if access.usable(token) else None


async def record_reader(request: Request) -> tuple[str, int] | None:
    """A phone's language and meeting when its token is of someone who attended this meeting
    and the meeting is closed; ``None`` otherwise (the record is the closed meeting's)."""
    db = app_state(request).db
    meeting_id: int = request.path_params["meeting_id"]
    arrival = await state.phone_arrival(db, meeting_id, await posted_token(request))
    if arrival is None or await overview.stage_of(db, meeting_id) is not Stage.CLOSED:
        return None
    return language(request, await default_language(db)), meeting_id


async def my_commitments_ics(request: Request) -> Response:
    """The phone's own open commitments, in every group, as a calendar file to keep."""
    db = app_state(request).db
    person_id = await access.person_for(db, await posted_token(request))
    if person_id is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return await own_calendar(db, person_id, "attachment")


async def own_calendar(db: Database, person_id: int, disposition: str) -> Response:
    """A person's open commitments in every group, as a calendar file (never cached: it was
    reached by a secret of theirs)."""
    name, events = await feeds.person_events(db, person_id)
    return Response(
        exports.to_ics(name, events, db.now()),
        media_type="text/calendar; charset=utf-8",
        headers={
            "content-disposition": f'{disposition}; filename="my-commitments.ics"',
            "cache-control": "no-store",
        },
    )
