"""The stages of a meeting, the moves between them, and who may do what in which stage."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, StrEnum

from facilitator.errors import Forbidden, Refused


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
    DECIDE_CLAIM = "decide_claim"
    ADD_TO_ROSTER = "add_to_roster"
    EDIT_VALUES = "edit_values"


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
    Action.DECIDE_CLAIM: _STAFF,
    Action.ADD_TO_ROSTER: _STAFF,
    Action.SCHEDULE_NEXT: _STAFF,
    # The network's shared values stand on every agenda: its backbone keeps them.
    Action.EDIT_VALUES: {Role.BACKBONE: Scope.ANY},
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
    Action.DECIDE_CLAIM: OPEN_STAGES,
    # The roster outlives the meeting: a guest may be put on it once the meeting closed, too.
    Action.ADD_TO_ROSTER: frozenset(STAGES),
    # The next meeting is planned from the record of this one, once it is closed.
    Action.SCHEDULE_NEXT: frozenset({Stage.CLOSED}),
    # A closed meeting's record keeps the values it was held under.
    Action.EDIT_VALUES: OPEN_STAGES,
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


def stops_item_clock(current: Stage, target: Stage) -> bool:
    """Leaving the agenda stage pauses the clock of the item on screen: the time spent on other
    stages is not the item's."""
    return current is Stage.AGENDA and target is not Stage.AGENDA


def reopens_commitments(current: Stage, target: Stage) -> bool:
    """Starting the meeting (leaving the lobby for review) reopens the group's carried commitments."""
    return current is Stage.LOBBY and target is Stage.REVIEW
