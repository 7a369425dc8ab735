"""The words of a page in one language, as template helpers: messages with user text set where
the language puts it, user text that carries its own direction, lists of names joined as the
language joins them, days, and values in the page's language."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from markupsafe import Markup

from facilitator import i18n
from facilitator.services.views import value_in


def bdi(text: object) -> Markup:
    """User text inside a sentence, isolated so its own direction cannot scramble the sentence."""
    return Markup("<bdi>{}</bdi>").format("" if text is None else text)


def joined(items: Iterable[object], lang: str, coded: str = "") -> Markup:
    """Names, each isolated, joined with the language's separator and conjunction; with
    ``coded`` (a catalog prefix such as ``"sector."``) the items are codes shown by their entry."""
    shown = [
        i18n.translate(f"{coded}{item}", lang) if coded else str(item) for item in items if item
    ]
    # The list patterns are CLDR's words and commas; every name in them is escaped already.
    return Markup(i18n.join_names(shown, lang, lambda name: str(bdi(name))))  # noqa: S704


def page_words(lang: str) -> dict[str, Callable[..., Any]]:
    """What every template calls to say something in ``lang``."""
    return {
        "t": lambda key, **params: i18n.translate_markup(key, lang, **params),
        "day": lambda value: i18n.format_date(value, lang),
        "bdi": bdi,
        "joined": lambda items, coded="": joined(items, lang, coded),
        "value_text": lambda value: value_in(value, lang),
    }
