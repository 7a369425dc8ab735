"""Typed errors that carry a message key, translated at the edge (see ``facilitator.i18n``).

Services and the flow raise these; nothing they raise is a bare string, so every refusal can be
shown to a person in Hebrew or English.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal a person can act on: ``key`` names a catalog message, ``params`` fill it."""

    status = 400

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, {self.params!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Reports are read in a worker process: a refusal raised there must arrive whole,
        # params included (the default pickling would call ``cls(key)`` and lose them).
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[DomainError], args: tuple[Any, ...], state: dict[str, Any]) -> DomainError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class Invalid(DomainError):
    """The input itself is wrong (empty, too long, bad date)."""

    status = 422


class NotFound(DomainError):
    """An id that does not exist, or not in this network."""

    status = 404


class Forbidden(DomainError):
    """The sender's role may not do this."""

    status = 403


class Refused(DomainError):
    """The meeting flow does not allow this now (wrong stage, a gate not met)."""

    status = 409


class Conflict(DomainError):
    """The request clashes with what is already stored."""

    status = 409


class TooMany(DomainError):
    """Too many tries, or too fast: ``retry_after`` (seconds), when set, says when to try again."""

    status = 429


class GateRefused(Refused):
    """Closing (or another gated move) is refused for one or more reasons, each a key."""

    def __init__(self, reasons: list[DomainError]) -> None:
        super().__init__("gate.refused", count=len(reasons))
        self.reasons = reasons
