"""The opener: "what blocks collaboration", flagged from phones, tallied for the wall."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import Blocker, OpenerAction, OpenerResponse
from facilitator.errors import Invalid, NotFound
from facilitator.flow import Action
from facilitator.services.actors import Actor
from facilitator.services.commands import Change, Context, Result, run
from facilitator.validate import optional_text, positive_id

# Far above any real catalog; bounds the work a hostile list can cause before the lookup.
MAX_CHOICES = 50


async def tally(session: AsyncSession, meeting_id: int) -> dict[str, int]:
    """Flags per blocker id (as text keys, ready for JSON), and ``respondents`` apart."""
    rows = await session.execute(
        select(OpenerResponse.blocker_id, func.count())
        .where(OpenerResponse.meeting_id == meeting_id)
        .group_by(OpenerResponse.blocker_id)
    )
    return {str(blocker_id): count for blocker_id, count in rows}


async def respondents(session: AsyncSession, meeting_id: int) -> int:
    count = await session.scalar(
        select(func.count(func.distinct(OpenerResponse.person_id))).where(
            OpenerResponse.meeting_id == meeting_id
        )
    )
    return count or 0


async def _active_blockers(ctx: Context) -> set[int]:
    ids = await ctx.session.scalars(
        select(Blocker.id).where(Blocker.network_id == ctx.network.id, Blocker.active.is_(True))
    )
    return set(ids)


async def respond(
    db: Database,
    meeting_id: int,
    actor: Actor,
    blocker_ids: Sequence[int],
    *,
    anonymous: bool = True,
    client_msg_id: str | None = None,
) -> Result:
    """A participant's whole answer: the blockers they flag now (an empty list withdraws all).

    Sending the full set, not toggles, makes a resend or a late retry harmless. The event carries
    only the tally, never who flagged what.
    """
    if not isinstance(blocker_ids, list | tuple) or len(blocker_ids) > MAX_CHOICES:
        raise Invalid("opener.bad_choice")
    chosen = {positive_id(b, "blocker") for b in blocker_ids}
    if len(chosen) != len(blocker_ids):
        raise Invalid("opener.duplicate_choice")
    if not isinstance(anonymous, bool):
        raise Invalid("opener.bad_anonymous")

    async def body(ctx: Context) -> Change:
        if not chosen <= await _active_blockers(ctx):
            raise NotFound("opener.unknown_blocker")
        assert actor.person_id is not None
        await ctx.session.execute(
            delete(OpenerResponse).where(
                OpenerResponse.meeting_id == ctx.meeting.id,
                OpenerResponse.person_id == actor.person_id,
            )
        )
        ctx.session.add_all(
            OpenerResponse(
                meeting_id=ctx.meeting.id,
                person_id=actor.person_id,
                blocker_id=blocker_id,
                anonymous=anonymous,
                created_at=ctx.now,
            )
            for blocker_id in sorted(chosen)
        )
        await ctx.session.flush()
        return Change(
            "opener_tally",
            {
                "tally": await tally(ctx.session, ctx.meeting.id),
                "respondents": await respondents(ctx.session, ctx.meeting.id),
            },
        )

    return await run(
        db, meeting_id, actor, Action.RESPOND_OPENER, body, client_msg_id=client_msg_id
    )


async def record_action(
    db: Database,
    meeting_id: int,
    actor: Actor,
    blocker_id: int,
    text: str | None,
    *,
    client_msg_id: str | None = None,
) -> Result:
    """What the group agrees to do about a blocker; empty text removes the note."""
    bid = positive_id(blocker_id, "blocker")
    note = optional_text(text, "text", kind="decision")

    async def body(ctx: Context) -> Change:
        if bid not in await _active_blockers(ctx):
            raise NotFound("opener.unknown_blocker")
        row = await ctx.session.scalar(
            select(OpenerAction).where(
                OpenerAction.meeting_id == ctx.meeting.id, OpenerAction.blocker_id == bid
            )
        )
        if note is None:
            if row is not None:
                await ctx.session.delete(row)
        elif row is None:
            ctx.session.add(
                OpenerAction(
                    meeting_id=ctx.meeting.id, blocker_id=bid, text=note, updated_at=ctx.now
                )
            )
        else:
            row.text, row.updated_at = note, ctx.now
        return Change("opener_action", {"blocker_id": bid, "text": note})

    return await run(
        db, meeting_id, actor, Action.RECORD_OPENER_ACTION, body, client_msg_id=client_msg_id
    )
