"""The one scoping rule: backbone staff see and change every group of their network; a
facilitator only the groups they look after (``group_staff``), everywhere — home, console,
live commands, backbone pages, exports, feeds and administration all ask here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.db import Database
from facilitator.db.models import Group, GroupStaff, Meeting, StaffUser
from facilitator.flow import Role


@dataclass(frozen=True)
class Scope:
    network_id: int
    role: Role
    #: The groups within reach; ``None`` means every group of the network.
    groups: frozenset[int] | None

    @property
    def whole_network(self) -> bool:
        return self.groups is None

    def sees(self, group_id: int | None) -> bool:
        """Within reach: a facilitator's own group, or any group for the backbone (``None`` —
        no group at all — is within reach of the backbone only)."""
        if self.groups is None:
            return True
        return group_id is not None and group_id in self.groups

    def only(self, group_ids: Iterable[int]) -> list[int]:
        return [g for g in group_ids if self.sees(g)]


async def scope_in(session: AsyncSession, network_id: int, user_id: int, role: Role) -> Scope:
    if role is Role.BACKBONE:
        return Scope(network_id, role, None)
    rows = await session.scalars(_REACH, {"user": user_id, "network": network_id})
    return Scope(network_id, role, frozenset(rows))


_REACH = (
    select(GroupStaff.group_id)
    .join(Group, Group.id == GroupStaff.group_id)
    .where(GroupStaff.user_id == bindparam("user"), Group.network_id == bindparam("network"))
)


async def scope_of(db: Database, network_id: int, user_id: int, role: Role) -> Scope:
    if role is Role.BACKBONE:
        return Scope(network_id, role, None)
    # In one hop (Database.read_sync): every staff request asks.
    groups = await db.read_sync(
        lambda connection: frozenset(
            connection.execute(_REACH, {"user": user_id, "network": network_id}).scalars()
        )
    )
    return Scope(network_id, role, groups)


async def reaches_meeting(
    db: Database, network_id: int, user_id: int, role: Role, meeting_id: int
) -> bool:
    """The meeting exists, is of this network, and its group is within the user's reach."""
    async with db.read() as session:
        row = (
            await session.execute(
                select(Group.network_id, Group.id)
                .join(Meeting, Meeting.group_id == Group.id)
                .where(Meeting.id == meeting_id)
            )
        ).first()
        if row is None or row[0] != network_id:
            return False
        reach = await scope_in(session, network_id, user_id, role)
    return reach.sees(int(row[1]))


async def out_of_reach(db: Database, user_id: int, meeting_ids: Iterable[int]) -> set[int]:
    """Of these meetings, those the staff user no longer reaches as they are now (their role,
    their groups): every one once they are deactivated or gone."""
    wanted = set(meeting_ids)
    async with db.read() as session:
        user = await session.get(StaffUser, user_id)
        if user is None or not user.active or not wanted:
            return wanted
        rows = await session.execute(
            select(Meeting.id, Group.network_id, Group.id)
            .join(Group, Group.id == Meeting.group_id)
            .where(Meeting.id.in_(wanted))
        )
        found = {int(m): (int(n), int(g)) for m, n, g in rows}
        reach = await scope_in(session, user.network_id, user.id, Role(user.role))
    return {
        m
        for m in wanted
        if m not in found or found[m][0] != user.network_id or not reach.sees(found[m][1])
    }
