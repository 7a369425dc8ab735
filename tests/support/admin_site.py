"""An in-process site with a small network to administer, signed in as its staff."""

from __future__ import annotations

from starlette.testclient import TestClient

from facilitator.db import Database
from facilitator.services import (
    network,
    users,
)

PASSWORD = "a long test password"


class Site:
    def __init__(self, client: TestClient, ids: dict[str, int]) -> None:
        self.client = client
        self.ids = ids

    def csrf(self) -> str:
        if not self.client.cookies.get("fac_csrf"):
            self.client.get("/login")
        return str(self.client.cookies.get("fac_csrf"))

    def login(self, email: str) -> None:
        self.client.cookies.clear()
        answer = self.client.post(
            "/login",
            data={"csrf": self.csrf(), "email": email, "password": PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text


async def seed_admin_network(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        nid = await network.create_network(db, "רשת ניהול")
        gov = await network.add_organization(db, nid, "עיריית חיפה", "government")
        ngo = await network.add_organization(db, nid, "עמותת גשר", "nonprofit")
        group = await network.add_group(db, nid, "קבוצת עבודה", "working_group")
        ids = {
            "network": nid, "gov": gov, "ngo": ngo, "group": group,
            "ruth": await network.add_person(db, nid, "רות כהן", gov),
            "ruth2": await network.add_person(db, nid, "רות  כהן", ngo),
            "dan": await network.add_person(db, nid, "Dan <b>Levi</b>", ngo),
        }  # fmt: skip
        await users.create_user(db, nid, "bb@example.org", PASSWORD, name="שדרה", role="backbone")
        await users.create_user(
            db, nid, "fac@example.org", PASSWORD, name="מנחה", role="facilitator"
        )
        return ids
    finally:
        await db.dispose()
