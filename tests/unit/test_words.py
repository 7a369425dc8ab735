"""Words as people read them: CLDR plural forms in both catalogs, and lists of names joined the
way each language joins them."""

from __future__ import annotations

from string import Formatter

import pytest

from facilitator.i18n import catalog, join_names, plural_category, translate

# Written out by hand from CLDR (what Babel and the browser's Intl.PluralRules say today):
# Hebrew's "many" (20, 30 ...) is gone since CLDR 42, so 11, 20 and 21 are all "other".
HEBREW = {1: "one", 2: "two", 3: "other", 11: "other", 20: "other", 21: "other"}
ENGLISH = {1: "one", 2: "other"}
FORMS = {"he": HEBREW, "en": ENGLISH}


def counted(lang: str) -> list[str]:
    return sorted(key for key, entry in catalog(lang).items() if isinstance(entry, dict))


def test_cldr_categories_are_the_ones_the_catalogs_are_written_for() -> None:
    for lang, expected in FORMS.items():
        assert {n: plural_category(n, lang) for n in expected} == expected
    assert plural_category(0, "he") == plural_category(0, "en") == "other"


def test_every_counted_message_has_each_form_of_its_language() -> None:
    assert counted("he") == counted("en")
    assert {"home.open_commitments", "gate.unreviewed", "commitment.slipped_times"} <= set(
        counted("he")
    )
    for lang, forms in FORMS.items():
        for key in counted(lang):
            assert set(catalog(lang)[key]) == set(forms.values()), (lang, key)


def test_no_count_hides_in_a_message_without_plural_forms() -> None:
    for lang in FORMS:
        plain = [k for k, v in catalog(lang).items() if isinstance(v, str) and "{count}" in v]
        assert not plain, f"{lang}: {plain} need one form per plural category"


def _fields(entry: dict[str, str]) -> set[str]:
    return {name for form in entry.values() for _, name, _, _ in Formatter().parse(form) if name}


@pytest.mark.parametrize("lang", ["he", "en"])
def test_each_count_picks_its_own_form(lang: str) -> None:
    for key in counted(lang):
        entry = catalog(lang)[key]
        # Every other placeholder gets a number of its own, so a form that swaps them shows.
        others = {name: 40 + i for i, name in enumerate(sorted(_fields(entry) - {"count"}))}
        for n, category in FORMS[lang].items():
            text = translate(key, lang, count=n, **others)
            assert text == entry[category].format(count=n, **others)
            assert "{" not in text


@pytest.mark.parametrize(
    ("key", "lang", "count", "expected"),
    [
        ("commitment.slipped_times", "he", 1, "נדחתה פעם אחת"),
        ("commitment.slipped_times", "he", 2, "נדחתה פעמיים"),
        ("commitment.slipped_times", "he", 3, "נדחתה 3 פעמים"),
        ("commitment.slipped_times", "he", 11, "נדחתה 11 פעמים"),
        ("commitment.slipped_times", "he", 21, "נדחתה 21 פעמים"),
        ("commitment.slipped_times", "en", 1, "slipped once"),
        ("commitment.slipped_times", "en", 2, "slipped 2 times"),
        ("home.open_commitments", "he", 1, "מחויבות פתוחה אחת"),
        ("home.open_commitments", "he", 2, "שתי מחויבויות פתוחות"),
        ("home.open_commitments", "he", 21, "21 מחויבויות פתוחות"),
        ("home.open_commitments", "en", 1, "1 open commitment"),
        ("home.open_commitments", "en", 2, "2 open commitments"),
        ("gate.unreviewed", "en", 1, "A reopened commitment has not been reviewed yet."),
        ("gate.unreviewed", "he", 1, "מחויבות אחת מפגישות קודמות עוד לא נסקרה."),
        ("gate.unreviewed", "he", 11, "11 מחויבויות מפגישות קודמות עוד לא נסקרו."),
    ],
)
def test_sentences_read_right(key: str, lang: str, count: int, expected: str) -> None:
    assert translate(key, lang, count=count) == expected


def test_a_message_without_forms_is_untouched_by_a_count() -> None:
    assert translate("console.next", "en", stage="opener", count=1) == translate(
        "console.next", "en", stage="opener"
    )


@pytest.mark.parametrize(
    ("lang", "names", "expected"),
    [
        ("en", ["Ruth Cohen", "Ruth Cohen2"], "Ruth Cohen and Ruth Cohen2"),
        ("en", ["Ruth", "Dan", "Noa"], "Ruth, Dan, and Noa"),
        ("he", ["רות", "דן"], "רות ודן"),
        ("he", ["רות", "דן", "נועה"], "רות, דן ונועה"),
        # Hebrew "and" takes a hyphen before what is not in Hebrew letters, as ICU writes it.
        ("he", ["Ruth Cohen", "Ruth Cohen2"], "Ruth Cohen ו-Ruth Cohen2"),
        ("he", ["רות", "Dan", "״נועה״"], "רות, Dan ו״נועה״"),
        ("he", ["רות"], "רות"),
        ("he", [], ""),
    ],
)
def test_names_are_listed_as_the_language_lists_them(
    lang: str, names: list[str], expected: str
) -> None:
    assert join_names(names, lang) == expected
