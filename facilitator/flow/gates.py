"""The gates a meeting passes to close, and the one rule for calling it off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from facilitator.errors import DomainError, GateRefused, Refused
from facilitator.flow.commitments import commitment_problems
from facilitator.flow.stages import Action, Stage, check_stage


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


def check_cancel(made: int) -> None:
    """A meeting is called off only while nothing was committed in it; otherwise it closes."""
    if made:
        raise Refused("cancel.has_commitments", count=made)
