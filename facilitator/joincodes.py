"""Join codes: short, typed on a phone, read off a wall, not guessable in a few tries."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G: letters and digits a room confuses read aloud or on a wall.
ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
LENGTH = 6  # 23**6 ≈ 148 million codes; guessing is also rate-limited at the edge.

_NOT_CODE = re.compile(r"[\s\-_.]")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(typed: str) -> str:
    """What a person typed, as stored: upper case, without spaces or dashes."""
    return _NOT_CODE.sub("", typed).upper()


def looks_valid(code: str) -> bool:
    return len(code) == LENGTH and all(ch in ALPHABET for ch in code)
