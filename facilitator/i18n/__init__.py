"""Message catalogs: Hebrew and English, one JSON file each, loaded once."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("he", "en")
DEFAULT_LANGUAGE = "he"
RTL_LANGUAGES = frozenset({"he"})


@cache
def catalog(lang: str) -> dict[str, str]:
    """The whole catalog of one language (cached: the files never change at run time)."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    text = resources.files(__package__).joinpath(f"{lang}.json").read_text(encoding="utf-8")
    data: dict[str, str] = json.loads(text)
    return data


# Parameters that hold a code (a stage, a field name) are shown by their own catalog entry.
_CODED_PARAMS = {
    "stage": "stage",
    "next": "stage",
    "action": "action",
    "role": "role",
    "field": "field",
}


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The message for ``key`` in ``lang`` with ``params`` filled in; the key itself if missing."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    template = catalog(lang).get(key) or catalog("en").get(key) or key
    shown = {
        name: catalog(lang).get(f"{_CODED_PARAMS[name]}.{value}", value)
        if name in _CODED_PARAMS and isinstance(value, str)
        else value
        for name, value in params.items()
    }
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):
        return template


def format_date(value: date | str | None, lang: str) -> str:
    """A date as people write it: "27 November 2026" / "27 בנובמבר 2026"."""
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return translate(
        "date.format", lang, day=day.day, month=translate(f"month.{day.month}", lang), year=day.year
    )


def direction(lang: str) -> str:
    """``rtl`` or ``ltr`` for a page in ``lang``."""
    return "rtl" if lang in RTL_LANGUAGES else "ltr"
