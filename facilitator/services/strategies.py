"""Strategies as the backbone administers them: a title, the groups that carry it, and a target
one can measure (what, how much, by when).

An archived strategy is no longer offered for new agenda items and commitments, but what already
links to it keeps showing it. Every change writes its audit entry in its own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import AgendaItem, Commitment, Group, Strategy, StrategyGroup
from facilitator.errors import Invalid, NotFound
from facilitator.services import audit
from facilitator.validate import clean_text, optional_text

JSON = dict[str, Any]
COLUMNS = ("title", "target", "target_amount", "target_by", "archived_at")
MAX_GROUPS = 200


@dataclass(frozen=True)
class StrategyInput:
    """A strategy as a form sends it; checked by ``checked``."""

    title: str
    target: str
    target_amount: str = ""
    target_by: str | date | None = None
    groups: tuple[int, ...] = ()

    def checked(self) -> StrategyInput:
        title = clean_text(self.title, "title", kind="title")
        target = clean_text(self.target, "target", kind="text")
        amount = optional_text(self.target_amount, "target_amount", kind="name")
        by: date | None
        if isinstance(self.target_by, date):
            by = self.target_by
        elif not self.target_by or not self.target_by.strip():
            by = None
        else:
            try:
                by = date.fromisoformat(self.target_by.strip())
            except ValueError:
                raise Invalid("input.bad_date", field="target_by") from None
        if len(self.groups) > MAX_GROUPS:
            raise Invalid("strategy.too_many_groups", limit=MAX_GROUPS)
        return StrategyInput(title, target, amount or "", by, tuple(dict.fromkeys(self.groups)))


def _columns(strategy: Strategy) -> JSON:
    return audit.columns(strategy, COLUMNS)


async def _strategy(session: AsyncSession, network_id: int, strategy_id: int) -> Strategy:
    strategy = await session.get(Strategy, strategy_id)
    if strategy is None or strategy.network_id != network_id:
        raise NotFound("strategy.not_found")
    return strategy


async def _group_names(session: AsyncSession, network_id: int, ids: Iterable[int]) -> list[str]:
    wanted = list(ids)
    if not wanted:
        return []
    found = dict(
        (
            await session.execute(
                select(Group.id, Group.name).where(
                    Group.id.in_(wanted), Group.network_id == network_id
                )
            )
        ).all()
    )
    if set(found) != set(wanted):
        raise NotFound("group.not_found")
    return sorted(found.values())


async def _set_groups(session: AsyncSession, strategy_id: int, ids: Iterable[int]) -> None:
    wanted = set(ids)
    links = list(
        await session.scalars(select(StrategyGroup).where(StrategyGroup.strategy_id == strategy_id))
    )
    for link in links:
        if link.group_id not in wanted:
            await session.delete(link)
    for group_id in wanted - {link.group_id for link in links}:
        session.add(StrategyGroup(strategy_id=strategy_id, group_id=group_id))


async def strategy_list(db: Database, network_id: int) -> JSON:
    """Every strategy with the groups that carry it and how much links to it; archived apart."""
    async with db.read() as session:
        strategies = list(
            await session.scalars(
                select(Strategy).where(Strategy.network_id == network_id).order_by(Strategy.id)
            )
        )
        ids = [s.id for s in strategies]
        links = (
            await session.execute(
                select(StrategyGroup.strategy_id, Group.id, Group.name)
                .join(Group, Group.id == StrategyGroup.group_id)
                .where(StrategyGroup.strategy_id.in_(ids))
                .order_by(Group.name)
            )
        ).all()
        items = dict(
            (
                await session.execute(
                    select(AgendaItem.strategy_id, func.count())
                    .where(AgendaItem.strategy_id.in_(ids))
                    .group_by(AgendaItem.strategy_id)
                )
            ).all()
        )
        commitments = dict(
            (
                await session.execute(
                    select(Commitment.strategy_id, func.count())
                    .where(Commitment.strategy_id.in_(ids))
                    .group_by(Commitment.strategy_id)
                )
            ).all()
        )
    carried: dict[int, list[JSON]] = defaultdict(list)
    for strategy_id, group_id, name in links:
        carried[strategy_id].append({"id": group_id, "name": name})
    rows = [
        {
            "id": s.id,
            "title": s.title,
            "target": s.target,
            "target_amount": s.target_amount,
            "target_by": s.target_by.isoformat() if s.target_by else None,
            "archived_at": s.archived_at.isoformat() if s.archived_at else None,
            "groups": carried[s.id],
            "agenda_items": items.get(s.id, 0),
            "commitments": commitments.get(s.id, 0),
        }
        for s in strategies
    ]
    return {
        "strategies": [r for r in rows if r["archived_at"] is None],
        "archived": [r for r in rows if r["archived_at"] is not None],
    }


async def create_strategy(
    db: Database, network_id: int, user_id: int | None, given: StrategyInput
) -> int:
    data = given.checked()
    async with db.write() as session:
        names = await _group_names(session, network_id, data.groups)
        strategy = Strategy(
            network_id=network_id,
            title=data.title,
            target=data.target,
            target_amount=data.target_amount or None,
            target_by=data.target_by if isinstance(data.target_by, date) else None,
        )
        session.add(strategy)
        await session.flush()
        await _set_groups(session, strategy.id, data.groups)
        audit.record(
            session, network_id, user_id, "strategy.create", "strategy", strategy.id,
            after={**_columns(strategy), "groups": names}, at=db.now(),
        )  # fmt: skip
        return strategy.id


async def update_strategy(
    db: Database, network_id: int, user_id: int | None, strategy_id: int, given: StrategyInput
) -> None:
    data = given.checked()
    async with db.write() as session:
        strategy = await _strategy(session, network_id, strategy_id)
        old_ids = list(
            await session.scalars(
                select(StrategyGroup.group_id).where(StrategyGroup.strategy_id == strategy.id)
            )
        )
        before = {**_columns(strategy), "groups": await _group_names(session, network_id, old_ids)}
        names = await _group_names(session, network_id, data.groups)
        strategy.title, strategy.target = data.title, data.target
        strategy.target_amount = data.target_amount or None
        strategy.target_by = data.target_by if isinstance(data.target_by, date) else None
        await _set_groups(session, strategy.id, data.groups)
        after = {**_columns(strategy), "groups": names}
        changed = [k for k in after if before[k] != after[k]]
        if changed:
            audit.record(
                session, network_id, user_id, "strategy.update", "strategy", strategy.id,
                before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
                at=db.now(),
            )  # fmt: skip


async def set_archived(
    db: Database, network_id: int, user_id: int | None, strategy_id: int, *, archived: bool
) -> None:
    """Archive a strategy (not offered for new links; old ones keep it) or bring it back."""
    async with db.write() as session:
        strategy = await _strategy(session, network_id, strategy_id)
        if (strategy.archived_at is not None) == archived:
            return
        before = audit.columns(strategy, ("archived_at",))
        strategy.archived_at = db.now() if archived else None
        audit.record(
            session, network_id, user_id,
            "strategy.archive" if archived else "strategy.unarchive", "strategy", strategy.id,
            before=before, after=audit.columns(strategy, ("archived_at",)), at=db.now(),
        )  # fmt: skip
