"""The pure meeting flow: every move, every gate, the role table. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from facilitator import flow
from facilitator.errors import Forbidden, GateRefused, Invalid, NotFound, Refused
from facilitator.flow import Action, CloseFacts, MadeCommitment, Outcome, Role, Stage

L, R, O, A, C, X = (
    Stage.LOBBY,
    Stage.REVIEW,
    Stage.OPENER,
    Stage.AGENDA,
    Stage.COMMITMENTS,
    Stage.CLOSED,
)

# Written out by hand: forward one step, or back to any earlier stage. Nothing else.
ALLOWED_MOVES = {
    (L, R), (R, O), (O, A), (A, C),
    (R, L),
    (O, L), (O, R),
    (A, L), (A, R), (A, O),
    (C, L), (C, R), (C, O), (C, A),
}  # fmt: skip

ALL_PAIRS = [(a, b) for a in Stage for b in Stage]


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_every_move_is_allowed_or_refused_as_specified(current: Stage, target: Stage) -> None:
    if (current, target) in ALLOWED_MOVES:
        flow.check_move(current, target)
    else:
        with pytest.raises(Refused):
            flow.check_move(current, target)


@pytest.mark.parametrize(
    ("current", "target", "key"),
    [
        (X, L, "flow.meeting_closed"),
        (X, X, "flow.meeting_closed"),
        (C, X, "flow.close_through_gates"),
        (L, X, "flow.close_through_gates"),
        (O, O, "flow.already_there"),
        (L, O, "flow.no_skipping"),
        (R, C, "flow.no_skipping"),
    ],
)
def test_refused_moves_say_why(current: Stage, target: Stage, key: str) -> None:
    with pytest.raises(Refused) as refused:
        flow.check_move(current, target)
    assert refused.value.key == key


def test_skipping_names_the_next_stage() -> None:
    with pytest.raises(Refused) as refused:
        flow.check_move(L, A)
    assert refused.value.params == {"stage": "agenda", "next": "review"}


def test_only_leaving_the_lobby_for_review_reopens_commitments() -> None:
    starts = [(a, b) for a, b in ALL_PAIRS if flow.reopens_commitments(a, b)]
    assert starts == [(L, R)]


S, P, F, B = Role.FACILITATOR, Role.PARTICIPANT, Role.PROJECTOR, Role.BACKBONE
ANY, OWN = flow.Scope.ANY, flow.Scope.OWN

# The role table written out by hand, row by row: (facilitator, backbone, participant, projector).
EXPECTED_ROLES = {
    Action.VIEW: (ANY, ANY, ANY, ANY),
    Action.CREATE_MEETING: (ANY, ANY, None, None),
    Action.EDIT_AGENDA: (ANY, ANY, None, None),
    Action.START: (ANY, ANY, None, None),
    Action.MOVE: (ANY, ANY, None, None),
    Action.CLOSE: (ANY, ANY, None, None),
    Action.CANCEL: (ANY, ANY, None, None),
    Action.JOIN: (None, None, OWN, None),
    Action.RESPOND_OPENER: (None, None, OWN, None),
    Action.RECORD_OPENER_ACTION: (ANY, ANY, None, None),
    Action.RECORD_DECISION: (ANY, ANY, None, None),
    Action.FOCUS_ITEM: (ANY, ANY, None, None),
    Action.TIME_ITEM: (ANY, ANY, None, None),
    Action.SCHEDULE_NEXT: (ANY, ANY, None, None),
    Action.REVIEW_COMMITMENT: (ANY, ANY, OWN, None),
    Action.PROPOSE_COMMITMENT: (None, None, OWN, None),
    Action.ADD_COMMITMENT: (ANY, ANY, None, None),
    Action.CONFIRM_COMMITMENT: (ANY, ANY, None, None),
    Action.EDIT_COMMITMENT: (ANY, ANY, OWN, None),
    Action.WITHDRAW_COMMITMENT: (ANY, ANY, None, None),
    Action.RELEASE_NAME: (ANY, ANY, None, None),
    Action.MARK_PRESENT: (ANY, ANY, None, None),
    Action.DECIDE_CLAIM: (ANY, ANY, None, None),
    Action.ADD_TO_ROSTER: (ANY, ANY, None, None),
    Action.EDIT_VALUES: (None, ANY, None, None),
}


def test_role_table_covers_every_action() -> None:
    assert set(EXPECTED_ROLES) == set(Action)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", [S, B, P, F])
@pytest.mark.parametrize("own", [True, False])
def test_role_table(action: Action, role: Role, own: bool) -> None:
    scope = EXPECTED_ROLES[action][[S, B, P, F].index(role)]
    allowed = scope is ANY or (scope is OWN and own)
    if allowed:
        flow.authorize(role, action, own=own)
    else:
        with pytest.raises(Forbidden) as refused:
            flow.authorize(role, action, own=own)
        assert refused.value.key == "role.forbidden"


def test_a_phone_can_never_steer_the_meeting() -> None:
    for action in (
        Action.MOVE,
        Action.CLOSE,
        Action.CONFIRM_COMMITMENT,
        Action.ADD_COMMITMENT,
        Action.RELEASE_NAME,
    ):
        with pytest.raises(Forbidden):
            flow.authorize(P, action)
    with pytest.raises(Forbidden):
        flow.authorize(P, Action.REVIEW_COMMITMENT, own=False)


EXPECTED_WINDOWS = {
    Action.VIEW: {L, R, O, A, C, X},
    Action.CREATE_MEETING: {L},
    Action.CANCEL: {L, R, O, A, C},
    Action.START: {L, R, O, A, C},
    Action.RESPOND_OPENER: {O},
    Action.RECORD_OPENER_ACTION: {O},
    Action.RECORD_DECISION: {A},
    Action.FOCUS_ITEM: {A},
    Action.TIME_ITEM: {A},
    Action.SCHEDULE_NEXT: {X},
    Action.CLOSE: {C},
    Action.JOIN: {L, R, O, A, C},
    Action.REVIEW_COMMITMENT: {R, O, A, C},
    Action.PROPOSE_COMMITMENT: {A, C},
    Action.ADD_COMMITMENT: {A, C},
    Action.CONFIRM_COMMITMENT: {A, C},
    Action.EDIT_COMMITMENT: {A, C},
    Action.WITHDRAW_COMMITMENT: {A, C},
    Action.RELEASE_NAME: {L, R, O, A, C},
    Action.MARK_PRESENT: {L, R, O, A, C},
    Action.DECIDE_CLAIM: {L, R, O, A, C},
    Action.ADD_TO_ROSTER: {L, R, O, A, C, X},
    Action.EDIT_AGENDA: {L, R, O, A},
    Action.MOVE: {L, R, O, A, C},
    Action.EDIT_VALUES: {L, R, O, A, C},
}


def test_window_table_covers_every_action() -> None:
    assert set(EXPECTED_WINDOWS) == set(Action)


@pytest.mark.parametrize("action", list(EXPECTED_WINDOWS))
@pytest.mark.parametrize("stage", list(Stage))
def test_stage_windows(action: Action, stage: Stage) -> None:
    if stage in EXPECTED_WINDOWS[action]:
        flow.check_stage(stage, action)
    else:
        with pytest.raises(Refused) as refused:
            flow.check_stage(stage, action)
        expected = "flow.meeting_closed" if stage is X else "flow.wrong_stage"
        assert refused.value.key == expected


DAY = date(2026, 3, 2)


def facts(**changes: object) -> CloseFacts:
    base: dict[str, object] = {
        "meeting_day": DAY,
        "made": [MadeCommitment(1, DAY)],
        "pending_proposals": 0,
        "unreviewed": 0,
    }
    base.update(changes)
    return CloseFacts(**base)  # type: ignore[arg-type]


def keys(error: GateRefused) -> list[str]:
    return [reason.key for reason in error.reasons]


def test_close_passes_when_every_gate_holds() -> None:
    flow.check_close(C, facts())
    flow.check_close(C, facts(made=[MadeCommitment(1, DAY), MadeCommitment(2, date(2027, 1, 1))]))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"made": []}, "gate.no_commitment"),
        ({"unreviewed": 2}, "gate.unreviewed"),
        ({"pending_proposals": 1}, "gate.pending_proposals"),
        ({"made": [MadeCommitment(None, DAY)]}, "commitment.owner_required"),
        ({"made": [MadeCommitment(1, None)]}, "commitment.due_required"),
        ({"made": [MadeCommitment(1, date(2026, 3, 1))]}, "commitment.due_before_meeting"),
    ],
)
def test_each_gate_alone_refuses_close(change: dict[str, object], key: str) -> None:
    with pytest.raises(GateRefused) as refused:
        flow.check_close(C, facts(**change))
    assert keys(refused.value) == [key]


def test_all_unmet_gates_are_listed_together() -> None:
    with pytest.raises(GateRefused) as refused:
        flow.check_close(C, facts(made=[], unreviewed=3, pending_proposals=2))
    assert keys(refused.value) == [
        "gate.unreviewed",
        "gate.no_commitment",
        "gate.pending_proposals",
    ]
    assert refused.value.reasons[0].params == {"count": 3}


def test_close_only_from_the_commitments_stage() -> None:
    for stage in (L, R, O, A):
        with pytest.raises(Refused) as refused:
            flow.check_close(stage, facts())
        assert refused.value.key == "flow.wrong_stage"
    with pytest.raises(Refused) as refused:
        flow.check_close(X, facts())
    assert refused.value.key == "flow.meeting_closed"


def test_commitment_terms() -> None:
    flow.check_commitment_terms(1, DAY, DAY)
    for owner, due, key in [
        (None, DAY, "commitment.owner_required"),
        (1, None, "commitment.due_required"),
        (1, date(2026, 2, 28), "commitment.due_before_meeting"),
    ]:
        with pytest.raises(Invalid) as refused:
            flow.check_commitment_terms(owner, due, DAY)
        assert refused.value.key == key


OLD = date(2026, 3, 10)


def test_review_outcomes() -> None:
    done = flow.decide_review(Outcome.DONE, OLD, None, None, DAY)
    assert (done.status, done.due, done.new_due) == (flow.CommitmentStatus.DONE, OLD, None)
    on_track = flow.decide_review(Outcome.ON_TRACK, OLD, None, None, DAY)
    assert on_track.status is flow.CommitmentStatus.OPEN
    slipped = flow.decide_review(Outcome.SLIPPED, OLD, date(2026, 4, 1), None, DAY)
    assert (slipped.status, slipped.due, slipped.new_due) == (
        flow.CommitmentStatus.OPEN,
        date(2026, 4, 1),
        date(2026, 4, 1),
    )
    dropped = flow.decide_review(Outcome.DROPPED, OLD, None, "no budget", DAY)
    assert (dropped.status, dropped.reason) == (flow.CommitmentStatus.DROPPED, "no budget")


@pytest.mark.parametrize(
    ("outcome", "new_due", "reason", "key"),
    [
        (Outcome.SLIPPED, None, None, "review.new_due_required"),
        (Outcome.SLIPPED, OLD, None, "review.new_due_not_later"),
        (Outcome.SLIPPED, date(2026, 3, 1), None, "review.new_due_not_later"),
        (Outcome.DROPPED, None, None, "review.reason_required"),
        (Outcome.DROPPED, None, "", "review.reason_required"),
    ],
)
def test_review_gates(outcome: Outcome, new_due: date | None, reason: str | None, key: str) -> None:
    with pytest.raises(Invalid) as refused:
        flow.decide_review(outcome, OLD, new_due, reason, DAY)
    assert refused.value.key == key


def test_slipped_date_must_not_be_before_the_meeting() -> None:
    # Long overdue: a "later" date that is still before today makes no sense.
    with pytest.raises(Invalid) as refused:
        flow.decide_review(Outcome.SLIPPED, date(2026, 1, 1), date(2026, 2, 1), None, DAY)
    assert refused.value.key == "review.new_due_before_meeting"


def test_who_may_edit_a_commitment() -> None:
    flow.check_participant_edit(flow.CommitmentStatus.PROPOSED, P)
    flow.check_participant_edit(flow.CommitmentStatus.OPEN, S)
    with pytest.raises(Forbidden):
        flow.check_participant_edit(flow.CommitmentStatus.OPEN, P)
    for status in (
        flow.CommitmentStatus.DONE,
        flow.CommitmentStatus.DROPPED,
        flow.CommitmentStatus.REJECTED,
    ):
        with pytest.raises(Refused):
            flow.check_participant_edit(status, S)


def test_start_only_from_the_lobby_and_one_meeting_per_group_at_a_time() -> None:
    flow.check_start(L, None)
    for stage in (R, O, A, C, X):
        with pytest.raises(Refused) as refused:
            flow.check_start(stage, None)
        assert refused.value.key == "flow.already_started"
    with pytest.raises(Refused) as refused:
        flow.check_start(L, "June meeting")
    assert refused.value.key == "flow.group_busy"
    assert refused.value.params == {"title": "June meeting"}


def test_cancel_only_without_commitments() -> None:
    flow.check_cancel(0)
    with pytest.raises(Refused) as refused:
        flow.check_cancel(2)
    assert refused.value.key == "cancel.has_commitments"


# --- the agenda and its timer ------------------------------------------------------------------


def test_only_the_item_on_screen_pauses_and_only_while_it_runs() -> None:
    flow.check_pause(7, 7, running=True)
    with pytest.raises(Refused) as paused:
        flow.check_pause(7, 7, running=False)
    assert paused.value.key == "agenda.not_running"
    for on_screen in (None, 8):
        with pytest.raises(Refused) as elsewhere:
            flow.check_pause(on_screen, 7, running=True)
        assert elsewhere.value.key == "agenda.not_on_screen"


def test_only_a_paused_item_on_screen_resumes() -> None:
    flow.check_resume(7, 7, running=False)
    with pytest.raises(Refused) as running:
        flow.check_resume(7, 7, running=True)
    assert running.value.key == "agenda.already_running"
    with pytest.raises(Refused) as elsewhere:
        flow.check_resume(None, 7, running=False)
    assert elsewhere.value.key == "agenda.not_on_screen"


def test_seconds_run_are_whole_and_never_negative() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert flow.seconds_run(start, start + timedelta(minutes=2, seconds=5, milliseconds=900)) == 125
    assert flow.seconds_run(start, start - timedelta(seconds=3)) == 0


@pytest.mark.parametrize(
    ("item", "position", "expected"),
    [
        (30, 1, [30, 10, 20, 40]),
        (10, 4, [20, 30, 40, 10]),
        (20, 3, [10, 30, 20, 40]),
        (40, 3, [10, 20, 40, 30]),
    ],
)
def test_reorder_moves_one_item_and_closes_up(
    item: int, position: int, expected: list[int]
) -> None:
    assert flow.reorder([10, 20, 30, 40], item, position) == expected


def test_reorder_refuses_what_makes_no_sense() -> None:
    with pytest.raises(Invalid) as beyond:
        flow.reorder([10, 20], 10, 3)
    assert (beyond.value.key, beyond.value.params) == ("agenda.bad_position", {"last": 2})
    with pytest.raises(Invalid):
        flow.reorder([10, 20], 10, 0)
    with pytest.raises(NotFound):
        flow.reorder([10, 20], 99, 1)
    with pytest.raises(Refused) as same:
        flow.reorder([10, 20], 20, 2)
    assert same.value.key == "agenda.already_there"


def test_the_next_meeting_keeps_the_weekday_and_the_groups_rhythm() -> None:
    monday = date(2026, 3, 2)
    # No earlier meeting: two weeks on.
    assert flow.suggest_next_day(monday, None, monday) == date(2026, 3, 16)
    # Every three weeks, or monthly (rounded to four weeks), stays on a Monday.
    assert flow.suggest_next_day(monday, monday - timedelta(weeks=3), monday) == date(2026, 3, 23)
    monthly = flow.suggest_next_day(monday, date(2026, 2, 2), monday)
    assert (monthly, monthly.weekday()) == (date(2026, 3, 30), 0)
    # Far apart, or the same week: at most eight weeks, at least one.
    assert flow.suggest_next_day(monday, date(2025, 1, 6), monday) == monday + timedelta(weeks=8)
    assert flow.suggest_next_day(monday, monday - timedelta(days=2), monday) == date(2026, 3, 9)
    # Closed long after its day: the first such day that is still ahead.
    assert flow.suggest_next_day(monday, None, date(2026, 3, 20)) == date(2026, 3, 30)


def test_a_meeting_is_never_scheduled_in_the_past() -> None:
    flow.check_next_day(DAY, DAY)
    with pytest.raises(Invalid) as past:
        flow.check_next_day(DAY - timedelta(days=1), DAY)
    assert past.value.key == "meeting.date_in_past"


def test_only_a_confirmed_commitment_is_withdrawn() -> None:
    flow.check_withdraw(flow.CommitmentStatus.OPEN)
    with pytest.raises(Refused) as refused:
        flow.check_withdraw(flow.CommitmentStatus.PROPOSED)
    assert refused.value.key == "commitment.withdraw_proposal"
    for status in ("done", "dropped", "rejected", "withdrawn"):
        with pytest.raises(Refused) as refused:
            flow.check_withdraw(flow.CommitmentStatus(status))
        assert refused.value.key == "commitment.not_editable"


def test_withdrawn_and_turned_down_never_count_as_made() -> None:
    assert {"rejected", "withdrawn"} == flow.NOT_MADE
    with pytest.raises(Forbidden):
        flow.authorize(P, Action.WITHDRAW_COMMITMENT, own=True)


def test_only_leaving_the_agenda_stops_the_item_clock() -> None:
    for current in Stage:
        for target in Stage:
            expected = current is A and target is not A
            assert flow.stops_item_clock(current, target) is expected
