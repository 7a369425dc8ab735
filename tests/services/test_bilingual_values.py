"""Shared values in Hebrew, English or both: what the service accepts, what screens are sent,
and the migration that moved each existing value into its network's language."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from alembic import command

from facilitator import migrate
from facilitator.db import Database
from facilitator.errors import Invalid
from facilitator.services import lifecycle, network, overview, state
from facilitator.services.network import ValueWords
from facilitator.services.views import value_in
from tests.support.world import TODAY, World

TRUST_HE = ("אמון", ["מקשיבים עד הסוף"])
TRUST_EN = ("Trust", ["We listen to the end"])


async def _values(db: Database, world: World) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = (await overview.network_lists(db, world.network))["values"]
    return listed


async def test_a_value_in_either_language_or_both(db: Database, world: World) -> None:
    only_en = (
        await network.add_value(db, world.network, ValueWords(*("", []), *TRUST_EN))
    ).value_id
    both = (await network.add_value(db, world.network, ValueWords(*TRUST_HE, *TRUST_EN))).value_id
    shown = {v["id"]: v for v in await _values(db, world)}
    assert (shown[only_en]["he"], shown[only_en]["en"]) == (
        None,
        {"title": "Trust", "behaviours": ["We listen to the end"]},
    )
    assert shown[both]["he"] == {"title": "אמון", "behaviours": ["מקשיבים עד הסוף"]}
    # A Hebrew screen shows the English-only value in English, and says it is English.
    assert value_in(shown[only_en], "he") == {**shown[only_en]["en"], "lang": "en"}  # type: ignore[dict-item]
    assert value_in(shown[both], "he")["title"] == "אמון"
    assert value_in(shown[both], "en")["title"] == "Trust"


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (ValueWords(), "value.title_required"),
        (ValueWords("  ", [" "], "", []), "value.title_required"),
        (ValueWords("", [], "", ["We listen"]), "value.title_for_behaviours"),
        (ValueWords("אמון", [], "Trust", ["We listen"]), "value.behaviours_required"),
        (ValueWords("", [], "x" * 201, ["We listen"]), "input.too_long"),
    ],
)
async def test_what_a_value_needs(db: Database, world: World, words: ValueWords, key: str) -> None:
    with pytest.raises(Invalid) as refused:
        await network.add_value(db, world.network, words)
    assert refused.value.key == key


async def test_an_update_can_add_or_clear_a_language(db: Database, world: World) -> None:
    value = (await network.add_value(db, world.network, ValueWords(*TRUST_HE))).value_id
    await network.update_value(db, world.network, value, ValueWords(*TRUST_HE, *TRUST_EN))
    assert next(v for v in await _values(db, world) if v["id"] == value)["en"] is not None
    await network.update_value(db, world.network, value, ValueWords("", [], *TRUST_EN))
    changed = next(v for v in await _values(db, world) if v["id"] == value)
    assert changed["he"] is None
    assert changed["en"] == {"title": "Trust", "behaviours": ["We listen to the end"]}


async def test_the_snapshot_carries_both_languages(db: Database, world: World) -> None:
    await network.add_value(db, world.network, ValueWords(*TRUST_HE, *TRUST_EN))
    made = await lifecycle.create_meeting(db, world.staff, world.group, "מפגש", TODAY)
    snap = await state.snapshot(db, made.event.meeting_id)
    assert snap["values"][-1]["he"]["title"] == "אמון"
    assert snap["values"][-1]["en"]["title"] == "Trust"


def _rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


def test_the_migration_moves_each_value_into_its_networks_language(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url, "0004")
    with sqlite3.connect(path) as connection:
        for nid, lang in ((1, "he"), (2, "en")):
            connection.execute(
                "INSERT INTO networks (id, name, default_language, timezone, created_at) "
                "VALUES (?, ?, ?, 'UTC', '2026-01-01 00:00:00')",
                (nid, f"n{nid}", lang),
            )
        connection.execute(
            "INSERT INTO shared_values (network_id, position, title, behaviours) VALUES "
            "(1, 1, 'שקיפות', ?), (2, 1, 'Openness', ?)",
            (json.dumps(["מחליטים בחדר"]), json.dumps(["We decide in the room"])),
        )
    migrate.upgrade(url)
    moved = _rows(
        path,
        "SELECT network_id, title_he, behaviours_he, title_en, behaviours_en "
        "FROM shared_values ORDER BY network_id",
    )
    assert [(n, he, en) for n, he, _, en, _ in moved] == [
        (1, "שקיפות", None),
        (2, None, "Openness"),
    ]
    assert json.loads(str(moved[0][2])) == ["מחליטים בחדר"]
    assert json.loads(str(moved[1][4])) == ["We decide in the room"]

    # Back down: each network's language first, the other language where that is all there is.
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO shared_values (network_id, position, title_en, behaviours_en) "
            "VALUES (1, 2, 'Only English', ?)",
            (json.dumps(["We write in English"]),),
        )
    command.downgrade(migrate.alembic_config(url), "0004")
    assert _rows(path, "SELECT network_id, title FROM shared_values ORDER BY id") == [
        (1, "שקיפות"),
        (2, "Openness"),
        (1, "Only English"),
    ]
