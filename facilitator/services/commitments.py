"""Commitments: proposed from phones, added and confirmed by the facilitator, reopened at the
group's next meeting and reviewed there until done or dropped."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator import flow
from facilitator.db import Database
from facilitator.db.models import Commitment, CommitmentReview, Meeting, Person
from facilitator.errors import Invalid, NotFound
from facilitator.flow import Action, CommitmentStatus, Outcome, Stage
from facilitator.services import backbone_facts, personal
from facilitator.services.actors import Actor
from facilitator.services.agenda import check_strategy
from facilitator.services.commands import Change, Context, Result, run
from facilitator.services.views import commitment_view, commitment_views, review_view
from facilitator.validate import clean_text, optional_text, parse_date, positive_id

_UNSET: Any = object()


async def _owner(ctx: Context, person_id: object) -> int:
    """The owner must be a person of this network."""
    pid = positive_id(person_id, "owner")
    person = await ctx.session.get(Person, pid)
    flow.check_owner(None if person is None else person.network_id, ctx.network.id)
    return pid


async def _strategy(ctx: Context, strategy_id: object, kept: int | None = None) -> int | None:
    """A strategy of the network, and not archived unless it is the link already there."""
    if strategy_id is None:
        return None
    sid = positive_id(strategy_id, "strategy")
    await check_strategy(ctx.session, ctx.network.id, sid, kept)
    return sid


async def _made_here(ctx: Context, commitment_id: int) -> Commitment:
    commitment = await ctx.session.get(Commitment, positive_id(commitment_id, "commitment"))
    if commitment is None or commitment.origin_meeting_id != ctx.meeting.id:
        raise NotFound("commitment.not_found")
    return commitment


async def propose(
    db: Database,
    meeting_id: int,
    actor: Actor,
    text: str,
    due: date | str,
    strategy_id: int | None = None,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """A participant proposes their own commitment; it waits for the facilitator's confirmation."""
    clean = clean_text(text, "text")
    due_on = parse_date(due, "due")

    async def body(ctx: Context) -> Change:
        flow.check_commitment_terms(actor.person_id, due_on, ctx.day)
        assert actor.person_id is not None
        commitment = Commitment(
            group_id=ctx.meeting.group_id,
            origin_meeting_id=ctx.meeting.id,
            text=clean,
            owner_person_id=actor.person_id,
            due_on=due_on,
            strategy_id=await _strategy(ctx, strategy_id),
            status=CommitmentStatus.PROPOSED.value,
            proposed_by_person_id=actor.person_id,
            created_at=ctx.now,
        )
        ctx.session.add(commitment)
        await ctx.session.flush()
        return Change(
            "commitment_proposed", {"commitment": await commitment_view(ctx.session, commitment)}
        )

    return await run(
        db, meeting_id, actor, Action.PROPOSE_COMMITMENT, body, client_msg_id=client_msg_id
    )


async def add(
    db: Database,
    meeting_id: int,
    actor: Actor,
    text: str,
    owner_person_id: int | None,
    due: date | str | None,
    strategy_id: int | None = None,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """The facilitator records a commitment for someone; it is confirmed at once."""
    clean = clean_text(text, "text")
    due_on = None if due is None or due == "" else parse_date(due, "due")

    async def body(ctx: Context) -> Change:
        owner = None if owner_person_id is None else await _owner(ctx, owner_person_id)
        flow.check_commitment_terms(owner, due_on, ctx.day)
        assert owner is not None
        assert due_on is not None
        commitment = Commitment(
            group_id=ctx.meeting.group_id,
            origin_meeting_id=ctx.meeting.id,
            text=clean,
            owner_person_id=owner,
            due_on=due_on,
            strategy_id=await _strategy(ctx, strategy_id),
            status=CommitmentStatus.OPEN.value,
            created_at=ctx.now,
            confirmed_at=ctx.now,
        )
        ctx.session.add(commitment)
        await ctx.session.flush()
        return Change(
            "commitment_added", {"commitment": await commitment_view(ctx.session, commitment)}
        )

    return await run(
        db, meeting_id, actor, Action.ADD_COMMITMENT, body, client_msg_id=client_msg_id
    )


async def confirm(
    db: Database,
    meeting_id: int,
    actor: Actor,
    commitment_id: int,
    *,
    accept: bool = True,
    reason: str | None = None,
    client_msg_id: str | None = None,
) -> Result:
    """The facilitator confirms a phone's proposal, or turns it down saying why (the phone that
    proposed it is told, so nobody leaves thinking they committed to something)."""
    note = None if accept else optional_text(reason, "reason", kind="reason")

    async def body(ctx: Context) -> Change:
        commitment = await _made_here(ctx, commitment_id)
        flow.check_confirm(CommitmentStatus(commitment.status))
        if accept:
            flow.check_commitment_terms(commitment.owner_person_id, commitment.due_on, ctx.day)
            commitment.status = CommitmentStatus.OPEN.value
            commitment.confirmed_at = ctx.now
        else:
            commitment.status = CommitmentStatus.REJECTED.value
        view = await commitment_view(ctx.session, commitment)
        if accept:
            return Change("commitment_confirmed", {"commitment": view})
        return Change("commitment_rejected", {"commitment": view, "reason": note})

    return await run(
        db, meeting_id, actor, Action.CONFIRM_COMMITMENT, body, client_msg_id=client_msg_id
    )


async def withdraw(
    db: Database,
    meeting_id: int,
    actor: Actor,
    commitment_id: int,
    *,
    reason: str | None = None,
    client_msg_id: str | None = None,
) -> Result:
    """Take back a commitment confirmed in this meeting, before the close: it no longer counts as
    made, so the close gate may need another one."""
    note = optional_text(reason, "reason", kind="reason")

    async def body(ctx: Context) -> Change:
        commitment = await _made_here(ctx, commitment_id)
        flow.check_withdraw(CommitmentStatus(commitment.status))
        commitment.status = CommitmentStatus.WITHDRAWN.value
        view = await commitment_view(ctx.session, commitment)
        return Change("commitment_withdrawn", {"commitment": view, "reason": note})

    return await run(
        db, meeting_id, actor, Action.WITHDRAW_COMMITMENT, body, client_msg_id=client_msg_id
    )


async def edit(
    db: Database,
    meeting_id: int,
    actor: Actor,
    commitment_id: int,
    *,
    text: str | None = None,
    owner_person_id: int | None = None,
    due: date | str | None = None,
    strategy_id: int | None = _UNSET,
    client_msg_id: str | None = None,
) -> Result:
    """Change a commitment made in this meeting. A phone edits only its own proposal, and never
    its owner; the facilitator edits any, before or after confirming."""
    clean = None if text is None else clean_text(text, "text")
    due_on = None if due is None else parse_date(due, "due")

    async def body(ctx: Context) -> Change:
        commitment = await _made_here(ctx, commitment_id)
        flow.authorize(actor.role, Action.EDIT_COMMITMENT, own=_owns(actor, commitment))
        flow.check_participant_edit(CommitmentStatus(commitment.status), actor.role)
        if owner_person_id is not None:
            flow.check_owner_change(actor.role)
            commitment.owner_person_id = await _owner(ctx, owner_person_id)
        if clean is not None:
            commitment.text = clean
        if due_on is not None:
            commitment.due_on = due_on
        if strategy_id is not _UNSET:
            commitment.strategy_id = await _strategy(ctx, strategy_id, commitment.strategy_id)
        flow.check_commitment_terms(commitment.owner_person_id, commitment.due_on, ctx.day)
        return Change(
            "commitment_edited", {"commitment": await commitment_view(ctx.session, commitment)}
        )

    return await run(
        db, meeting_id, actor, Action.EDIT_COMMITMENT, body, client_msg_id=client_msg_id
    )


def _owns(actor: Actor, commitment: Commitment) -> bool:
    return actor.person_id is not None and actor.person_id == commitment.owner_person_id


async def reopen_for(ctx: Context) -> list[dict[str, Any]]:
    """Reopen, in this meeting, every open commitment its group carried from earlier meetings.

    Only commitments of closed meetings carry over; done, dropped, rejected and unconfirmed ones
    stay closed; other groups' are never touched.
    Idempotent: one already reopened here is not reopened twice.
    """
    already = select(CommitmentReview.commitment_id).where(
        CommitmentReview.meeting_id == ctx.meeting.id
    )
    carried = list(
        (
            await ctx.session.scalars(
                select(Commitment)
                .join(Meeting, Meeting.id == Commitment.origin_meeting_id)
                .where(
                    Commitment.group_id == ctx.meeting.group_id,
                    Commitment.status == CommitmentStatus.OPEN.value,
                    Meeting.stage == Stage.CLOSED.value,
                    Commitment.origin_meeting_id != ctx.meeting.id,
                    Commitment.id.not_in(already),
                )
                .order_by(Commitment.due_on, Commitment.id)
            )
        ).all()
    )
    if carried:
        # One statement for all of them: the unit of work's flush took about a third of a
        # millisecond a review, which a group carrying 300 commitments felt at every start.
        await ctx.session.execute(
            insert(CommitmentReview),
            [
                {
                    "commitment_id": commitment.id,
                    "meeting_id": ctx.meeting.id,
                    "reopened_at": ctx.now,
                    "old_due": commitment.due_on,
                }
                for commitment in carried
            ],
        )
    views = await commitment_views(ctx.session, carried)
    # What each owner reported since it was last heard: the review starts from it.
    said = await personal.reports_since_heard(
        ctx.session, [c.id for c in carried], ctx.meeting.id, ctx.network.timezone
    )
    return personal.stuck_first([{**view, "report": said.get(view["id"])} for view in views])


async def review(
    db: Database,
    meeting_id: int,
    actor: Actor,
    commitment_id: int,
    outcome: Outcome | str,
    *,
    new_due: date | str | None = None,
    reason: str | None = None,
    client_msg_id: str | None = None,
) -> Result:
    """Report on a reopened commitment: done, on track, slipped (with a later date) or dropped
    (with a reason). Its owner may report from the phone; the facilitator may report any. A
    second report in the same meeting replaces the first."""
    try:
        result = Outcome(outcome)
    except ValueError:
        raise Invalid("review.bad_outcome") from None
    new_date = None if new_due is None or new_due == "" else parse_date(new_due, "new_due")
    why = optional_text(reason, "reason", kind="reason")

    async def body(ctx: Context) -> Change:
        commitment = await ctx.session.get(Commitment, positive_id(commitment_id, "commitment"))
        row = None
        if commitment is not None:
            row = await _review_row(ctx.session, commitment.id, ctx.meeting.id)
        if commitment is None or row is None:
            raise NotFound("review.not_reopened_here")
        flow.authorize(actor.role, Action.REVIEW_COMMITMENT, own=_owns(actor, commitment))
        decision = flow.decide_review(result, row.old_due, new_date, why, ctx.day)
        # A changed report replaces the earlier one: the commitment is judged from how it came in.
        commitment.status = decision.status.value
        commitment.due_on = decision.due
        row.outcome = result.value
        row.new_due = decision.new_due
        row.reason = decision.reason
        row.reviewer_person_id = actor.person_id
        row.reviewer_user_id = actor.user_id
        row.reviewed_at = ctx.now
        await ctx.session.flush()
        # The facts this report decides, kept on the row in the same transaction: the backbone's
        # figures sum them instead of searching every commitment's reviews.
        decided = backbone_facts.decided(commitment.id, ctx.network.timezone)
        slips, on_time = (await ctx.session.execute(decided)).one()
        commitment.slips, commitment.done_on_time = int(slips), bool(on_time)
        return Change(
            "commitment_reviewed",
            {
                "review": review_view(row),
                "commitment": await commitment_view(ctx.session, commitment),
            },
        )

    return await run(
        db, meeting_id, actor, Action.REVIEW_COMMITMENT, body, client_msg_id=client_msg_id
    )


async def _review_row(
    session: AsyncSession, commitment_id: int, meeting_id: int
) -> CommitmentReview | None:
    row: CommitmentReview | None = await session.scalar(
        select(CommitmentReview).where(
            CommitmentReview.commitment_id == commitment_id,
            CommitmentReview.meeting_id == meeting_id,
        )
    )
    return row


async def history(db: Database, commitment_id: int) -> dict[str, Any]:
    """One commitment's whole journey: where it was made and every review since."""
    async with db.read() as session:
        commitment = await session.get(Commitment, positive_id(commitment_id, "commitment"))
        if commitment is None:
            raise NotFound("commitment.not_found")
        reviews = (
            await session.scalars(
                select(CommitmentReview)
                .where(CommitmentReview.commitment_id == commitment.id)
                .order_by(CommitmentReview.reopened_at, CommitmentReview.id)
            )
        ).all()
        return {
            "commitment": await commitment_view(session, commitment),
            "reviews": [review_view(r) for r in reviews],
        }
