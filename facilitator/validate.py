"""Edge checks for user text, ids and dates: bounded, cleaned, refused with a message key."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time

from facilitator import names
from facilitator.errors import Invalid

#: Upper bounds on user text, in characters. Documented in the README ("Limits").
LIMITS = {
    "name": 120,
    "title": 200,
    "text": 500,
    "reason": 500,
    "decision": 2000,
    "behaviour": 300,
    "email": 254,
}

# Control characters are never wanted in names or notes; newlines and tabs are kept in long text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")


def clean_text(value: object, field: str, *, kind: str = "text", multiline: bool = False) -> str:
    """Strip and normalise ``value``; refuse it empty, not text, or over the bound for ``kind``."""
    if not isinstance(value, str):
        raise Invalid("input.not_text", field=field)
    text = unicodedata.normalize("NFC", _CONTROL.sub("", value))
    if multiline:
        text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines()).strip()
    else:
        text = _SPACES.sub(" ", " ".join(text.split())).strip()
    if not text:
        raise Invalid("input.empty", field=field)
    limit = LIMITS[kind]
    if len(text) > limit:
        raise Invalid("input.too_long", field=field, limit=limit)
    return text


def clean_name(value: object, field: str, *, kind: str = "name") -> str:
    """A person's or an organization's name: as ``clean_text``, without the characters that
    show nothing (a zero-width space, a direction mark or override), so two names that look the
    same on screen are the same name wherever they were typed."""
    return clean_text(names.strip_invisible(value) if isinstance(value, str) else value, field,
                      kind=kind)  # fmt: skip


def optional_text(value: object, field: str, *, kind: str = "text") -> str | None:
    """Like ``clean_text`` but ``None`` or blank means absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return clean_text(value, field, kind=kind, multiline=True)


def parse_date(value: object, field: str) -> date:
    """An ISO date (``YYYY-MM-DD``) or a ``date``; anything else is refused."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid("input.bad_date", field=field)


_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(:[0-5][0-9])?")


def optional_time(value: object, field: str) -> time | None:
    """A time of day as a time field sends it (``HH:MM``, seconds dropped); blank is absent."""
    if value is None or isinstance(value, time):
        return None if value is None else value.replace(second=0, microsecond=0)
    if isinstance(value, str):
        if not value.strip():
            return None
        found = _TIME.fullmatch(value.strip())
        if found:
            return time(int(found[1]), int(found[2]))
    raise Invalid("input.bad_time", field=field)


MAX_ID = 2**63 - 1  # what every engine stores in a BIGINT


_ID_TEXT = re.compile(r"[0-9]{1,18}")


def id_in(text: object) -> int | None:
    """An id written in a form field or a query: ASCII digits, no more than a database holds
    (``str.isdigit`` also takes "²" and "٣", which ``int`` refuses or reads). ``None`` else."""
    if isinstance(text, str) and _ID_TEXT.fullmatch(text):
        return int(text)
    return None


def positive_id(value: object, field: str) -> int:
    """A database id: a positive integer that fits the database (booleans are not ids)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise Invalid("input.bad_id", field=field)
    return value


def bounded_int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid("input.out_of_range", field=field, low=low, high=high)
    return value


def client_msg_id(value: object) -> str | None:
    """A client message id: up to 64 printable ASCII characters, or absent."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
        raise Invalid("input.bad_client_msg_id")
    return value
