"""The name normaliser: every way people spell one Hebrew (or English) name folds to one key,
and names that differ stay apart."""

from __future__ import annotations

import pytest

from facilitator.names import look_key, match_key, strip_invisible

MUNICIPALITY = "עיריית באר שבע – אגף החינוך"  # as the network stores it: an en dash
COMPANY = "נגב טק בע״מ"  # gershayim


def same(*spellings: str) -> None:
    keys = {match_key(s) for s in spellings}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(
    "typed",
    [
        "עיריית באר שבע - אגף החינוך",  # hyphen-minus
        "עיריית באר שבע — אגף החינוך",  # em dash
        "עיריית באר שבע ־ אגף החינוך",  # maqaf
        "עיריית באר שבע‐אגף החינוך",  # Unicode hyphen, no spaces
        "עיריית באר שבע -אגף החינוך",  # a space on one side only
        "עיריית באר שבע − אגף החינוך",  # minus sign
    ],
)
def test_every_dash_is_one_dash(typed: str) -> None:
    same(MUNICIPALITY, typed)


@pytest.mark.parametrize(
    "typed", ['נגב טק בע"מ', "נגב טק בע''מ", "נגב טק בע׳׳מ", "נגב טק בע“מ", "נגב טק בע″מ"]
)
def test_gershayim_and_what_people_type_for_it(typed: str) -> None:
    same(COMPANY, typed)


@pytest.mark.parametrize("typed", ["ג'ורג' חורי", "ג’ורג’ חורי", "ג`ורג` חורי", "ג´ורג´ חורי"])
def test_geresh_and_what_people_type_for_it(typed: str) -> None:
    same("ג׳ורג׳ חורי", typed)


def test_niqqud_and_cantillation_are_not_spelling() -> None:
    same("שָׁלוֹם כֹּהֵן", "שלום כהן", "שׁלום כהן")
    same("בְּרֵאשִׁ֖ית", "בראשית")
    same("שׁ", "\ufb2a")  # a presentation form with its dot is the letter


@pytest.mark.parametrize(
    "mark",
    ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_invisible_marks_are_nothing(mark: str) -> None:
    same("נועה כהן", f"נועה{mark} כהן", f"{mark}נועה כהן{mark}")
    assert strip_invisible(f"נו{mark}עה") == "נועה"


def test_embeddings_byte_order_and_soft_hyphen_are_nothing_too() -> None:
    same("מרכז הלמידה", "\u202bמרכז הלמידה\u202c", "\ufeffמרכז הלמי\u00adדה", "\u061cמרכז הלמידה")


def test_spaces_of_every_kind_and_number_are_one_space() -> None:
    same(
        "ועד ההורים העירוני",
        "ועד  ההורים   העירוני",
        " ועד ההורים העירוני ",
        "ועד\u00a0ההורים\u202fהעירוני",
        "ועד\tההורים\u3000העירוני",
    )


def test_latin_case_and_full_width_letters_fold() -> None:
    same("Daniel Green", "daniel green", "DANIEL GREEN", "Ｄａｎｉｅｌ Ｇｒｅｅｎ")
    same("Straße", "STRASSE")


def test_every_variant_at_once() -> None:
    same(
        "עיריית באר שבע – אגף החינוך",
        "\u200fעִירִיַּית  באר\u00a0שבע-אגף הַחִינּוּך\u2069",
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("נועה כהן", "נועה כהנא"),
        ("עמותת צעדים לנוער", "עמותת צעדים"),
        ("Dana Levi", "Dan Alevi"),
        ("אבו-סבית", "אבוסבית"),  # a dash is not nothing
        ('בע"מ', "בעמ"),  # nor is a quote
        ("ג'ורג", 'ג"ורג'),  # and a geresh is not a gershayim
        ("משרד החינוך – מחוז דרום", "משרד החינוך – מחוז צפון"),
    ],
)
def test_different_names_stay_different(one: str, other: str) -> None:
    assert match_key(one) != match_key(other)


def test_stored_names_keep_what_shows() -> None:
    # Only what shows nothing goes; niqqud, dashes and quotes as typed are kept for display.
    assert strip_invisible("\u200fנגב טק בע״מ\u200b") == "נגב טק בע״מ"
    assert strip_invisible("שָׁלוֹם - עולם") == "שָׁלוֹם - עולם"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Anna", "\u0410nna"),  # a Cyrillic capital A
        ("Paul", "Pau1"),  # a digit one for an l
        ("Ian", "lan"),  # a capital I for an l
        ("dana", "\uff44\uff41\uff4e\uff41"),  # full-width letters
        ("Olga", "\u039flga"),  # a Greek capital omicron
        ("שרה", "ש\u200bרה"),  # an invisible space
    ],
)
def test_names_that_only_look_alike_share_a_look_key(one: str, other: str) -> None:
    assert look_key(one) == look_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("דן", "דו"),
        ("מרים", "מריס"),
        ("Dan", "Don"),
        ("Anna", "Anne"),
        ("רון", "רוו"),
        ("Ian", "Lan"),  # a capital L is no I
        ("Leo", "Ieo"),
    ],
)
def test_names_that_differ_keep_apart_and_hebrew_letters_keep_their_own(
    one: str, other: str
) -> None:
    assert look_key(one) != look_key(other)
