"""The opener's list of what blocks collaboration, per network: adding a line, editing its words,
retiring and restoring it, its order, and putting the seed's lines back. Each change is audited
with only the fields it changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import Blocker
from facilitator.errors import Invalid, NotFound
from facilitator.services import audit
from facilitator.services.network import (
    SEED_BLOCKERS,
    next_position,
    record_changes,
    require_network,
)
from facilitator.validate import clean_text

BLOCKER_COLUMNS = ("label_he", "label_en", "position", "active")


async def add_blocker(
    db: Database, network_id: int, label_he: str, label_en: str, *, user_id: int | None = None
) -> int:
    """A line of the network's own added to the opener's list, placed last."""
    he = clean_text(label_he, "title", kind="title")
    en = clean_text(label_en, "title", kind="title")
    async with db.write() as session:
        await require_network(session, network_id)
        position = await next_position(session, Blocker.position, Blocker.network_id, network_id)
        blocker = Blocker(
            network_id=network_id,
            key=f"custom_{position}",
            position=position,
            label_he=he,
            label_en=en,
            active=True,
        )
        session.add(blocker)
        await session.flush()
        audit.record(
            session, network_id, user_id, "blocker.create", "blocker", blocker.id,
            after=audit.columns(blocker, BLOCKER_COLUMNS), at=db.now(),
        )  # fmt: skip
        return blocker.id


async def blocker_list(db: Database, network_id: int) -> list[dict[str, Any]]:
    """The opener's list in its order, retired lines included (marked), for the backbone."""
    seed = {key for key, _he, _en in SEED_BLOCKERS}
    async with db.read() as session:
        rows = await session.scalars(
            select(Blocker)
            .where(Blocker.network_id == network_id)
            .order_by(Blocker.position, Blocker.id)
        )
        return [
            {"id": b.id, "key": b.key, "he": b.label_he, "en": b.label_en,
             "position": b.position, "active": b.active, "seed": b.key in seed}
            for b in rows
        ]  # fmt: skip


async def _blocker(session: AsyncSession, network_id: int, blocker_id: int) -> Blocker:
    blocker = await session.get(Blocker, blocker_id)
    if blocker is None or blocker.network_id != network_id:
        raise NotFound("opener.unknown_blocker")
    return blocker


async def update_blocker(
    db: Database,
    network_id: int,
    blocker_id: int,
    label_he: str,
    label_en: str,
    *,
    active: bool,
    user_id: int | None = None,
) -> None:
    """Reword a blocker or take it off the list (past answers keep pointing at it)."""
    he = clean_text(label_he, "title", kind="title")
    en = clean_text(label_en, "title", kind="title")
    async with db.write() as session:
        blocker = await _blocker(session, network_id, blocker_id)
        before = audit.columns(blocker, BLOCKER_COLUMNS)
        blocker.label_he, blocker.label_en, blocker.active = he, en, active
        action = "blocker.update"
        if before["active"] != active:
            action = "blocker.restore" if active else "blocker.retire"
        record_changes(session, network_id, user_id, action, "blocker", blocker.id, before,
                 audit.columns(blocker, BLOCKER_COLUMNS), db)  # fmt: skip


async def set_blocker_active(
    db: Database, network_id: int, blocker_id: int, *, active: bool, user_id: int | None = None
) -> None:
    """Retire a blocker from the opener's list (its history and trends keep it), or bring it back."""
    async with db.write() as session:
        blocker = await _blocker(session, network_id, blocker_id)
        if blocker.active == active:
            return
        blocker.active = active
        audit.record(
            session, network_id, user_id, "blocker.restore" if active else "blocker.retire",
            "blocker", blocker.id, before={"active": not active}, after={"active": active},
            at=db.now(),
        )  # fmt: skip


async def move_blocker(
    db: Database, network_id: int, blocker_id: int, step: int, *, user_id: int | None = None
) -> None:
    """Swap a blocker with its neighbour above (``step`` -1) or below (+1) on the list."""
    if step not in (-1, 1):
        raise Invalid("blocker.bad_move")
    async with db.write() as session:
        blocker = await _blocker(session, network_id, blocker_id)
        order = Blocker.position.desc() if step < 0 else Blocker.position
        beyond = (
            Blocker.position < blocker.position if step < 0 else Blocker.position > blocker.position
        )
        neighbour = await session.scalar(
            select(Blocker).where(Blocker.network_id == network_id, beyond).order_by(order).limit(1)
        )
        if neighbour is None:
            return
        was = blocker.position
        blocker.position, neighbour.position = neighbour.position, was
        audit.record(
            session, network_id, user_id, "blocker.move", "blocker", blocker.id,
            before={"position": was}, after={"position": blocker.position}, at=db.now(),
        )  # fmt: skip


async def restore_seed_blockers(
    db: Database, network_id: int, *, user_id: int | None = None
) -> int:
    """The seed's nine back on the list, in its order and wording, first; missing ones are
    recreated; the network's own lines stay, after them. Returns how many were brought back."""
    async with db.write() as session:
        await require_network(session, network_id)
        rows = list(await session.scalars(select(Blocker).where(Blocker.network_id == network_id)))
        by_key = {b.key: b for b in rows}
        seed_keys = {key for key, _he, _en in SEED_BLOCKERS}
        restored = 0
        for position, (key, he, en) in enumerate(SEED_BLOCKERS, start=1):
            blocker = by_key.get(key)
            if blocker is None:
                blocker = Blocker(network_id=network_id, key=key, position=position,
                                  label_he=he, label_en=en, active=True)  # fmt: skip
                session.add(blocker)
                restored += 1
            else:
                restored += 0 if blocker.active else 1
                blocker.position, blocker.label_he, blocker.label_en = position, he, en
                blocker.active = True
        others = sorted((b for b in rows if b.key not in seed_keys), key=lambda b: b.position)
        for offset, blocker in enumerate(others, start=len(SEED_BLOCKERS) + 1):
            blocker.position = offset
        audit.record(
            session, network_id, user_id, "blocker.restore_seed", "blocker", None,
            after={"restored": restored}, at=db.now(),
        )  # fmt: skip
        return restored
