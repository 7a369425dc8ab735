"""The README documents every setting, command and URL; the catalogs cover every message."""

from __future__ import annotations

import re
import string
from pathlib import Path

from facilitator.cli import parser
from facilitator.i18n import LANGUAGES, catalog
from facilitator.settings import ENVIRONMENT_VARIABLES, FOUND_AT_START, Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_leads_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make run" in first_block
    assert "make test" in first_block


def test_every_setting_is_documented() -> None:
    read = set(Settings.__dataclass_fields__) - set(FOUND_AT_START)
    assert len(ENVIRONMENT_VARIABLES) == len(read)
    for name in ENVIRONMENT_VARIABLES:
        assert f"`{name}`" in README, f"{name} is not in the README"


def test_every_command_is_documented() -> None:
    subparsers = next(a for a in parser()._actions if a.dest == "command")
    for name in subparsers.choices:  # type: ignore[union-attr]
        assert f"facilitator {name}" in README, f"command {name} is not in the README"


def test_every_route_is_documented() -> None:
    from facilitator.app import create_app

    for route in create_app(Settings()).routes:
        path = re.sub(r":\w+}", "}", getattr(route, "path", ""))  # {meeting_id:int} → {meeting_id}
        assert f"`{path}`" in README, f"{path} is not in the README"


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    he, en = catalog("he"), catalog("en")
    assert set(he) == set(en)
    fields = string.Formatter()

    def placeholders(entry: str | dict[str, str]) -> set[str]:
        # A counted entry may say "one" in words in one of its forms: compare all forms at once.
        texts = entry.values() if isinstance(entry, dict) else [entry]
        return {f for text in texts for _, f, _, _ in fields.parse(text) if f}

    for key in en:
        assert placeholders(en[key]) == placeholders(he[key]), key


def test_every_message_key_in_the_code_is_in_both_catalogs() -> None:
    used: set[str] = set()
    pattern = re.compile(
        r"""(?:Invalid|NotFound|Forbidden|Refused|Conflict|DomainError)\(\s*"([a-z_.]+)\""""
    )
    for path in (ROOT / "facilitator").rglob("*.py"):
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    ui_key = re.compile(r"""(?<![\w.])t\(["']([a-z_]+(?:\.[a-z_]+)+)["']""")
    for pattern_glob in ("*.html", "*.js"):
        for path in (ROOT / "web").rglob(pattern_glob):
            used |= set(ui_key.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 150
    for lang in LANGUAGES:
        missing = used - set(catalog(lang))
        assert not missing, f"{lang} lacks {sorted(missing)}"


def test_coded_parameters_have_their_own_entries() -> None:
    from facilitator.flow import Action, Role, Stage

    for lang in LANGUAGES:
        entries = catalog(lang)
        for prefix, codes in (("stage", Stage), ("action", Action), ("role", Role)):
            for code in codes:
                assert f"{prefix}.{code.value}" in entries


def test_every_field_named_in_an_error_has_a_label() -> None:
    pattern = re.compile(
        r"""(?:clean_text|optional_text|parse_date|positive_id|bounded_int)\([^,()]+(?:\([^()]*\))?,\s*"([a-z_]+)\""""
    )
    named: set[str] = set()
    for path in (ROOT / "facilitator").rglob("*.py"):
        named |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert {"name", "text", "due", "owner"} <= named
    for lang in LANGUAGES:
        missing = {f for f in named if f"field.{f}" not in catalog(lang)}
        assert not missing, f"{lang} lacks field labels {sorted(missing)}"


def test_dates_read_as_people_write_them() -> None:
    from facilitator.i18n import format_date

    assert format_date("2026-11-27", "en") == "27 November 2026"
    assert format_date("2026-11-27", "he") == "27 בנובמבר 2026"
    assert format_date(None, "he") == ""
