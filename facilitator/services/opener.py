"""The opener: "what blocks collaboration", flagged from phones, tallied for the wall."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import Blocker, OpenerAction, OpenerResponse, Person
from facilitator.db.prepared import Prepared
from facilitator.errors import Invalid, NotFound
from facilitator.flow import Action
from facilitator.services.actors import Actor
from facilitator.services.commands import (
    BatchContext,
    Change,
    Context,
    Result,
    run,
    run_batched,
)
from facilitator.validate import optional_text, positive_id

# Far above any real catalog; bounds the work a hostile list can cause before the lookup.
MAX_CHOICES = 50


# Statements built once (commands.py says why, above _NUMBER); the tally's two are read through
# Core, by the wall's sessions, and by the writer only when it has no tally kept.
_RESPONSES = cast(Table, OpenerResponse.__table__)
_COUNT = (
    select(_RESPONSES.c.blocker_id, func.count())
    .where(_RESPONSES.c.meeting_id == bindparam("m"))
    .group_by(_RESPONSES.c.blocker_id)
)
_PEOPLE = select(func.count(func.distinct(_RESPONSES.c.person_id))).where(
    _RESPONSES.c.meeting_id == bindparam("m")
)
_FORGET = Prepared(
    delete(_RESPONSES)
    .where(_RESPONSES.c.meeting_id == bindparam("m"), _RESPONSES.c.person_id == bindparam("p"))
    .returning(_RESPONSES.c.blocker_id)
)
# The answer's rows, of the chosen blockers that are the network's and active only: the check
# and the write in one statement (a round trip less on PostgreSQL); fewer rows than chosen
# refuse the answer, and its savepoint takes the rows back. On SQLite ``ids`` has a compiled form
# for each length a list has had (at most MAX_CHOICES).
_ANSWER = Prepared(
    insert(_RESPONSES).from_select(
        ["meeting_id", "person_id", "blocker_id", "anonymous", "created_at"],
        select(
            bindparam("m", type_=_RESPONSES.c.meeting_id.type),
            bindparam("p", type_=_RESPONSES.c.person_id.type),
            Blocker.id,
            bindparam("anonymous", type_=_RESPONSES.c.anonymous.type),
            bindparam("at", type_=_RESPONSES.c.created_at.type),
        ).where(
            Blocker.id.in_(bindparam("ids", expanding=True)),
            Blocker.network_id == bindparam("n"),
            Blocker.active.is_(True),
        ),
    )
)


async def tally(session: AsyncSession, meeting_id: int) -> dict[str, int]:
    """Flags per blocker id (as text keys, ready for JSON), and ``respondents`` apart."""
    rows = await session.execute(_COUNT, {"m": meeting_id})
    return {str(blocker_id): count for blocker_id, count in rows}


async def respondents(session: AsyncSession, meeting_id: int) -> int:
    return await session.scalar(_PEOPLE, {"m": meeting_id}) or 0


async def named_answers(db: Database, meeting_id: int) -> dict[str, list[str]]:
    """For staff: who chose to show their name with their answer, by blocker id."""
    async with db.read() as session:
        rows = await session.execute(
            select(OpenerResponse.blocker_id, Person.name)
            .join(Person, Person.id == OpenerResponse.person_id)
            .where(
                OpenerResponse.meeting_id == positive_id(meeting_id, "meeting"),
                OpenerResponse.anonymous.is_(False),
            )
            .order_by(OpenerResponse.blocker_id, Person.name)
        )
        named: dict[str, list[str]] = {}
        for blocker_id, name in rows:
            named.setdefault(str(blocker_id), []).append(name)
        return named


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

    answer = sorted(chosen)

    def body(ctx: BatchContext) -> Change:
        db_ = ctx.connection
        # The tally as of the previous event, kept by the writer; counted only when this
        # meeting's log moved on without it (another process, a rollback, a restart).
        kept = ctx.memo.get(("tally", ctx.meeting_id))
        if kept is not None and kept[0] == ctx.seq - 1:
            counts, people = dict(kept[1]), kept[2]
        else:
            counts = {str(b): n for b, n in db_.execute(_COUNT, {"m": ctx.meeting_id})}
            people = db_.execute(_PEOPLE, {"m": ctx.meeting_id}).scalar_one()
        mine = {"m": ctx.meeting_id, "p": ctx.actor.person_id}
        before = [blocker_id for (blocker_id,) in _FORGET.rows(db_, mine)]
        if answer:
            rows = {
                **mine,
                "ids": answer,
                "n": ctx.network_id,
                "anonymous": anonymous,
                "at": ctx.now,
            }
            if _ANSWER.count(db_, rows) != len(answer):
                raise NotFound("opener.unknown_blocker")
        for blocker_id in before:
            counts[str(blocker_id)] -= 1
        for blocker_id in answer:
            counts[str(blocker_id)] = counts.get(str(blocker_id), 0) + 1
        people += bool(answer) - bool(before)
        counts = {k: n for k, n in sorted(counts.items(), key=lambda kv: int(kv[0])) if n}
        ctx.memo[("tally", ctx.meeting_id)] = (ctx.seq, counts, people)
        return Change("opener_tally", {"tally": dict(counts), "respondents": people})

    return await run_batched(
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
