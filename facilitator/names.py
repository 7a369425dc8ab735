"""How two spellings of one name are told to be the same.

People type their organization and their own name differently from one meeting to the next: a
hyphen where the network stored an en dash, ASCII quotes for Hebrew geresh and gershayim, niqqud,
an invisible direction mark pasted from a chat, two spaces, another case. ``match_key`` folds all
of these away so that matching never depends on exact spelling; ``strip_invisible`` removes the
format characters from what is stored, so two names that look the same are the same.
``look_key`` goes further, for telling apart two names that are not the same but look it: each
letter becomes its look-alike class from Unicode's confusables data (a Cyrillic "а" is a Latin
"a", "I" is "l"), so a new name that only looks like one already in the room can be refused.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Characters that show nothing: the format characters (zero-width spaces and joiners, direction
# marks, embeddings, isolates, the byte-order mark), the soft hyphen, the combining grapheme
# joiner and the variation selectors. They must not tell two names apart.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufe00-\ufe0f\ufeff]"
)
# Every dash people use for one: hyphen-minus, Hebrew maqaf, the Unicode hyphens and dashes, minus.
_DASHES = re.compile("[\u002d\u05be\u2010-\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d]")
# Geresh and its look-alikes (NFKC turns a double prime into two primes, caught here too).
_SINGLE_QUOTES = re.compile(
    "[\u0027\u0060\u00b4\u02b9\u02bb-\u02bd\u05f3\u2018-\u201b\u2032\u2035]"
)
# Gershayim and its look-alikes, and two single quotes typed for one (after the fold above).
_DOUBLE_QUOTES = re.compile("[\u0022\u00ab\u00bb\u02ba\u05f4\u201c-\u201f\u2033]|''")
# The Arabic tatweel only stretches a word.
_TATWEEL = "\u0640"
_AROUND_DASH = re.compile(r"\s*-\s*")
_SPACE = re.compile(r"\s+")


def strip_invisible(text: str) -> str:
    """``text`` without the characters that show nothing on screen."""
    return _INVISIBLE.sub("", text)


def match_key(text: str) -> str:
    """The form of a name or organization that matching compares: spelling variants fold away.

    No invisible characters, NFKC (presentation forms, full-width letters), no niqqud or
    cantillation (nor other combining accents), one kind of dash with no spaces around it, one
    kind of double and of single quote, single spaces, and no case.
    """
    return _folded(text).casefold()


def look_key(text: str) -> str:
    """The form two names that look the same on screen share (UTS #39's skeleton, after the
    folds of ``match_key``): each character its look-alike class, then no case. Hebrew letters
    keep their own: the confusables data counts vav and final nun as one, readers do not."""
    classes = _look_alike_classes()
    # Mapped before the case fold, as the skeleton is: "I" meets "l", and "L" stays an L.
    return "".join(classes.get(ch, ch) for ch in _folded(text)).casefold()


def _folded(text: str) -> str:
    """``match_key`` but for the case."""
    # The acute accent goes first: NFKC would split it into a space and a combining mark.
    text = unicodedata.normalize("NFKC", strip_invisible(text).replace("\u00b4", "'"))
    # Niqqud and cantillation are combining marks; decomposing first catches precomposed forms.
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text).replace(_TATWEEL, "")
    text = _SINGLE_QUOTES.sub("'", text)
    text = _DOUBLE_QUOTES.sub('"', text)
    text = _DASHES.sub("-", text)
    text = _SPACE.sub(" ", text).strip()
    return _AROUND_DASH.sub("-", text)


_HEBREW = re.compile("[\u0590-\u05ff\ufb1d-\ufb4f]")


@functools.cache
def _look_alike_classes() -> dict[str, str]:
    """Each character that looks like another → one member of its class (the lowest), from
    the confusables data of ``confusable_homoglyphs``; single characters only."""
    from confusable_homoglyphs.confusables import confusables_data  # type: ignore[import-untyped]

    parent: dict[str, str] = {}

    def root(ch: str) -> str:
        while parent.get(ch, ch) != ch:
            ch = parent[ch]
        return ch

    for ch, alikes in confusables_data.items():
        for alike in alikes:
            other = alike["c"].strip("\u200e\u200f")
            if len(ch) != 1 or len(other) != 1 or _HEBREW.match(ch) or _HEBREW.match(other):
                continue
            a, b = root(ch), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {ch: root(ch) for ch in parent}
