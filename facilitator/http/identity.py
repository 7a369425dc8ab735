"""Who is at the other end of a socket or API call, decided from server state only: the staff
session cookie, a participant token issued at join, or the meeting's projector view token.
Nothing a message says about its own role or person is believed."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from facilitator.flow import Role
from facilitator.http.common import app_state, current_staff
from facilitator.services import overview, state
from facilitator.services.actors import Actor
from facilitator.services.scope import reaches_meeting
from facilitator.services.views import JSON

FACES = ("console", "projector", "phone")

# Messages a second and at once, per sender across all its sockets and the HTTP API: phones a
# modest budget, the console clicks faster, the wall sends next to nothing. And how many
# sockets a sender may hold open (a phone's tabs, and a dropped one the server has not noticed).
BUDGET = {Role.PARTICIPANT: (2.0, 20.0), Role.PROJECTOR: (1.0, 10.0)}
STAFF_BUDGET = (10.0, 60.0)
SOCKETS = {Role.PARTICIPANT: 5, Role.PROJECTOR: 30}  # a meeting's walls, all screens together
STAFF_SOCKETS = 20


def sender_of(who: Who, meeting_id: int) -> str:
    """Whose budget a message spends: the phone's person, the staff session, the meeting's wall."""
    if who.role is Role.PARTICIPANT:
        return f"person:{who.actor.person_id}"
    if who.role is Role.PROJECTOR:
        return f"wall:{meeting_id}"
    return f"session:{who.session_id}" if who.session_id else f"user:{who.actor.user_id}"


def budget_of(who: Who) -> tuple[float, float]:
    return BUDGET.get(who.role, STAFF_BUDGET)


def sockets_of(who: Who) -> int:
    return SOCKETS.get(who.role, STAFF_SOCKETS)


@dataclass(frozen=True)
class Who:
    role: Role
    actor: Actor
    network_id: int
    session_id: int | None = None
    language: str | None = None
    #: A phone's own view, read with its identity (see ``state.me``).
    me: JSON | None = None


async def who_is(
    connection: HTTPConnection,
    meeting_id: int,
    face: str,
    *,
    token: str | None = None,
    view: str | None = None,
) -> Who | None:
    """The sender for ``face`` of this meeting, or ``None`` if nothing proves who they are."""
    db = app_state(connection).db
    if face == "phone":
        arrival = await state.phone_arrival(db, meeting_id, token)
        if arrival is None:
            return None
        network, person, me = arrival
        return Who(Role.PARTICIPANT, Actor.participant(person), network, me=me)
    found = await overview.meeting_access(db, meeting_id)
    if found is None or face not in FACES:
        return None
    network_id, view_token, _code = found
    staff = await current_staff(connection)
    if staff is not None and not await reaches_meeting(
        db, staff.network_id, staff.user_id, staff.role, meeting_id
    ):
        staff = None
    if face == "console":
        if staff is None:
            return None
        return Who(staff.role, staff.actor, network_id, staff.session_id, staff.language)
    if face == "projector":
        if staff is not None:
            return Who(Role.PROJECTOR, Actor.projector(), network_id, staff.session_id)
        if view and view_token and view == view_token:
            return Who(Role.PROJECTOR, Actor.projector(), network_id)
        return None
    return None


def bearer(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None
