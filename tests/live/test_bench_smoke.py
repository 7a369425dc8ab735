"""A small run of the room benchmark, so it cannot rot: correctness only, never timings."""

from __future__ import annotations

from typing import Any

import pytest

from bench.room_load import PROBES, TALLY_ANSWERS, one_run
from tests.support.world import POSTGRES

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(POSTGRES), reason="benchmarks SQLite")]


@pytest.fixture(scope="module")
def small_run() -> dict[str, Any]:
    # 100 stage changes past the stalled phones: enough that their data waits in the server.
    # Ten changes timed before and with them: correctness, not a p99.
    return one_run(
        100,
        window=2.0,
        scenarios={"burst", "fanout", "slow"},
        slow_changes=100,
        slow_within=1.0,
        slow_probes=10,
    )


def test_a_hundred_phones_vote_and_nothing_is_lost_or_doubled(small_run: dict[str, Any]) -> None:
    burst = small_run["burst"]
    assert burst["acked"] == 300
    assert burst["unanswered"] == 0
    assert burst["errors"] == 0
    assert (
        burst["people_with_exactly_their_answer"] == 100
    )  # each ends with exactly its last two picks
    assert small_run["fanout"]["p99"] > 0


def test_every_probe_answer_reaches_the_wall(small_run: dict[str, Any]) -> None:
    burst = small_run["burst"]
    assert burst["tally_answers"] == PROBES * TALLY_ANSWERS
    assert burst["tally_acked"] == burst["tally_answers"]
    assert burst["tally_on_wall"] == burst["tally_acked"]  # a wall tally at or after each answer
    assert burst["tally_p99_ms"] >= burst["tally_p50_ms"] > 0


def test_slow_readers_stall_and_the_others_still_get_every_change(
    small_run: dict[str, Any],
) -> None:
    slow = small_run["slow"]
    assert slow["stalled"] == 5  # 5 % of 100
    assert slow["changes"] == 100
    # probe_fanout returns only once every probe got every change, so these mean nothing lost.
    assert slow["p99_before_ms"] > 0
    assert slow["p99_with_slow_ms"] > 0
    assert slow["kib_sent_per_slow_phone"] > 0
    # The stall is real: what the slow phones do not read waits in the server, and only theirs.
    assert 1 <= slow["server_sockets_backed_up"] <= slow["stalled"]
    assert 0 <= slow["dropped"] <= slow["stalled"]
    assert len(slow["dropped_after_stall_s"]) == slow["dropped"]
