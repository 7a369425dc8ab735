"""The meeting flow: stages, moves, gates and who may do what.

Pure on purpose (no asyncio, Starlette or SQLAlchemy): services feed it plain facts and it
answers with a decision or raises a ``DomainError`` whose key a person can read and act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum, StrEnum

from facilitator.errors import DomainError, Forbidden, GateRefused, Invalid, NotFound, Refused


class Stage(StrEnum):
    LOBBY = "lobby"
    REVIEW = "review"
    OPENER = "opener"
    AGENDA = "agenda"
    COMMITMENTS = "commitments"
    CLOSED = "closed"


STAGES: tuple[Stage, ...] = tuple(Stage)
OPEN_STAGES = frozenset(STAGES[:-1])


class Role(StrEnum):
    FACILITATOR = "facilitator"
    BACKBONE = "backbone"
    PARTICIPANT = "participant"
    PROJECTOR = "projector"


class Scope(Enum):
    """How far a permission reaches: anything in the meeting, or only the sender's own."""

    ANY = "any"
    OWN = "own"


class Action(StrEnum):
    VIEW = "view"
    CREATE_MEETING = "create_meeting"
    EDIT_AGENDA = "edit_agenda"
    START = "start"
    MOVE = "move"
    CLOSE = "close"
    CANCEL = "cancel"
    JOIN = "join"
    RESPOND_OPENER = "respond_opener"
    RECORD_OPENER_ACTION = "record_opener_action"
    RECORD_DECISION = "record_decision"
    FOCUS_ITEM = "focus_item"
    TIME_ITEM = "time_item"
    REVIEW_COMMITMENT = "review_commitment"
    PROPOSE_COMMITMENT = "propose_commitment"
    ADD_COMMITMENT = "add_commitment"
    CONFIRM_COMMITMENT = "confirm_commitment"
    EDIT_COMMITMENT = "edit_commitment"
    SCHEDULE_NEXT = "schedule_next"
    WITHDRAW_COMMITMENT = "withdraw_commitment"
    RELEASE_NAME = "release_name"
    MARK_PRESENT = "mark_present"
    ADD_TO_ROSTER = "add_to_roster"


_STAFF: Mapping[Role, Scope] = {Role.FACILITATOR: Scope.ANY, Role.BACKBONE: Scope.ANY}

#: Who may do what: the one table. A role missing from an action's row may not do it at all.
PERMISSIONS: Mapping[Action, Mapping[Role, Scope]] = {
    Action.VIEW: dict.fromkeys(Role, Scope.ANY),
    Action.CREATE_MEETING: _STAFF,
    Action.EDIT_AGENDA: _STAFF,
    Action.START: _STAFF,
    Action.MOVE: _STAFF,
    Action.CLOSE: _STAFF,
    Action.CANCEL: _STAFF,
    Action.JOIN: {Role.PARTICIPANT: Scope.OWN},
    Action.RESPOND_OPENER: {Role.PARTICIPANT: Scope.OWN},
    Action.RECORD_OPENER_ACTION: _STAFF,
    Action.RECORD_DECISION: _STAFF,
    Action.FOCUS_ITEM: _STAFF,
    Action.TIME_ITEM: _STAFF,
    Action.REVIEW_COMMITMENT: {**_STAFF, Role.PARTICIPANT: Scope.OWN},
    Action.PROPOSE_COMMITMENT: {Role.PARTICIPANT: Scope.OWN},
    Action.ADD_COMMITMENT: _STAFF,
    Action.CONFIRM_COMMITMENT: _STAFF,
    Action.EDIT_COMMITMENT: {**_STAFF, Role.PARTICIPANT: Scope.OWN},
    Action.WITHDRAW_COMMITMENT: _STAFF,
    # Freeing a name from the phone that holds it: never a phone's own doing.
    Action.RELEASE_NAME: _STAFF,
    # Attendance for someone without a phone, and a guest put on the roster: staff only.
    Action.MARK_PRESENT: _STAFF,
    Action.ADD_TO_ROSTER: _STAFF,
    Action.SCHEDULE_NEXT: _STAFF,
}

_LIVE = frozenset({Stage.REVIEW, Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS})
_MAKING = frozenset({Stage.AGENDA, Stage.COMMITMENTS})

#: In which stages each action is allowed.
STAGE_WINDOWS: Mapping[Action, frozenset[Stage]] = {
    Action.VIEW: frozenset(STAGES),
    Action.CREATE_MEETING: frozenset({Stage.LOBBY}),
    Action.EDIT_AGENDA: frozenset({Stage.LOBBY, Stage.REVIEW, Stage.OPENER, Stage.AGENDA}),
    # Any open stage: starting twice gets its own answer from ``check_start``.
    Action.START: OPEN_STAGES,
    Action.MOVE: OPEN_STAGES,
    Action.CLOSE: frozenset({Stage.COMMITMENTS}),
    Action.CANCEL: OPEN_STAGES,
    Action.JOIN: OPEN_STAGES,
    Action.RESPOND_OPENER: frozenset({Stage.OPENER}),
    Action.RECORD_OPENER_ACTION: frozenset({Stage.OPENER}),
    Action.RECORD_DECISION: frozenset({Stage.AGENDA}),
    Action.FOCUS_ITEM: frozenset({Stage.AGENDA}),
    Action.TIME_ITEM: frozenset({Stage.AGENDA}),
    Action.REVIEW_COMMITMENT: _LIVE,
    Action.PROPOSE_COMMITMENT: _MAKING,
    Action.ADD_COMMITMENT: _MAKING,
    Action.CONFIRM_COMMITMENT: _MAKING,
    Action.EDIT_COMMITMENT: _MAKING,
    Action.WITHDRAW_COMMITMENT: _MAKING,
    Action.RELEASE_NAME: OPEN_STAGES,
    Action.MARK_PRESENT: OPEN_STAGES,
    # The roster outlives the meeting: a guest may be put on it once the meeting closed, too.
    Action.ADD_TO_ROSTER: frozenset(STAGES),
    # The next meeting is planned from the record of this one, once it is closed.
    Action.SCHEDULE_NEXT: frozenset({Stage.CLOSED}),
}


def authorize(role: Role, action: Action, *, own: bool = True) -> None:
    """Refuse unless ``role`` may do ``action``; ``own`` says the target is the sender's own."""
    scope = PERMISSIONS[action].get(role)
    if scope is None or (scope is Scope.OWN and not own):
        raise Forbidden("role.forbidden", role=role.value, action=action.value)


def check_stage(stage: Stage, action: Action) -> None:
    """Refuse ``action`` when the meeting is not in a stage that allows it."""
    if stage not in STAGE_WINDOWS[action]:
        if stage is Stage.CLOSED:
            raise Refused("flow.meeting_closed")
        raise Refused("flow.wrong_stage", action=action.value, stage=stage.value)


def check_move(current: Stage, target: Stage) -> None:
    """Forward one stage at a time, or back to any earlier stage; closing goes through gates."""
    if current is Stage.CLOSED:
        raise Refused("flow.meeting_closed")
    if target is Stage.CLOSED:
        raise Refused("flow.close_through_gates")
    here, there = STAGES.index(current), STAGES.index(target)
    if there == here:
        raise Refused("flow.already_there", stage=target.value)
    if there > here + 1:
        raise Refused("flow.no_skipping", stage=target.value, next=STAGES[here + 1].value)


def check_start(current: Stage, other_live_meeting: str | None) -> None:
    """Start only from the lobby, and only while no other meeting of the group is under way:
    two at once would each reopen, and each review, the same carried commitments."""
    if current is not Stage.LOBBY:
        raise Refused("flow.already_started")
    if other_live_meeting is not None:
        raise Refused("flow.group_busy", title=other_live_meeting)


def check_cancel(made: int) -> None:
    """A meeting is called off only while nothing was committed in it; otherwise it closes."""
    if made:
        raise Refused("cancel.has_commitments", count=made)


def stops_item_clock(current: Stage, target: Stage) -> bool:
    """Leaving the agenda stage pauses the clock of the item on screen: the time spent on other
    stages is not the item's."""
    return current is Stage.AGENDA and target is not Stage.AGENDA


def reopens_commitments(current: Stage, target: Stage) -> bool:
    """Starting the meeting (leaving the lobby for review) reopens the group's carried commitments."""
    return current is Stage.LOBBY and target is Stage.REVIEW


# --- the agenda and its timer ------------------------------------------------------------------


def check_pause(on_screen: int | None, item_id: int, running: bool) -> None:
    """Pause only the item on screen, and only while its timer runs."""
    if on_screen != item_id:
        raise Refused("agenda.not_on_screen")
    if not running:
        raise Refused("agenda.not_running")


def check_resume(on_screen: int | None, item_id: int, running: bool) -> None:
    """Resume only the item on screen, and only while it is paused."""
    if on_screen != item_id:
        raise Refused("agenda.not_on_screen")
    if running:
        raise Refused("agenda.already_running")


def seconds_run(started: datetime, now: datetime) -> int:
    """Whole seconds a timer ran since ``started`` (never negative, should the clock step back)."""
    return max(0, int((now - started).total_seconds()))


def reorder(order: Sequence[int], item_id: int, position: int) -> list[int]:
    """The agenda's item ids after moving ``item_id`` to ``position`` (1 is the first)."""
    if item_id not in order:
        raise NotFound("agenda.item_not_found")
    if not 1 <= position <= len(order):
        raise Invalid("agenda.bad_position", last=len(order))
    if order.index(item_id) == position - 1:
        raise Refused("agenda.already_there", position=position)
    rest = [i for i in order if i != item_id]
    rest.insert(position - 1, item_id)
    return rest


def suggest_next_day(day: date, previous: date | None, today: date) -> date:
    """The group's next meeting: the same weekday, as many weeks on as the gap between its last
    two meetings (one to eight; two when there is no earlier one), and never before tomorrow."""
    weeks = 2
    if previous is not None and previous < day:
        weeks = min(8, max(1, round((day - previous).days / 7)))
    step = timedelta(weeks=weeks)
    suggested = day + step
    while suggested <= today:
        suggested += step
    return suggested


def check_next_day(day: date, today: date) -> None:
    """A meeting is scheduled for today or later."""
    if day < today:
        raise Invalid("meeting.date_in_past")


# --- commitments -------------------------------------------------------------------------------


class Outcome(StrEnum):
    DONE = "done"
    ON_TRACK = "on_track"
    SLIPPED = "slipped"
    DROPPED = "dropped"


class CommitmentStatus(StrEnum):
    PROPOSED = "proposed"
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"
    REJECTED = "rejected"
    # Confirmed, then taken back before the meeting closed: it never counts as made.
    WITHDRAWN = "withdrawn"


#: A proposal turned down, or a commitment taken back before the close: never counted as made.
NOT_MADE = frozenset({CommitmentStatus.REJECTED.value, CommitmentStatus.WITHDRAWN.value})


def check_commitment_terms(owner_id: int | None, due: date | None, meeting_day: date) -> None:
    """Every commitment has an owner and a due date on or after the meeting day."""
    problems = commitment_problems(owner_id, due, meeting_day)
    if problems:
        raise problems[0]


def commitment_problems(owner_id: int | None, due: date | None, meeting_day: date) -> list[Invalid]:
    problems: list[Invalid] = []
    if owner_id is None:
        problems.append(Invalid("commitment.owner_required"))
    if due is None:
        problems.append(Invalid("commitment.due_required"))
    elif due < meeting_day:
        problems.append(Invalid("commitment.due_before_meeting", day=meeting_day.isoformat()))
    return problems


@dataclass(frozen=True)
class ReviewDecision:
    """What a valid review does to its commitment."""

    status: CommitmentStatus
    due: date
    new_due: date | None
    reason: str | None


def decide_review(
    outcome: Outcome, old_due: date, new_due: date | None, reason: str | None, meeting_day: date
) -> ReviewDecision:
    """Check a review and say what it changes. Slipped needs a later date; dropped, a reason."""
    if outcome is Outcome.SLIPPED:
        if new_due is None:
            raise Invalid("review.new_due_required")
        if new_due <= old_due:
            raise Invalid("review.new_due_not_later", old=old_due.isoformat())
        if new_due < meeting_day:
            raise Invalid("review.new_due_before_meeting", day=meeting_day.isoformat())
        return ReviewDecision(CommitmentStatus.OPEN, new_due, new_due, None)
    if outcome is Outcome.DROPPED:
        if not reason:
            raise Invalid("review.reason_required")
        return ReviewDecision(CommitmentStatus.DROPPED, old_due, None, reason)
    status = CommitmentStatus.DONE if outcome is Outcome.DONE else CommitmentStatus.OPEN
    return ReviewDecision(status, old_due, None, None)


def check_participant_edit(status: CommitmentStatus, role: Role) -> None:
    """Once confirmed, only staff change a commitment; a phone edits its own proposal."""
    if status in (
        CommitmentStatus.DONE,
        CommitmentStatus.DROPPED,
        CommitmentStatus.REJECTED,
        CommitmentStatus.WITHDRAWN,
    ):
        raise Refused("commitment.not_editable", status=status.value)
    if role is Role.PARTICIPANT and status is not CommitmentStatus.PROPOSED:
        raise Forbidden("commitment.confirmed_locked")


def check_withdraw(status: CommitmentStatus) -> None:
    """Only a confirmed commitment is withdrawn; a proposal is turned down instead."""
    if status is CommitmentStatus.PROPOSED:
        raise Refused("commitment.withdraw_proposal")
    if status is not CommitmentStatus.OPEN:
        raise Refused("commitment.not_editable", status=status.value)


# --- gates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MadeCommitment:
    """A commitment made in this meeting, as the close gate sees it."""

    owner_id: int | None
    due: date | None


@dataclass(frozen=True)
class CloseFacts:
    meeting_day: date
    made: Sequence[MadeCommitment]
    pending_proposals: int
    unreviewed: int


def close_problems(facts: CloseFacts) -> list[DomainError]:
    """Every reason the meeting cannot close yet, in the order a facilitator would fix them."""
    problems: list[DomainError] = []
    if facts.unreviewed:
        problems.append(Refused("gate.unreviewed", count=facts.unreviewed))
    if not facts.made:
        problems.append(Refused("gate.no_commitment"))
    if facts.pending_proposals:
        problems.append(Refused("gate.pending_proposals", count=facts.pending_proposals))
    for made in facts.made:
        problems.extend(commitment_problems(made.owner_id, made.due, facts.meeting_day))
    return problems


def check_close(stage: Stage, facts: CloseFacts) -> None:
    """Refuse closing with every unmet gate listed, so the console can show them all at once."""
    check_stage(stage, Action.CLOSE)
    problems = close_problems(facts)
    if problems:
        raise GateRefused(problems)
