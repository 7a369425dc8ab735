"""A small run of the room benchmark, so it cannot rot: correctness only, never timings."""

from __future__ import annotations

import asyncio

import pytest

from bench.room_load import one_run
from bench.writes import measure
from tests.conftest import POSTGRES

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(POSTGRES), reason="benchmarks SQLite")]


def test_a_hundred_phones_vote_and_nothing_is_lost_or_doubled() -> None:
    result = one_run(100, window=2.0, scenarios={"burst", "fanout"})
    burst = result["burst"]
    assert burst["acked"] == 300
    assert burst["unanswered"] == 0
    assert burst["errors"] == 0
    assert (
        burst["people_with_exactly_their_answer"] == 100
    )  # each ends with exactly its last two picks
    assert result["fanout"]["p99"] > 0


def test_the_write_measurement_runs() -> None:
    figures = asyncio.run(measure(commits=50, rows=1000))
    assert figures["commits_per_s"] > 0
    assert figures["batched_rows_per_s"] > 0
