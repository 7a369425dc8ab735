"""The JSON API, described for people and tools (OpenAPI 3.1), served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitator import __version__
from facilitator.http import (
    admin_audit,
    admin_blockers,
    admin_groups,
    admin_network,
    admin_people,
    admin_strategies,
    admin_values,
    roster,
    setup,
)
from facilitator.http.openapi_parts import op as _op
from facilitator.http.openapi_parts import path_param as _path
from facilitator.http.openapi_parts import query_param as _query
from facilitator.http.openapi_parts import ref as _ref
from facilitator.live import messages

MEETING = _path("meeting_id", "the meeting")
PAGE = [
    _query("after", "a `next` cursor: the page after it"),
    _query("before", "a `previous` cursor: the page before it"),
]
FILTERS = [
    _query("group", "a group id", "integer"),
    _query("organization", "an organization id", "integer"),
    _query("owner", "a person id", "integer"),
    _query("strategy", "a strategy id", "integer"),
    _query("status", "open | overdue | done | dropped | slipped"),
    _query("due_from", "YYYY-MM-DD"),
    _query("due_to", "YYYY-MM-DD"),
    _query("as_of", "YYYY-MM-DD: figures as of this day (default: today where the network meets)"),
]
STAFF = "signed-in staff (session cookie); a facilitator sees the groups they look after, backbone staff all"

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Facilitator API",
        "version": __version__,
        "description": "Everything the pages do. Live updates travel over the WebSocket "
        "described in docs/protocol.md; commands sent here are the same messages.",
    },
    "paths": {
        "/api/join": {"post": _op("A phone joins a meeting by its code (202: it named a known person no phone holds, and waits with its token for the facilitator to accept; 429: join.busy, joins by name keep a pace per address and meeting, try again after Retry-After seconds; or join.locked, this address guessed too many codes)", "anyone with the code (rate-limited)", body="JoinRequest")},
        "/api/join/{code}/suggest": {"get": _op("What a joining phone is offered as it types: up to 8 of the network's organizations whose spelling holds q, and the people of the chosen organization who came to this group's meetings or own its commitments, narrowed by name (names only)", "anyone with the code of an open meeting (rate-limited)", params=[{**_path("code", "the meeting's join code"), "schema": {"type": "string"}}, {**_query("q", "the organization typed so far"), "schema": {"type": "string", "maxLength": 200}}, {**_query("organization", "the organization chosen: its people known to this group are listed"), "schema": {"type": "string", "maxLength": 200}}, {**_query("name", "the name typed so far: narrows the people"), "schema": {"type": "string", "maxLength": 120}}])},
        "/api/m/{meeting_id}/snapshot": {"get": _op("The whole meeting", "staff, a participant token (Bearer) of someone who joined, or ?view=", params=[MEETING, _query("view", "the projector link token")])},
        "/api/m/{meeting_id}/events": {"get": _op("Events since a sequence number", "as for the snapshot", params=[MEETING, _query("after", "the last sequence number seen", "integer")], answer={"type": "object", "properties": {"events": {"type": "array", "items": {"anyOf": [_ref("Event"), _ref("Tally")]}}}})},
        "/api/m/{meeting_id}/commands": {"post": _op("One command, as on the socket", "staff with the X-CSRF-Token header, or a participant token", body="Command", params=[MEETING], answer=_ref("Ack"))},
        "/api/m/{meeting_id}/names": {"get": _op("Which phone holds which name: the people present (or, with q, the network's people by name or organization), whether a phone holds each name, since when, and whether it is connected; never a token", "the meeting's network staff", params=[MEETING, {**_query("q", "a name or organization to look for"), "schema": {"type": "string", "maxLength": 120}}])},
        "/api/m/{meeting_id}/let-in": {"post": _op("Let in every network held at this meeting's door (locked out for guessing codes, then typing this meeting's): answers {let_in: how many}", "the meeting's staff, with the X-CSRF-Token header", params=[MEETING], answer={"type": "object", "properties": {"let_in": {"type": "integer", "minimum": 0}}})},
        "/api/live/stats": {"get": _op("How the live rooms of every process sharing the hub hold: processes, rooms, sockets, recent fan-out times (the slowest process's), phones dropped for reading nothing, group commits", "signed-in staff")},
        "/api/backbone/carryover": {"get": _op("Carry-over across groups with its figures: 50 commitments a page, `next` and `previous` the cursors of the pages around it", STAFF, params=[*FILTERS, *PAGE])},
        "/api/backbone/accountability": {"get": _op("Accountability by organization or group", STAFF, params=[_query("by", "organization | group"), FILTERS[-1]])},
        "/api/backbone/attendance": {"get": _op("Attendance and representation per group", STAFF)},
        "/api/backbone/opener": {"get": _op("Opener trends per group", STAFF)},
        "/api/commitments/{commitment_id}/history": {"get": _op("One commitment's journey", STAFF, params=[_path("commitment_id", "the commitment")])},
        "/api/openapi.json": {"get": _op("This description", "anyone")},
    },
    "components": {
        "schemas": {
            # The JSON API's refusal ("Error" is the socket's message of that name).
            "ApiError": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "key": {"type": "string"},
                            "message": {"type": "string", "description": "in the caller's language"},
                            "details": {"type": "array", "items": {"type": "string"}},
                        },
                    }
                },
            },
        },
        "responses": {
            "Error": {"description": "Refused, with a message key and a readable message", "content": {"application/json": {"schema": _ref("ApiError")}}}
        },
    },
}  # fmt: skip
# Every live message, from the structures that decode and encode it.
(_command, _client, _server, _join), _messages = msgspec.json.schema_components(
    [messages.AnyCommand, messages.ClientMessage, messages.ServerMessage, messages.JoinRequest],
    ref_template="#/components/schemas/{name}",
)
_schemas: dict[str, Any] = SPEC["components"]["schemas"]
if _schemas.keys() & _messages.keys():
    raise RuntimeError(f"a message's name is taken: {_schemas.keys() & _messages.keys()}")
_schemas.update(_messages)
_schemas["Command"] = {
    **_command,
    "description": "One command, as on the socket (docs/protocol.md).",
}
_schemas["ClientMessage"] = {**_client, "description": "What a screen sends on the socket."}
_schemas["ServerMessage"] = {**_server, "description": "What the server sends on the socket."}
# Each administration module describes its own endpoints beside its routes.
for _module in (
    setup,
    admin_network,
    admin_people,
    admin_groups,
    admin_strategies,
    admin_blockers,
    admin_values,
    admin_audit,
    roster,
):
    SPEC["paths"].update(_module.OPENAPI_PATHS)


async def schema(request: Request) -> Response:
    return JSONResponse(SPEC)
