"""A network with years of history, generated quickly and the same every time (a fixed seed):
50 groups meeting monthly, about 20 commitments a meeting reviewed at the group's next
meetings until done or dropped, attendance, opener answers and the meetings' event logs,
2,000 people in 300 organizations. Five years is about 3,000 meetings, 60,000 commitments and
a million events. Direct Core inserts in big batches; the network, the staff and the blockers
are made through the services.

    .venv/bin/python -m bench.history --years 1 --out /tmp/history.db

The figures the backbone shows are then checked against plain SQL and against what the
generator itself decided (``--check``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, func, insert, select, text, true

from facilitator.db import Database
from facilitator.db.models import (
    Attendance,
    Blocker,
    Commitment,
    CommitmentReview,
    Group,
    GroupMember,
    Meeting,
    MeetingEvent,
    Network,
    OpenerResponse,
    Organization,
    Person,
    Strategy,
)
from facilitator.migrate import upgrade
from facilitator.services import network, users

PASSWORD = "benchmark password"
BACKBONE = "backbone@example.org"
GROUPS, PEOPLE, ORGS, STRATEGIES = 50, 2000, 300, 12
PER_MEETING, EVENTS_PER_MEETING, ROSTER = 20, 330, 40
REOPEN = 300  # the open commitments waiting for the "reopen" group's next meeting
SECTORS = ("government", "nonprofit", "business", "philanthropy", "community", "other")
BATCH = 20_000


@dataclass
class Made:
    """What the generator decided, to check the reports against."""

    network_id: int = 0
    meetings: int = 0
    commitments: int = 0
    reviews: int = 0
    events: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    slipped: int = 0
    done_on_time: int = 0
    reopen_meeting: int = 0
    live_meeting: int = 0
    today: date = date(2026, 1, 1)


class Writer:
    """Rows queued per table and written in big batches."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rows: dict[Any, list[dict[str, Any]]] = {}

    def add(self, table: Any, row: dict[str, Any]) -> None:
        queue = self.rows.setdefault(table, [])
        queue.append(row)
        if len(queue) >= BATCH:
            self.flush(table)

    def flush(self, table: Any = None) -> None:
        for name in [table] if table is not None else list(self.rows):
            if self.rows.get(name):
                self.connection.execute(insert(name), self.rows[name])
                self.rows[name] = []


def _ids(connection: Connection, table: Any, count: int, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their ids (SQLite hands out consecutive ids in one statement)."""
    start = (connection.scalar(text(f"SELECT max(id) FROM {table.__tablename__}")) or 0) + 1
    connection.execute(insert(table), rows)
    return list(range(start, start + count))


async def _services(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        nid = await network.create_network(db, "רשת חמש שנים", language="he")
        uid = await users.create_user(db, nid, BACKBONE, PASSWORD, name="שדרה", role="backbone")
        return nid, uid
    finally:
        await db.dispose()


def _moment(day: date, hour: int) -> datetime:
    # Evening meetings in Jerusalem: 17:00 local is 14:00 or 15:00 UTC, the same day.
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def generate(path: Path, years: int, seed: int = 12) -> Made:
    """Write the network into a fresh SQLite file at ``path``."""
    if path.exists():
        path.unlink()
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    made = Made()
    made.network_id, uid = asyncio.run(_services(url))
    rng = random.Random(seed)
    made.today = datetime.now(UTC).date()
    start = made.today - timedelta(days=365 * years)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as c:
        c.exec_driver_sql("PRAGMA foreign_keys = OFF")
        now = datetime.now(UTC)
        nid = made.network_id
        blockers = list(c.scalars(select(Blocker.id).where(Blocker.network_id == nid)))
        orgs = _ids(c, Organization, ORGS, [
            {"network_id": nid, "name": f"ארגון {n}", "name_key": f"ארגון {n}",
             "sector": SECTORS[n % len(SECTORS)]} for n in range(ORGS)
        ])  # fmt: skip
        people = _ids(c, Person, PEOPLE, [
            {"network_id": nid, "organization_id": orgs[n % ORGS] if n % 10 else None,
             "name": f"אדם {n}", "name_key": f"אדם {n}", "created_at": now} for n in range(PEOPLE)
        ])  # fmt: skip
        strategies = _ids(c, Strategy, STRATEGIES, [
            {"network_id": nid, "title": f"אסטרטגיה {n}", "target": "יעד"} for n in range(STRATEGIES)
        ])  # fmt: skip
        groups = _ids(c, Group, GROUPS + 2, [
            {"network_id": nid, "name": f"קבוצה {n}", "kind": "working_group"} for n in range(GROUPS + 2)
        ])  # fmt: skip
        w = Writer(c)
        rosters = {g: rng.sample(people, ROSTER) for g in groups}
        for g, roster in rosters.items():
            for p in roster:
                w.add(GroupMember, {"group_id": g, "person_id": p, "added_at": now})
        next_meeting = (c.scalar(text("SELECT max(id) FROM meetings")) or 0) + 1
        next_commitment = (c.scalar(text("SELECT max(id) FROM commitments")) or 0) + 1
        for g in groups[:GROUPS]:
            open_ones: list[dict[str, Any]] = []
            roster = rosters[g]
            for month in range(12 * years):
                day = start + timedelta(days=30 * month + g % 28)
                if day >= made.today:
                    break
                mid, next_meeting = next_meeting, next_meeting + 1
                started = _moment(day, 15)
                w.add(Meeting, {
                    "id": mid, "group_id": g, "title": f"מפגש {month + 1}", "scheduled_on": day,
                    "stage": "closed", "last_seq": EVENTS_PER_MEETING, "created_at": started,
                    "started_at": started, "closed_at": started + timedelta(hours=2),
                })  # fmt: skip
                made.meetings += 1
                present = [p for p in roster if rng.random() < 0.7] + rng.sample(people, 2)
                present = list(dict.fromkeys(present))
                for p in present:
                    w.add(Attendance, {"meeting_id": mid, "person_id": p, "joined_at": started})
                for p in present[:10]:
                    for b in rng.sample(blockers, rng.randint(1, 2)):
                        w.add(OpenerResponse, {"meeting_id": mid, "person_id": p, "blocker_id": b,
                                               "anonymous": True, "created_at": started})  # fmt: skip
                for seq in range(1, EVENTS_PER_MEETING + 1):
                    w.add(MeetingEvent, {
                        "meeting_id": mid, "seq": seq, "type": "tally", "payload": {"n": seq},
                        "actor": "participant", "action": "opener.respond", "created_at": started,
                    })  # fmt: skip
                made.events += EVENTS_PER_MEETING
                still: list[dict[str, Any]] = []
                for item in open_ones:  # reviewed at this meeting, in the order reopened
                    made.reviews += 1
                    roll = rng.random()
                    outcome = (
                        "done" if roll < 0.5 else "on_track" if roll < 0.7 and day < item["due"]
                        else "slipped" if roll < 0.85 else "dropped" if roll < 0.9 else None
                    )  # fmt: skip
                    new_due = item["due"] + timedelta(days=30) if outcome == "slipped" else None
                    w.add(CommitmentReview, {
                        "commitment_id": item["id"], "meeting_id": mid, "reopened_at": started,
                        "old_due": item["due"], "outcome": outcome, "new_due": new_due,
                        "reviewer_person_id": item["owner"] if outcome else None,
                        "reviewed_at": started if outcome else None,
                    })  # fmt: skip
                    if outcome is None or outcome == "on_track":
                        item["lapsed"] = item["lapsed"] or day >= item["due"]
                        still.append(item)
                    elif outcome == "slipped":
                        item["slips"] += 1
                        item["lapsed"] = item["lapsed"] or day >= item["due"]
                        item["due"] = new_due
                        still.append(item)
                    else:
                        item["status"] = outcome
                        item["on_time"] = (
                            outcome == "done" and not item["slips"] and not item["lapsed"]
                        )
                        _settle(w, made, item)
                open_ones = still
                for _n in range(PER_MEETING):
                    cid, next_commitment = next_commitment, next_commitment + 1
                    item = {"id": cid, "group": g, "origin": mid, "owner": rng.choice(roster),
                            "due": day + timedelta(days=rng.randint(14, 45)), "slips": 0,
                            "lapsed": False, "status": "open", "on_time": False,
                            "strategy": rng.choice([*strategies, None]), "at": started}  # fmt: skip
                    open_ones.append(item)
            for item in open_ones:
                _settle(w, made, item)
        made.reopen_meeting, made.live_meeting = _reopen_group(
            w, made, groups[GROUPS], groups[GROUPS + 1], rosters, next_meeting, next_commitment
        )
        w.flush()
        del uid
    engine.dispose()
    return made


def _settle(w: Writer, made: Made, item: dict[str, Any]) -> None:
    w.add(Commitment, {
        "id": item["id"], "group_id": item["group"], "origin_meeting_id": item["origin"],
        "text": f"התחייבות {item['id']}", "owner_person_id": item["owner"], "due_on": item["due"],
        "strategy_id": item["strategy"], "status": item["status"], "created_at": item["at"],
        "confirmed_at": item["at"], "slips": item["slips"], "done_on_time": item["on_time"],
    })  # fmt: skip
    made.commitments += 1
    made.statuses[item["status"]] += 1
    made.slipped += item["slips"] > 0
    made.done_on_time += item["on_time"]


def _reopen_group(
    w: Writer, made: Made, group: int, live: int, rosters: dict[int, list[int]], mid: int, cid: int
) -> tuple[int, int]:
    """A group whose last meeting left ``REOPEN`` commitments open, its next meeting waiting in
    the lobby (starting it reopens them all), and another group's meeting in the lobby for the
    live probe."""
    day = made.today - timedelta(days=14)
    started = _moment(day, 15)
    w.add(Meeting, {"id": mid, "group_id": group, "title": "מפגש קודם", "scheduled_on": day,
                    "stage": "closed", "last_seq": 0, "created_at": started,
                    "started_at": started, "closed_at": started})  # fmt: skip
    made.meetings += 1
    for n in range(REOPEN):
        item = {"id": cid + n, "group": group, "origin": mid, "owner": rosters[group][n % ROSTER],
                "due": made.today + timedelta(days=30), "slips": 0, "lapsed": False,
                "status": "open", "on_time": False, "strategy": None, "at": started}  # fmt: skip
        _settle(w, made, item)
    for offset, title, owner in ((1, "המפגש הבא", group), (2, "חדר חי", live)):
        w.add(Meeting, {"id": mid + offset, "group_id": owner, "title": title,
                        "scheduled_on": made.today, "stage": "lobby", "last_seq": 0,
                        "created_at": started, "started_at": None, "closed_at": None})  # fmt: skip
        made.meetings += 1
    return mid + 1, mid + 2


def check(path: Path, made: Made) -> list[str]:
    """The backbone's figures against plain SQL and against the generator's own count."""
    from facilitator.services import backbone

    async def figures() -> tuple[dict[str, Any], int]:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            reach = backbone.Reach(made.network_id)
            report = await backbone.carryover(db, reach, backbone.Filters(), made.today)
            return dict(report["figures"]), await db.read_sync(_unlike_reviews)
        finally:
            await db.dispose()

    shown, unlike = asyncio.run(figures())
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as c:
        sql = {
            "made": c.scalar(text(
                "SELECT count(*) FROM commitments WHERE status IN ('open','done','dropped')")),
            "open": c.scalar(text("SELECT count(*) FROM commitments WHERE status = 'open'")),
            "overdue": c.scalar(text(
                "SELECT count(*) FROM commitments WHERE status = 'open' AND due_on < :d"),
                {"d": made.today.isoformat()}),
            "slipped": c.scalar(text(
                "SELECT count(DISTINCT commitment_id) FROM commitment_reviews "
                "WHERE outcome = 'slipped'")),
            "done": c.scalar(text("SELECT count(*) FROM commitments WHERE status = 'done'")),
            "dropped": c.scalar(text("SELECT count(*) FROM commitments WHERE status = 'dropped'")),
        }  # fmt: skip
    engine.dispose()
    generated = {
        "made": made.commitments, "open": made.statuses["open"], "done": made.statuses["done"],
        "dropped": made.statuses["dropped"], "slipped": made.slipped,
        "done_on_time": made.done_on_time,
    }  # fmt: skip
    wrong = [f"{k}: backbone {shown[k]} ≠ SQL {v}" for k, v in sql.items() if shown[k] != v]
    if unlike:
        wrong.append(f"{unlike} commitments store facts their reviews do not say")
    wrong += [f"{k}: backbone {shown[k]} ≠ generated {v}" for k, v in generated.items()
              if shown[k] != v]  # fmt: skip
    return wrong


def _unlike_reviews(connection: Connection) -> int:
    """How many commitments store slips or done-on-time other than their reviews say."""
    from facilitator.services import backbone_queries as q

    total = 0
    for (network_id,) in connection.execute(select(Network.id)):
        zone = q.timezone_of(connection, network_id)
        stored = Commitment.done_on_time == true()
        total += (
            connection.scalar(
                select(func.count()).where(
                    q.in_reach(q.Reach(network_id), Commitment.group_id),
                    (Commitment.slips != q.slips()) | (stored != q.done_on_time(zone)),
                )
            )
            or 0
        )
    return total


def generate_or_reuse(path: Path, years: int, seed: int = 12) -> dict[str, Any]:
    """What ``generate`` made at ``path`` (kept beside it), generating it first when the file
    is missing or was made for other years."""
    notes = path.with_suffix(".json")
    if path.exists() and notes.exists():
        kept: dict[str, Any] = json.loads(notes.read_text())
        if kept.get("years") == years and kept.get("seed") == seed:
            # A file made before a migration is brought to the newest schema (which fills
            # what the migration adds the way it does for any database).
            upgrade(f"sqlite+aiosqlite:///{path}")
            return kept
    made = generate(path, years, seed)
    wrong = check(path, made)
    if wrong:
        raise SystemExit("\n".join(wrong))
    kept = {
        "years": years, "seed": seed, "network_id": made.network_id, "meetings": made.meetings,
        "commitments": made.commitments, "reviews": made.reviews, "events": made.events,
        "reopen_meeting": made.reopen_meeting, "live_meeting": made.live_meeting,
    }  # fmt: skip
    notes.write_text(json.dumps(kept))
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("/tmp/facilitator-history.db"))
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--check", action="store_true", help="cross-check the figures")
    args = parser.parse_args()
    began = time.perf_counter()
    made = generate(args.out, args.years, args.seed)
    print(
        f"{args.out}: {made.meetings} meetings, {made.commitments} commitments, "
        f"{made.reviews} reviews, {made.events} events in {time.perf_counter() - began:.1f} s"
    )
    if args.check:
        wrong = check(args.out, made)
        print("figures match plain SQL and the generator" if not wrong else "\n".join(wrong))
        if wrong:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
