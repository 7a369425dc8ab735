"""The agenda's limits, a meeting's day, and the commitment rules that were once in services:
each fed plain facts. No I/O."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from facilitator import flow
from facilitator.errors import Forbidden, Invalid, NotFound, Refused
from facilitator.flow import MAX_AGENDA_ITEMS, MAX_ITEM_MINUTES, CommitmentStatus, Role
from facilitator.flow import StrategyFacts as S

TODAY = date(2026, 3, 10)
DAY = timedelta(days=1)


def test_an_agenda_holds_at_most_forty_items_however_they_arrive() -> None:
    flow.check_agenda_room(0, MAX_AGENDA_ITEMS)
    flow.check_agenda_room(MAX_AGENDA_ITEMS - 1)
    flow.check_agenda_room(0, 0)
    for count, adding in ((MAX_AGENDA_ITEMS, 1), (0, MAX_AGENDA_ITEMS + 1), (39, 2)):
        with pytest.raises(Invalid) as full:
            flow.check_agenda_room(count, adding)
        assert (full.value.key, full.value.params) == ("agenda.too_many", {"limit": 40})


@pytest.mark.parametrize("minutes", [0, 1, MAX_ITEM_MINUTES])
def test_item_minutes_within_bounds(minutes: int) -> None:
    assert flow.check_item_minutes(minutes) == minutes


@pytest.mark.parametrize("minutes", [-1, MAX_ITEM_MINUTES + 1, True, 1.5, "10", None])
def test_item_minutes_out_of_bounds_or_not_whole(minutes: object) -> None:
    with pytest.raises(Invalid) as refused:
        flow.check_item_minutes(minutes)
    assert (refused.value.key, refused.value.params) == (
        "input.out_of_range",
        {"field": "minutes", "low": 0, "high": MAX_ITEM_MINUTES},
    )


def test_a_meeting_not_started_moves_to_today_or_later() -> None:
    planned = TODAY + 7 * DAY
    flow.check_reschedule(False, planned, TODAY, TODAY)
    flow.check_reschedule(False, planned, TODAY + DAY, TODAY)
    with pytest.raises(Invalid) as past:
        flow.check_reschedule(False, planned, TODAY - DAY, TODAY)
    assert past.value.key == "meeting.date_in_past"


def test_a_day_left_as_it_was_is_no_change_even_once_past() -> None:
    # A meeting planned for last week is renamed: its day is not a new choice of the past.
    flow.check_reschedule(False, TODAY - 7 * DAY, TODAY - 7 * DAY, TODAY)
    flow.check_reschedule(True, TODAY - 7 * DAY, TODAY - 7 * DAY, TODAY)


def test_a_started_meeting_keeps_its_day_even_to_a_later_one() -> None:
    for new_day in (TODAY + DAY, TODAY - DAY, TODAY):
        with pytest.raises(Refused) as kept:
            flow.check_reschedule(True, TODAY - 2 * DAY, new_day, TODAY)
        assert kept.value.key == "meeting.started_keeps_day"


def test_only_a_proposal_is_confirmed_or_turned_down() -> None:
    flow.check_confirm(CommitmentStatus.PROPOSED)
    for status in set(CommitmentStatus) - {CommitmentStatus.PROPOSED}:
        with pytest.raises(Refused) as refused:
            flow.check_confirm(status)
        assert refused.value.key == "commitment.not_proposed"


def test_a_phone_never_changes_the_owner() -> None:
    flow.check_owner_change(Role.FACILITATOR)
    flow.check_owner_change(Role.BACKBONE)
    with pytest.raises(Invalid) as fixed:
        flow.check_owner_change(Role.PARTICIPANT)
    assert fixed.value.key == "commitment.owner_fixed"


def test_the_owner_is_a_person_of_the_network() -> None:
    flow.check_owner(1, 1)
    for network in (None, 2):
        with pytest.raises(Invalid) as unknown:
            flow.check_owner(network, 1)
        assert unknown.value.key == "commitment.owner_unknown"


def test_a_link_names_a_live_strategy_of_the_network() -> None:
    flow.check_strategy_link(S(network_id=1, archived=False), 1, 5)
    for facts in (None, S(network_id=2, archived=False)):
        with pytest.raises(NotFound) as missing:
            flow.check_strategy_link(facts, 1, 5)
        assert missing.value.key == "strategy.not_found"


def test_an_archived_strategy_keeps_the_links_it_has_and_gets_no_new_one() -> None:
    archived = S(network_id=1, archived=True)
    flow.check_strategy_link(archived, 1, 5, kept=5)
    for kept in (None, 6):
        with pytest.raises(Refused) as refused:
            flow.check_strategy_link(archived, 1, 5, kept=kept)
        assert refused.value.key == "strategy.archived"
    # Another network's strategy is not found, archived or not, kept or not.
    with pytest.raises(NotFound):
        flow.check_strategy_link(S(network_id=2, archived=True), 1, 5, kept=5)


def test_made_is_confirmed_whatever_came_of_it() -> None:
    made = {CommitmentStatus.OPEN, CommitmentStatus.DONE, CommitmentStatus.DROPPED}
    assert made == flow.MADE
    assert {CommitmentStatus.REJECTED, CommitmentStatus.WITHDRAWN} == flow.NOT_MADE
    # Every status is made, not made, or a proposal still waiting: never two of these.
    assert flow.MADE | flow.NOT_MADE | {CommitmentStatus.PROPOSED} == set(CommitmentStatus)
    assert not flow.MADE & flow.NOT_MADE
    for status in CommitmentStatus:
        assert flow.is_made(status.value) is (status in made)
    assert not flow.is_made("nonsense")


def test_an_archived_group_gets_no_new_meeting() -> None:
    flow.check_group_open(False)
    with pytest.raises(Refused) as archived:
        flow.check_group_open(True)
    assert archived.value.key == "group.archived"


@pytest.mark.parametrize("outcome", ["done", "on_track", "stuck"])
def test_an_owner_reports_on_their_own_open_commitment(outcome: str) -> None:
    assert flow.check_report(True, CommitmentStatus.OPEN.value, outcome) == flow.Report(outcome)


@pytest.mark.parametrize(
    ("owner", "status", "outcome", "error", "key"),
    [
        (False, "open", "done", Forbidden, "report.not_yours"),
        (True, "done", "done", Refused, "report.not_open"),
        (True, "dropped", "stuck", Refused, "report.not_open"),
        (True, "open", "slipped", Invalid, "report.bad_outcome"),
        (True, "open", None, Invalid, "report.bad_outcome"),
    ],
)
def test_a_report_from_anyone_else_or_on_a_closed_commitment_is_refused(
    owner: bool, status: str, outcome: object, error: type[Exception], key: str
) -> None:
    with pytest.raises(error) as refused:
        flow.check_report(owner, status, outcome)
    assert getattr(refused.value, "key", None) == key
