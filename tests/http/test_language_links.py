"""The language switch on every page keeps the page as it is (filters, a view link) and only
changes the language."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.settings import Settings
from tests.support.live_server import PASSWORD, Seeded, local_today, seed
from tests.support.world import POSTGRES

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite file")


@pytest.fixture
def client(migrated_template: str, tmp_path: Path) -> Iterator[tuple[TestClient, Seeded]]:
    db_file = tmp_path / "site.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    seeded = asyncio.run(seed(url))
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=url))
    ) as client:
        yield client, seeded


def switch(page: str) -> dict[str, list[tuple[str, str]]]:
    """Each language link of a page, as its query's (name, value) pairs."""
    links = re.findall(r'<a href="\?([^"]*)" lang="(he|en)"', page)
    assert {lang for _, lang in links} == {"he", "en"}
    return {lang: parse_qsl(html.unescape(query)) for query, lang in links}


def sign_in(client: TestClient, seeded: Seeded) -> None:
    client.get("/login")
    answer = client.post(
        "/login",
        data={
            "csrf": client.cookies["fac_csrf"],
            "email": seeded.staff_email,
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_a_filtered_backbone_page_keeps_its_filters(client: tuple[TestClient, Seeded]) -> None:
    web, seeded = client
    sign_in(web, seeded)
    page = web.get(f"/backbone?status=open&group={seeded.group}&lang=he&owner=")
    assert page.status_code == 200
    links = switch(page.text)
    assert links["en"] == [("status", "open"), ("group", str(seeded.group)), ("lang", "en")]
    assert links["he"] == [("status", "open"), ("group", str(seeded.group)), ("lang", "he")]


def test_odd_query_text_stays_inert_in_the_link(client: tuple[TestClient, Seeded]) -> None:
    web, seeded = client
    sign_in(web, seeded)
    page = web.get("/", params={"note": '"><script>x</script>', "error": "Call 555-0100"}).text
    assert "<script>x" not in page
    assert "555-0100" not in page  # an error is shown by its key only, and never carried on
    assert switch(page)["en"] == [("note", '"><script>x</script>'), ("lang", "en")]


def test_the_wall_keeps_its_view_link_and_a_phone_its_page(
    client: tuple[TestClient, Seeded],
) -> None:
    web, seeded = client
    sign_in(web, seeded)
    made = web.post(
        "/meetings",
        data={
            "csrf": web.cookies["fac_csrf"],
            "group_id": str(seeded.group),
            "title": "פגישה",
            "scheduled_on": local_today(),
        },
        follow_redirects=False,
    )
    meeting = int(made.headers["location"].split("/")[2])
    console = web.get(f"/m/{meeting}/console").text
    view = re.search(r"view=([A-Za-z0-9_-]+)", console)
    assert view is not None
    code = web.get(f"/api/m/{meeting}/snapshot").json()["meeting"]["join_code"]
    web.post("/logout", data={"csrf": web.cookies["fac_csrf"]})
    wall = web.get(f"/m/{meeting}/projector", params={"view": view.group(1), "lang": "en"})
    assert wall.status_code == 200
    assert switch(wall.text)["he"] == [("view", view.group(1)), ("lang", "he")]
    phone = web.get(f"/j/{code}", params={"lang": "he"})
    assert switch(phone.text)["en"] == [("lang", "en")]
