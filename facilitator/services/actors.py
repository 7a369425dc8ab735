"""Who is asking: resolved from server state (a staff session, a participant token), never
from what a message claims about itself."""

from __future__ import annotations

from dataclasses import dataclass

from facilitator.flow import Role


@dataclass(frozen=True)
class Actor:
    role: Role
    user_id: int | None = None
    person_id: int | None = None
    #: The staff session the command came through: every command rechecks it is not signed
    #: out, since the word from another process that closes its sockets may never arrive.
    session_id: int | None = None

    @classmethod
    def staff(
        cls, user_id: int, role: Role | str = Role.FACILITATOR, session_id: int | None = None
    ) -> Actor:
        return cls(Role(role), user_id=user_id, session_id=session_id)

    @classmethod
    def participant(cls, person_id: int | None) -> Actor:
        return cls(Role.PARTICIPANT, person_id=person_id)

    @classmethod
    def projector(cls) -> Actor:
        return cls(Role.PROJECTOR)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.FACILITATOR, Role.BACKBONE)

    @property
    def key(self) -> str:
        """How the event log names the actor."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.person_id is not None:
            return f"person:{self.person_id}"
        return self.role.value
