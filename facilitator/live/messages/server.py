"""What the server sends, as typed structures, and the one strict encoder for them.

Every event kind is listed once (``EventKind``): an event of any other kind is refused as it is
made, and tests hold docs/protocol.md and web/static/js/live.js to the same list.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast, get_args

import msgspec
from msgspec import UNSET, Meta, Raw, UnsetType

from facilitator.flow import Role

# Every event a meeting's log holds, once. ``opener_tally`` travels as a ``tally``, never as an
# ``event``; the rest reach every screen's ``applyEvent`` (web/static/js/live.js).
EventKind = Literal[
    "meeting_created", "meeting_updated", "joined", "stage_changed", "opener_tally",
    "opener_action", "agenda_item_added", "agenda_item_updated", "agenda_item_removed",
    "agenda_focus", "agenda_timer", "agenda_item_moved", "decision_recorded",
    "commitment_proposed", "commitment_added", "commitment_confirmed", "commitment_rejected",
    "commitment_withdrawn", "commitment_edited", "commitment_reviewed", "meeting_closed",
    "meeting_cancelled", "next_meeting_scheduled", "name_released", "marked_present",
    "roster_added", "claim_requested", "claim_refused", "values_changed",
]  # fmt: skip
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))
Object = dict[str, Any]


class _Server(msgspec.Struct, frozen=True, tag_field="type"):
    @property
    def type(self) -> str:
        """The message's ``type`` (its tag)."""
        return str(self.__struct_config__.tag)


class Event(_Server, frozen=True, tag="event"):
    """A change to the meeting, in sequence order; it never names who sent it."""

    seq: int
    event: EventKind
    payload: Object
    at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]

    def __post_init__(self) -> None:
        # An event nobody defined is a bug: no screen and no document knows it.
        if self.event not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.event!r}")


class Ack(_Server, frozen=True, tag="ack"):
    """The sender's command is committed as event ``seq`` (or was already: ``replayed``).
    ``follows``: that event will reach this screen too; false when its kind is not sent to it
    (a phone's opener answer: phones get no tally), so there is nothing to wait for."""

    id: str | None
    seq: int
    replayed: bool
    follows: bool = True


class Error(_Server, frozen=True, tag="error"):
    """Refused: a message key, its sentence in the screen's language, and each unmet gate."""

    id: str | None
    key: str
    message: str
    details: list[str] = msgspec.field(default_factory=list)


class Welcome(_Server, frozen=True, tag="welcome"):
    """The answer to ``hello``: the whole meeting, or (``snapshot`` null, ``seq`` the screen's
    ``last_seq``) only the events it missed, which follow."""

    role: Role
    me: Object | None
    # Shared by every screen at one point of the log: already encoded, spliced in as it is.
    snapshot: Annotated[Raw, Meta(extra_json_schema={"type": "object"})] | None
    seq: int | UnsetType = UNSET


class Tally(_Server, frozen=True, tag="tally"):
    """The opener's answers so far (blocker id to count); newer when ``seq`` is higher."""

    seq: int
    tally: dict[str, int]
    respondents: int


class Pong(_Server, frozen=True, tag="pong"):
    """The answer to ``ping``."""


class Gates(_Server, frozen=True, tag="gates"):
    """The console's: what blocks closing (each gate a message key and its params) as of event
    ``seq``, and the names people chose to show with their opener answers (blocker id to
    names). Pushed as they change, once a burst of events settles."""

    seq: int
    gates: list[Object]
    named_answers: dict[str, list[str]]
    #: Networks (addresses) locked out for guessing codes that named this meeting's right one:
    #: the facilitator may let them in.
    held: int = 0


ServerMessage = Welcome | Ack | Error | Event | Tally | Pong | Gates
SERVER_TYPES: tuple[str, ...] = tuple(
    str(kind.__struct_config__.tag) for kind in get_args(ServerMessage)
)

# Strict: an object the encoder does not know is a bug that raises, never a quiet string.
_encoder = msgspec.json.Encoder()


def encode(message: object) -> str:
    """One message (or a snapshot) as the JSON text every screen gets."""
    return _encoder.encode(message).decode()


def encode_bytes(message: object) -> bytes:
    """As ``encode``, for an HTTP body."""
    return _encoder.encode(message)


PONG = encode(Pong())  # the same text every time


def welcome_text(role: Role, me: Object | None, snapshot: str) -> str:
    """A ``Welcome`` with the room's already encoded snapshot spliced in as it is: re-encoding
    it for each of a hall of phones would cost ten times the rest of the welcome."""
    head = encode(Welcome(role, me, None))  # the snapshot is its last field
    return f"{head[: -len('null}')]}{snapshot}}}"


def server_event(seq: int, kind: str, payload: Object, at: str) -> Event:
    """An event for the room; ``kind`` must be one of ``EVENT_KINDS``."""
    return Event(seq, cast("EventKind", kind), payload, at)  # checked as it is made


def server_tally(seq: int, tally: dict[str, int], respondents: int) -> Tally:
    """An opener tally: blocker id (as text) to count."""
    return Tally(seq, tally, respondents)
