"""What a wheel carries, and where the program keeps its data (tests/live/test_wheel.py installs
a real wheel and serves from it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from facilitator import paths
from facilitator.cli import main
from facilitator.db.database import sqlite_file
from facilitator.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_folder_is_in_the_wheel() -> None:
    """The package list in pyproject.toml is written out (mapped folders cannot be found): a new
    module folder, template folder or migrations folder left off it would be left out of a
    wheel, or half of it."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {
        "facilitator.web": "web",
        "facilitator.migrations": "migrations",
    }
    on_disk = {
        ".".join(folder.relative_to(ROOT).parts)
        for folder in (ROOT / "facilitator").rglob("*")
        if (folder / "__init__.py").is_file() and "__pycache__" not in folder.parts
    } | {"facilitator"}
    for top in ("web", "migrations"):
        for folder in [ROOT / top, *(ROOT / top).rglob("*")]:
            if folder.is_dir() and "__pycache__" not in folder.parts:
                on_disk.add(".".join(("facilitator", *folder.relative_to(ROOT).parts)))
    assert set(setuptools["packages"]) == on_disk


def test_a_checkout_uses_its_own_folders() -> None:
    assert paths.from_checkout()  # the tests run from the checkout (an editable install)
    assert paths.web() == ROOT / "web"
    assert paths.migrations() == ROOT / "migrations"
    assert paths.default_data_dir() == Path("var")


def test_the_user_data_folder_of_each_platform() -> None:
    home = Path("/home/dana")
    assert paths.user_data_dir({}, "linux", home) == home / ".local/share/facilitator"
    assert paths.user_data_dir({"XDG_DATA_HOME": "/data/x"}, "linux", home) == Path(
        "/data/x/facilitator"
    )
    # The XDG spec: a relative XDG_DATA_HOME is invalid, and ignored.
    assert paths.user_data_dir({"XDG_DATA_HOME": "rel"}, "linux", home) == (
        home / ".local/share/facilitator"
    )
    assert paths.user_data_dir({}, "darwin", home) == (
        home / "Library/Application Support/facilitator"
    )
    assert paths.user_data_dir({"LOCALAPPDATA": "/c/Local"}, "win32", home) == Path(
        "/c/Local/facilitator"
    )


def test_the_database_follows_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("FACILITATOR_DATA_DIR", raising=False)
    default = Settings.from_env(env_file=None)
    assert default.data_dir == Path("var")
    assert default.database_url == "sqlite+aiosqlite:///var/facilitator.db"  # as make run had it

    folder = tmp_path / "a folder 100%"  # a space and a % survive the URL
    monkeypatch.setenv("FACILITATOR_DATA_DIR", str(folder))
    settings = Settings.from_env(env_file=None)
    assert settings.data_dir == folder
    assert sqlite_file(settings.database_url) == folder / "facilitator.db"

    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///elsewhere.db")
    assert Settings.from_env(env_file=None).database_url == "sqlite+aiosqlite:///elsewhere.db"


def test_the_demo_writes_into_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The database and the demo's sign-ins are created in FACILITATOR_DATA_DIR, folder and
    all, and nothing lands in the working directory."""
    work, data = tmp_path / "work", tmp_path / "data" / "deeper"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("FACILITATOR_DATA_DIR", str(data))
    assert main(["demo"]) == 0
    assert (data / "facilitator.db").is_file()
    assert f"kept in {data / 'demo-logins.txt'}" in capsys.readouterr().out
    assert list(work.iterdir()) == []
