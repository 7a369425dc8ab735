"""Databases built once per test session and copied for each test that asks for them.

A service test's setup (a network with people and groups, or a meeting walked to some stage) is
the same for every test that uses it. It is built once, on its own copy of the migrated database,
by the very services the tests exercise; each test then gets a byte copy of that file (or, on
PostgreSQL, a database made from it as a template), so the setup costs a file copy, not hundreds
of commands. Ids are the same in every copy, so the builder's answer is shared too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from facilitator.db import Database
from tests.support.world import TODAY, Clock

T = TypeVar("T")
Builder = Callable[[Database], Awaitable[Any]]


@dataclass(frozen=True)
class Recipe:
    name: str
    build: Builder
    depth: int  # a recipe that builds on another is deeper: the deepest one asked for wins


RECIPES: dict[str, Recipe] = {}


def recipe(name: str, build: Callable[[Database], Awaitable[T]], *, depth: int = 1) -> Any:
    """Register a prebuilt database and return the fixture that hands out its builder's answer.

    Use at module level: ``room = recipe("room", build_room, depth=2)``. The test's ``db`` is
    then a copy of the built database (see ``db_url`` in ``tests/conftest.py``).
    """
    RECIPES[name] = Recipe(name, build, depth)

    @pytest.fixture(name=name)
    def fixture(db: Database, prebuilt: Prebuilt) -> Any:
        return prebuilt.answer(name)

    return fixture


def wanted(fixturenames: list[str]) -> Recipe | None:
    """The recipe a test needs: the deepest among the fixtures it asks for."""
    found = [RECIPES[name] for name in fixturenames if name in RECIPES]
    return max(found, key=lambda r: r.depth) if found else None


def build_clock() -> Clock:
    """The clock a recipe is built on: the same moment a test's ``clock`` fixture starts at."""
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.set_day(TODAY)
    return clock


class Prebuilt:
    """The session's built databases: a name, a source to copy from, and the builder's answer."""

    def __init__(self, copy: Callable[[str], str], url_of: Callable[[str], str]) -> None:
        self._copy = copy  # makes a fresh copy of the migrated database, returns its location
        self._url_of = url_of
        self._built: dict[str, tuple[str, Any]] = {}

    def source(self, recipe: Recipe) -> str:
        if recipe.name not in self._built:
            location = self._copy(recipe.name)

            async def build() -> Any:
                database = Database(self._url_of(location), clock=build_clock())
                try:
                    return await recipe.build(database)
                finally:
                    await database.dispose()

            self._built[recipe.name] = (location, asyncio.run(build()))
        return self._built[recipe.name][0]

    def answer(self, name: str) -> Any:
        """The builder's answer. A test that asked for a deeper recipe got a copy of that one;
        its builder made this one's rows first, on the same ids, so this answer holds there too."""
        self.source(RECIPES[name])
        return self._built[name][1]
