"""The backbone's figures on a history built by hand, with the right answers worked out here."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event

from facilitator.db import Database
from facilitator.errors import Invalid, NotFound
from facilitator.flow import Role
from facilitator.http.backbone_filters import filters_query, parse_filters, parse_page
from facilitator.localtime import local_day
from facilitator.services import (
    backbone,
    network,
    users,
)
from facilitator.services import backbone_figures as figures
from facilitator.services import backbone_meetings as meetings_report
from facilitator.services import backbone_queries as queries
from facilitator.services.backbone import Cursor, Filters, Page, Reach
from facilitator.services.backbone_meetings import SHOWN
from tests.support.backbone_history import AS_OF, build_history
from tests.support.world import POSTGRES, Clock, World


@pytest.fixture
async def history(db: Database, world: World, clock: Clock) -> dict[str, int]:
    """The small history every figure below is pinned on (``tests/support/backbone_history``)."""
    return await build_history(db, world, clock)


async def groups(db: Database, world: World) -> Reach:
    """The backbone's reach: the whole network."""
    return backbone.reach_of(world.network, world.backbone.user_id or 0, Role.BACKBONE)


async def test_carry_over_figures_and_order(
    db: Database, world: World, history: dict[str, int]
) -> None:
    report = await backbone.carryover(db, await groups(db, world), Filters(), AS_OF)
    assert report["figures"] == {
        "made": 7, "come_due": 5, "open": 3, "due_this_week": 1, "overdue": 1,
        "done": 3, "done_on_time": 2, "slipped": 1, "dropped": 1,
    }  # fmt: skip
    rows = {r["text"]: r for r in report["commitments"]}
    assert [r["text"] for r in report["commitments"]] == ["B", "E", "A", "G", "D", "C", "F"]
    assert rows["B"]["times_slipped"] == 2
    assert rows["B"]["due"] == "2026-04-13"
    assert rows["E"]["overdue"] is True
    assert rows["F"]["due_this_week"] is True
    assert rows["C"]["done_on_time"] is True
    assert rows["A"]["done_on_time"] is True
    assert rows["G"]["done_on_time"] is False
    assert rows["A"]["organization"]["sector"] == "government"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "overdue"}, ["E"]),
        ({"status": "slipped"}, ["B"]),
        ({"status": "done"}, ["A", "G", "C"]),
        ({"due_from": "2026-03-15", "due_to": "2026-03-31"}, ["E", "C"]),
    ],
)
async def test_filters(
    db: Database, world: World, history: dict[str, int], query: dict[str, str], expected: list[str]
) -> None:
    report = await backbone.carryover(db, await groups(db, world), parse_filters(query), AS_OF)
    assert [r["text"] for r in report["commitments"]] == expected


async def test_filters_by_owner_and_organization(
    db: Database, world: World, history: dict[str, int]
) -> None:
    visible = await groups(db, world)
    by_owner = await backbone.carryover(db, visible, Filters(owner=world.people[1]), AS_OF)
    assert [r["text"] for r in by_owner["commitments"]] == ["B", "F"]
    by_org = await backbone.carryover(db, visible, Filters(organization=world.orgs[0]), AS_OF)
    assert [r["text"] for r in by_org["commitments"]] == ["A", "D"]
    assert parse_filters(filters_query(Filters(owner=3, due_to=date(2026, 4, 1)))) == Filters(
        owner=3, due_to=date(2026, 4, 1)
    )


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"status": "lost"}, "filter.bad_status"),
        ({"group": "abc"}, "filter.bad_choice"),
        ({"owner": "9" * 30}, "filter.bad_choice"),
        ({"due_from": "31/03/2026"}, "input.bad_date"),
        ({"due_from": "2026-04-01", "due_to": "2026-03-01"}, "filter.bad_range"),
    ],
)
def test_bad_filters_are_refused_clearly(query: dict[str, str], key: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_filters(query)
    assert refused.value.key == key


async def test_accountability_by_organization(
    db: Database, world: World, history: dict[str, int]
) -> None:
    report = await backbone.accountability(db, await groups(db, world), "organization", AS_OF)
    rows = {r["id"]: r for r in report["rows"]}
    org0, org1, org2 = world.orgs
    # org0: A done on time, D dropped → 1 of 2 come due.
    assert {k: rows[org0][k] for k in ("made", "done", "done_on_time", "dropped", "come_due", "on_time_rate")} == {
        "made": 2, "done": 1, "done_on_time": 1, "dropped": 1, "come_due": 2, "on_time_rate": 0.5,
    }  # fmt: skip
    # org1: B and F not due yet, E overdue → 0 of 1 come due.
    assert {k: rows[org1][k] for k in ("made", "open", "overdue", "slipped", "come_due", "on_time_rate")} == {
        "made": 3, "open": 3, "overdue": 1, "slipped": 1, "come_due": 1, "on_time_rate": 0.0,
    }  # fmt: skip
    # org2: C on time, G late → 1 of 2.
    assert (rows[org2]["made"], rows[org2]["done_on_time"], rows[org2]["on_time_rate"]) == (
        2,
        1,
        0.5,
    )
    by_group = await backbone.accountability(db, await groups(db, world), "group", AS_OF)
    assert [(r["name"], r["made"], r["on_time_rate"]) for r in by_group["rows"]] == [
        ("קבוצת עבודה", 7, 0.4)
    ]


async def test_attendance_and_representation(
    db: Database, world: World, history: dict[str, int]
) -> None:
    report = await backbone.attendance(db, await groups(db, world))
    group = next(g for g in report["groups"] if g["id"] == world.group)
    assert [(m["day"], m["attended"], m["sectors"]) for m in group["meetings"]] == [
        ("2026-03-02", 3, ["community", "government", "nonprofit"]),
        ("2026-03-16", 3, ["government", "nonprofit"]),
        ("2026-03-30", 2, ["nonprofit"]),
    ]
    assert [p["id"] for p in group["stopped_coming"]] == [world.people[2]]
    assert [o["id"] for o in group["organizations_stopped"]] == [world.orgs[2]]
    assert (group["community_present"], group["community_rate"]) == (1, 0.333)


async def test_opener_trends(db: Database, world: World, history: dict[str, int]) -> None:
    report = await backbone.opener_trends(db, await groups(db, world))
    group = next(g for g in report["groups"] if g["id"] == world.group)
    counts = {b["id"]: b["counts"] for b in group["blockers"]}
    assert counts[history["b0"]] == [2, 0, 0]
    assert counts[history["b4"]] == [1, 1, 0]


async def test_history_of_a_commitment(db: Database, world: World, history: dict[str, int]) -> None:
    journey = await backbone.history(db, await groups(db, world), history["B"])
    assert journey["commitment"]["times_slipped"] == 2
    assert [
        (r["meeting"]["day"], r["outcome"], r["old_due"], r["new_due"]) for r in journey["reviews"]
    ] == [
        ("2026-03-16", "slipped", "2026-03-09", "2026-03-30"),
        ("2026-03-30", "slipped", "2026-03-30", "2026-04-13"),
    ]
    assert journey["reviews"][0]["reported_by"] == "מנחה"


async def test_a_facilitator_sees_only_their_groups(
    db: Database, world: World, history: dict[str, int]
) -> None:
    newcomer = await users.create_user(
        db, world.network, "new@example.org", "a long password", name="חדשה", role="facilitator"
    )
    assert await backbone.visible_groups(db, world.network, newcomer, Role.FACILITATOR) == []
    await network.assign_staff(db, world.other_group, newcomer)
    assert await backbone.visible_groups(db, world.network, newcomer, Role.FACILITATOR) == [
        world.other_group
    ]
    everything = await backbone.visible_groups(
        db, world.network, world.backbone.user_id or 0, Role.BACKBONE
    )
    assert everything == sorted([world.group, world.other_group])
    with pytest.raises(Exception) as hidden:
        await backbone.history(db, Reach(world.network, newcomer), history["B"])
    assert getattr(hidden.value, "key", None) == "commitment.not_found"


async def test_pages_follow_the_order_both_ways_and_keep_the_figures(
    db: Database, world: World, history: dict[str, int]
) -> None:
    reach = await groups(db, world)
    whole = await backbone.carryover(db, reach, Filters(), AS_OF)
    assert (whole["previous"], whole["next"]) == (None, None)
    seen: list[str] = []
    pages = []
    after: Cursor | None = None
    while True:
        page = await backbone.carryover(db, reach, Filters(), AS_OF, Page(after=after, size=3))
        assert page["figures"] == whole["figures"]  # the tiles count everything, not the page
        pages.append(page)
        seen += [r["text"] for r in page["commitments"]]
        if page["next"] is None:
            break
        after = parse_page({"after": page["next"]}).after
    assert seen == ["B", "E", "A", "G", "D", "C", "F"]
    assert [len(p["commitments"]) for p in pages] == [3, 3, 1]
    assert pages[0]["previous"] is None
    assert pages[1]["previous"] is not None
    back = parse_page({"before": pages[2]["previous"]})
    again = await backbone.carryover(db, reach, Filters(), AS_OF, Page(before=back.before, size=3))
    assert [r["text"] for r in again["commitments"]] == ["G", "D", "C"]
    assert again["next"] is not None
    assert again["previous"] is not None


async def test_an_export_reads_in_batches_in_the_pages_order(
    db: Database, world: World, history: dict[str, int]
) -> None:
    reach = await groups(db, world)
    batches = [
        [r["text"] for r in rows]
        async for rows in backbone.commitments_in_batches(
            db, reach, Filters(status="open"), AS_OF, batch=2
        )
    ]
    assert batches == [["B", "E"], ["F"]]


@pytest.mark.parametrize(
    "raw", ["x", "4.2026-01-01.3", "1.2026-13-01.3", "1.2026-01-01." + "9" * 20]
)
def test_a_bad_page_link_is_refused_by_name(raw: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_page({"after": raw})
    assert refused.value.key == "filter.bad_page"


async def test_a_facilitators_figures_count_only_their_groups(
    db: Database, world: World, history: dict[str, int]
) -> None:
    newcomer = await users.create_user(
        db,
        world.network,
        "second-facilitator@example.org",
        "a long password",
        name="חדש",
        role="facilitator",
    )
    mine = backbone.reach_of(world.network, newcomer, Role.FACILITATOR)
    nothing = await backbone.carryover(db, mine, Filters(), AS_OF)
    assert (nothing["figures"]["made"], nothing["commitments"]) == (0, [])
    await network.assign_staff(db, world.group, newcomer)
    report = await backbone.carryover(db, mine, Filters(), AS_OF)
    assert report["figures"]["made"] == 7
    with pytest.raises(NotFound):
        await backbone.accountability(db, backbone.Reach(world.network + 1000), "group", AS_OF)


BIG_TABLES = ("commitments", "commitment_reviews", "meeting_events", "attendance")


@pytest.mark.skipif(bool(POSTGRES), reason="SQLite's query plans")
async def test_the_reports_search_the_big_tables_by_index_never_scan_them(
    db: Database, world: World, history: dict[str, int]
) -> None:
    reach = await groups(db, world)
    statements: list[tuple[str, Any]] = []

    def plans(connection: Connection) -> list[str]:
        def note(_c: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
            if not statement.startswith("EXPLAIN"):
                statements.append((statement, params))

        event.listen(connection, "before_cursor_execute", note)
        zone = "Asia/Jerusalem"
        ids, _b, _a = queries.page_ids(connection, reach, Filters(), AS_OF, Page())
        figures.figures(connection, reach, Filters(status="slipped"), AS_OF)
        figures.rows(connection, ids, AS_OF, zone)
        figures.breakdown(connection, reach, "organization", AS_OF)
        figures.journey(connection, reach, history["B"])
        meetings_report.attendance(connection, reach)
        meetings_report.opener_trends(connection, reach)
        event.remove(connection, "before_cursor_execute", note)
        found = []
        for statement, params in statements:
            for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params):
                found.append(str(row[3]))
        return found

    steps = await db.read_sync(plans)
    assert len(statements) >= 10
    scans = [s for s in steps if s.startswith("SCAN") and s.split()[1] in BIG_TABLES]
    assert scans == []
    searched = {s.split()[1] for s in steps if s.startswith("SEARCH")}
    assert {"commitments", "commitment_reviews", "attendance"} <= searched


def test_the_latest_meetings_are_picked_by_day_then_id_as_before() -> None:
    """``_latest`` works a day out only for the last meetings and those sharing their earliest
    day; it must pick what sorting every meeting by (day, id) picks, ties and all."""
    zone = "Asia/Jerusalem"
    rng = random.Random(12)
    for _ in range(200):
        ran = []
        for meeting_id in rng.sample(range(1, 1000), rng.randint(0, 30)):
            start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 6))
            ran.append((start.replace(tzinfo=None).isoformat(" "), meeting_id, f"m{meeting_id}"))
        everything = sorted(
            (local_day(datetime.fromisoformat(s), zone), mid, title) for s, mid, title in ran
        )
        expected = [(mid, title, day.isoformat()) for day, mid, title in everything[-SHOWN:]]
        assert meetings_report._latest(list(ran), zone) == expected
