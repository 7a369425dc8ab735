"""Opener answers through the group-commit writer, in process: CPU seconds an answer and answers
a second on a freshly migrated SQLite file, as a hall's vote burst sends them (every phone
answers ``rounds`` times; each round's answers are all sent at once).

    .venv/bin/python -m bench.answers --phones 2000 --rounds 3 --runs 5

The machine may be busy with other work: compare medians of several runs, not single runs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from bench.seed import seed_room
from facilitator import migrate
from facilitator.db import Database
from facilitator.services import opener
from facilitator.services.actors import Actor


def _thread_cpu(_connection: Connection, _memo: dict[Any, Any]) -> float:
    return time.thread_time()


async def _burst(
    url: str, meeting_id: int, people: list[int], blockers: list[int], rounds: int
) -> tuple[float, float, float, int]:
    db = Database(url)
    try:
        # One answer first, so the writer's thread, connection and statements are warm.
        await opener.respond(db, meeting_id, Actor.participant(people[0]), [blockers[0]])
        writer_before = await db.group_commit.submit(_thread_cpu)
        batches = db.group_commit.batches
        cpu, wall = time.process_time(), time.perf_counter()
        for round_ in range(rounds):
            await asyncio.gather(
                *(
                    opener.respond(
                        db,
                        meeting_id,
                        Actor.participant(pid),
                        # One to three blockers, a different choice each round.
                        [blockers[(n + round_ + k) % len(blockers)] for k in range(1 + n % 3)],
                    )
                    for n, pid in enumerate(people)
                )
            )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        writer = await db.group_commit.submit(_thread_cpu) - writer_before
        return cpu, wall, writer, db.group_commit.batches - batches - 1
    finally:
        await db.dispose()


def one_run(phones: int, rounds: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="answers-"))
    try:
        url = f"sqlite+aiosqlite:///{folder / 'answers.db'}"
        migrate.upgrade(url)
        room = asyncio.run(seed_room(url, phones))
        cpu, wall, writer, batches = asyncio.run(
            _burst(url, room.meeting_id, room.people, room.blockers, rounds)
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # a seeded hall's file, each run
    answers = phones * rounds
    return {
        "cpu_ms_per_answer": 1000 * cpu / answers,
        "writer_cpu_ms_per_answer": 1000 * writer / answers,
        "answers_per_s": answers / wall,
        "answers_per_batch": answers / max(1, batches),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = []
    for n in range(args.runs):
        runs.append(one_run(args.phones, args.rounds))
        print(f"run {n + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in runs[-1].items()))
    print(f"median of {args.runs} ({args.phones * args.rounds} answers each):")
    for key in runs[0]:
        print(f"  {key}: {statistics.median(run[key] for run in runs):.3f}")


if __name__ == "__main__":
    main()
