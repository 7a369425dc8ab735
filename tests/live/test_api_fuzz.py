"""Generated attacks on every JSON API (Schemathesis, from the server's own
``/api/openapi.json``): whatever the input — as a stranger, a phone or a facilitator — no answer
is a server error, against a real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from facilitator.http.openapi import SPEC
from tests.support.live_server import Server, join_phone, new_meeting, staff_client

pytestmark = pytest.mark.slow


# The very document the server serves at /api/openapi.json (a test checks they are one).
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(SPEC)))


@pytest.fixture(scope="module")
def callers(server: Server) -> dict[str, dict[str, str]]:
    return asyncio.run(_callers(server))


async def _callers(server: Server) -> dict[str, dict[str, str]]:
    staff = await staff_client(server)
    meeting_id, code, view = await new_meeting(server, staff, "פאזינג")
    token, _person = await join_phone(server, code, "מפזז")
    cookies = "; ".join(f"{k}={v}" for k, v in staff.cookies.items())
    csrf = staff.cookies.get("fac_csrf", "")
    await staff.aclose()
    return {
        "meeting": {"id": str(meeting_id), "view": view, "code": code},
        "stranger": {},
        "phone": {"authorization": f"Bearer {token}"},
        "staff": {"cookie": cookies, "x-csrf-token": csrf},
    }


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(
    case: Any, server: Server, callers: dict[str, dict[str, str]]
) -> None:
    # Aimed at a real, open meeting, so that inputs get past "no such meeting" to the handlers.
    meeting = callers["meeting"]
    if case.path_parameters and "meeting_id" in case.path_parameters:
        case.path_parameters["meeting_id"] = int(meeting["id"])
    # And with the meeting's real join code, so the join, suggest and roster handlers are
    # reached with whatever else was generated, not refused at "no such code".
    if case.path_parameters and "code" in case.path_parameters:
        case.path_parameters["code"] = meeting["code"]
    if isinstance(case.body, dict) and "code" in case.body:
        case.body["code"] = meeting["code"]
    if case.query and "view" in case.query:
        case.query["view"] = meeting["view"]
    for who, headers in callers.items():
        if who == "meeting":
            continue
        response = case.call(base_url=server.base, headers=headers)
        assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
