"""Commitments: their terms, the reviews at later meetings, and who may change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from facilitator.errors import Forbidden, Invalid, NotFound, Refused
from facilitator.flow.stages import Role


class Outcome(StrEnum):
    DONE = "done"
    ON_TRACK = "on_track"
    SLIPPED = "slipped"
    DROPPED = "dropped"


class Report(StrEnum):
    """What an owner says of their commitment between meetings, from their own page: the next
    meeting's review starts from it, and the facilitator confirms or changes it."""

    DONE = "done"
    ON_TRACK = "on_track"
    STUCK = "stuck"


class CommitmentStatus(StrEnum):
    PROPOSED = "proposed"
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"
    REJECTED = "rejected"
    # Confirmed, then taken back before the meeting closed: it never counts as made.
    WITHDRAWN = "withdrawn"


#: The statuses of a commitment *made* in its meeting: confirmed, whatever its reports said since.
#: The one definition: the close gate, cancelling, the record and the backbone figures use it.
MADE = frozenset({CommitmentStatus.OPEN, CommitmentStatus.DONE, CommitmentStatus.DROPPED})

#: A proposal turned down, or a commitment taken back before the close: never counted as made
#: (a proposal still waiting is neither made nor refused).
NOT_MADE = frozenset(set(CommitmentStatus) - MADE - {CommitmentStatus.PROPOSED})


def is_made(status: str) -> bool:
    """Whether a commitment with this status counts as made."""
    return status in MADE


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


def check_confirm(status: CommitmentStatus) -> None:
    """Only a proposal is confirmed or turned down."""
    if status is not CommitmentStatus.PROPOSED:
        raise Refused("commitment.not_proposed")


def check_owner_change(role: Role) -> None:
    """A phone never gives its commitment to someone else: only staff change the owner."""
    if role is Role.PARTICIPANT:
        raise Invalid("commitment.owner_fixed")


def check_owner(owner_network: int | None, network_id: int) -> None:
    """A commitment's owner is a person of the meeting's network (``None``: no such person)."""
    if owner_network is None or owner_network != network_id:
        raise Invalid("commitment.owner_unknown")


def check_report(owner: bool, status: str, outcome: object) -> Report:
    """An owner reports on their own open commitment, and nobody else on it: a personal page
    speaks only for its person."""
    if not owner:
        raise Forbidden("report.not_yours")
    if status != CommitmentStatus.OPEN.value:
        raise Refused("report.not_open")
    if outcome not in {r.value for r in Report}:
        raise Invalid("report.bad_outcome")
    return Report(str(outcome))


@dataclass(frozen=True)
class StrategyFacts:
    """A strategy a link names, as the link rule sees it."""

    network_id: int
    archived: bool


def check_strategy_link(
    strategy: StrategyFacts | None, network_id: int, strategy_id: int, kept: int | None = None
) -> None:
    """An agenda item or a commitment links a strategy of its network that is not archived; a
    link already there may stay after its strategy is archived (``kept``)."""
    if strategy is None or strategy.network_id != network_id:
        raise NotFound("strategy.not_found")
    if strategy.archived and strategy_id != kept:
        raise Refused("strategy.archived")
