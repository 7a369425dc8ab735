"""Where the program's own files are (templates, static files, migrations), and where it keeps
its data by default.

An installed wheel carries ``web/`` and ``migrations/`` inside the package (pyproject.toml maps
them there); a source checkout, an editable install included, has them at its top, beside
``pyproject.toml``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
NAME = "facilitator"


def from_checkout() -> bool:
    """Running from a source checkout (an editable install too), not from an installed wheel."""
    return not (PACKAGE / "web").is_dir() and (CHECKOUT / "pyproject.toml").is_file()


def _own(name: str) -> Path:
    folder = CHECKOUT / name if from_checkout() else PACKAGE / name
    if not folder.is_dir():
        raise RuntimeError(f"{folder} is missing: this copy of {NAME} is incomplete, reinstall it")
    return folder


def web() -> Path:
    """The templates (``templates/``) and the static files (``static/``)."""
    return _own("web")


def migrations() -> Path:
    """Alembic's script folder: ``env.py``, ``script.py.mako`` and ``versions/``."""
    return _own("migrations")


def user_data_dir(
    env: Mapping[str, str] = os.environ, platform: str = sys.platform, home: Path | None = None
) -> Path:
    """This platform's folder for a user's application data, with ours inside it."""
    home = home if home is not None else Path.home()
    if platform == "darwin":
        return home / "Library" / "Application Support" / NAME
    if platform == "win32":
        local = env.get("LOCALAPPDATA", "")
        return (Path(local) if local else home / "AppData" / "Local") / NAME
    # The XDG base directory spec: a relative XDG_DATA_HOME is invalid and is ignored.
    xdg = env.get("XDG_DATA_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else home / ".local" / "share") / NAME


def default_data_dir() -> Path:
    """``var`` in the working directory when running from a checkout (``make run``), else the
    user's data folder: an installed program writes nothing where it happens to be started."""
    return Path("var") if from_checkout() else user_data_dir()


def sqlite_url(path: Path) -> str:
    """The database URL of a SQLite file (quoted: SQLAlchemy reads ``%`` and ``?`` in it)."""
    return f"sqlite+aiosqlite:///{quote(path.as_posix(), safe='/:')}"
