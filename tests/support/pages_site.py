"""An in-process site on the live-server seed, with a signed-in facilitator's helpers."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.support.live_server import PASSWORD, Seeded, local_today


class Site:
    def __init__(self, client: TestClient, seeded: Seeded, db_url: str = "") -> None:
        self.client = client
        self.seeded = seeded
        self.db_url = db_url

    def csrf(self) -> str:
        token = self.client.cookies.get("fac_csrf")
        if not token:
            self.client.get("/login")
            token = self.client.cookies.get("fac_csrf")
        return str(token)

    def login(self) -> None:
        answer = self.client.post(
            "/login",
            data={"csrf": self.csrf(), "email": self.seeded.staff_email, "password": PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text

    def new_meeting(self, title: str = "פגישה") -> int:
        answer = self.client.post(
            "/meetings",
            data={
                "csrf": self.csrf(),
                "group_id": str(self.seeded.group),
                "title": title,
                "scheduled_on": local_today(),
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return int(answer.headers["location"].split("/")[2])

    def code_of(self, meeting_id: int) -> str:
        return str(self.client.get(f"/api/m/{meeting_id}/snapshot").json()["meeting"]["join_code"])

    def view_of(self, meeting_id: int) -> str:
        found = re.search(
            r"view=([A-Za-z0-9_-]+)", self.client.get(f"/m/{meeting_id}/console").text
        )
        assert found is not None
        return found.group(1)
