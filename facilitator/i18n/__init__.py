"""Message catalogs: Hebrew and English, one JSON file each, loaded once."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

from babel.core import Locale
from babel.lists import format_list
from markupsafe import Markup, escape

LANGUAGES = ("he", "en")
DEFAULT_LANGUAGE = "he"
RTL_LANGUAGES = frozenset({"he"})

# An entry is a message, or — when it holds a number of things — one message per CLDR plural
# category, chosen by its ``count`` parameter: {"one": ..., "two": ..., "other": ...}. The
# browser's translator (web/static/js/live.js) reads the same entries with Intl.PluralRules.
# Hebrew has one (1), two (2) and other (0, 3, 11, 20, 21, 100 ...): so say Babel 2.19 (CLDR 49),
# Node 20 (CLDR 48) and Chromium 156. CLDR before 42 also had "many" (20, 30 ... 100) for Hebrew;
# no catalog entry uses it, so an older engine still lands on "other" there.
Entry = str | dict[str, str]


@cache
def catalog(lang: str) -> dict[str, Entry]:
    """The whole catalog of one language (cached: the files never change at run time)."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    text = resources.files(__package__).joinpath(f"{lang}.json").read_text(encoding="utf-8")
    data: dict[str, Entry] = json.loads(text)
    return data


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_category(count: Any, lang: str) -> str:
    """The CLDR plural category of ``count`` in ``lang``: one, two or other (zero/few/many elsewhere)."""
    try:
        number = abs(int(count))
    except (TypeError, ValueError):
        return "other"
    category: str = _locale(lang).plural_form(number)
    return category


def _message(entry: Entry, lang: str, count: Any) -> str:
    if isinstance(entry, str):
        return entry
    return entry.get(plural_category(count, lang)) or entry["other"]


# Parameters that hold a code (a stage, a field name) are shown by their own catalog entry.
_CODED_PARAMS = {
    "stage": "stage",
    "next": "stage",
    "action": "action",
    "role": "role",
    "field": "field",
}


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# The parameters that hold a day (messages carry days as ISO text, so they travel as JSON too).
# Only these: a name or an organization that merely looks like a date is shown as typed.
_DAY_PARAMS = frozenset({"date", "day", "old"})


def _shown(name: str, value: Any, lang: str) -> Any:
    """A parameter as a person reads it: a code by its catalog entry, a day as people write it."""
    if not isinstance(value, str):
        return value
    if name in _CODED_PARAMS:
        return _message(catalog(lang).get(f"{_CODED_PARAMS[name]}.{value}", value), lang, None)
    if name in _DAY_PARAMS and _ISO_DAY.fullmatch(value):
        try:
            return format_date(value, lang)
        except ValueError:  # "2026-99-99": not a day after all
            return value
    return value


def _parts(key: str, lang: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The message to fill (its plural form chosen) and its parameters as people read them."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    source = lang if key in catalog(lang) else "en"
    template = _message(catalog(source).get(key) or key, source, params.get("count"))
    return template, {name: _shown(name, value, lang) for name, value in params.items()}


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The message for ``key`` in ``lang`` with ``params`` filled in; the key itself if missing."""
    template, shown = _parts(key, lang, params)
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):
        return template


def translate_markup(key: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> Markup:
    """``translate`` for an HTML page: the message and plain parameters escaped, a parameter that
    is markup already (user text in its own ``<bdi>``) kept, so that a message can hold it where
    the language puts it ("נקבעה ב{title}")."""
    template, shown = _parts(key, lang, params)
    try:
        return escape(template).format(**shown)
    except (KeyError, IndexError, ValueError):
        return escape(template)


def format_date(value: date | str | None, lang: str) -> str:
    """A day as people write it: "27 November 2026" / "27 בנובמבר 2026".

    Only a day: a stored moment (a datetime, or its ISO text) is UTC, and cutting a date from it
    would be the wrong day after midnight where the network meets; ``localtime.local_day`` first.
    """
    if not value:
        return ""
    if isinstance(value, datetime) or (isinstance(value, str) and len(value) != 10):
        raise TypeError(f"a day is needed, not a moment: {value!r}")
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return translate(
        "date.format", lang, day=day.day, month=translate(f"month.{day.month}", lang), year=day.year
    )


def direction(lang: str) -> str:
    """``rtl`` or ``ltr`` for a page in ``lang``."""
    return "rtl" if lang in RTL_LANGUAGES else "ltr"


_HEBREW = re.compile(r"[\u0590-\u05ff]")


def join_names(
    names: Iterable[str], lang: str, shown: Callable[[str], str] = lambda name: name
) -> str:
    """Names as the language lists them: "Ruth, Dan and Noa" / "רות, דן ונועה", each name as
    ``shown`` makes it (an HTML page isolates each)."""
    items = [n for n in names if n]
    if not items:
        return ""
    parts = [shown(n) for n in items]
    # Hebrew "and" is a prefix: "ונועה", but "ו-Ruth" before what is not written in Hebrew. The
    # browser's ICU does this (Intl.ListFormat); Babel's CLDR patterns do not, so it is done here.
    if lang == "he" and len(items) > 1 and not _HEBREW.match(items[-1]):
        parts[-1] = f"-{parts[-1]}"
    return format_list(parts, locale=_locale(lang))
