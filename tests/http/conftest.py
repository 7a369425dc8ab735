"""Fixtures of the in-process HTTP tests: a seeded site, and a small network to administer."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from facilitator.app import create_app
from facilitator.settings import Settings
from tests.support.admin_site import Site as AdminSite
from tests.support.admin_site import seed_admin_network
from tests.support.live_server import seed
from tests.support.pages_site import Site
from tests.support.world import POSTGRES


@pytest.fixture
def site(migrated_template: str, tmp_path: Path) -> Iterator[Site]:
    db_file = tmp_path / "site.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    seeded = asyncio.run(seed(url))
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=url)),
        base_url="http://testserver",
    ) as client:
        yield Site(client, seeded, url)


@pytest.fixture
def admin_site(migrated_template: str, tmp_path: Path) -> Iterator[AdminSite]:
    if POSTGRES:
        pytest.skip("runs on its own SQLite file")
    db_file = tmp_path / "admin.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"
    ids = asyncio.run(seed_admin_network(url))
    with TestClient(
        create_app(Settings(allowed_hosts=("testserver",), database_url=url)),
        base_url="http://testserver",
    ) as client:
        yield AdminSite(client, ids)
