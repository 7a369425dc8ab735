"""The write and join-wave benchmarks in small, so they cannot rot: correctness only, never
timings. (Apart from the room's smoke run, so the two run on two workers.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import join_wave
from bench.writes import measure
from tests.support.world import POSTGRES

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(POSTGRES), reason="benchmarks SQLite")]


def test_the_write_measurement_runs() -> None:
    figures = asyncio.run(measure(commits=50, rows=1000))
    assert figures["commits_per_s"] > 0
    assert figures["group_commits_per_s"] > 0
    assert figures["commits_per_fsync"] > 1  # senders at once did share commits
    assert figures["batched_rows_per_s"] > 0


def test_a_small_join_wave_welcomes_every_phone_here_and_at_the_floor(tmp_path: Path) -> None:
    ours = join_wave.ours(40, 1.0)
    assert ours["welcomed"] == 40
    assert ours["errors"] == {}
    assert ours["join_to_welcome_p99_s"] >= ours["join_to_welcome_p50_s"] > 0
    assert ours["server_cpu_ms_per_join"] > 0
    floor = join_wave.floor(40, 1.0)
    assert floor["welcomed"] == 40
    section = join_wave.table([(ours, floor)], 1.0)
    page = tmp_path / "performance.md"
    page.write_text(
        "# Performance\n\n## Results\n\nkept\n\n## Join wave\n\nold\n\n## Later\n\nkept too\n"
    )
    join_wave.write_section(page, section)
    text = page.read_text()
    assert text.count("## Join wave") == 1
    assert "old" not in text
    assert "kept\n" in text
    assert "kept too" in text
    assert "| 40 | errors | 0 | 0 |" in text
