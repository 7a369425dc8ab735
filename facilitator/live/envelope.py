"""What a room is handed per broadcast: the encoded text once, with what the room needs to route
it (its number, its kind, its event type, the person it releases) beside it, so the text is
never decoded again. ``pack``/``unpack`` put the header in one line before the text, for a hub
that crosses processes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from facilitator.live.messages import Ack, encode, server_event, server_tally
from facilitator.services.commands import Event
from facilitator.services.state import EVENTS_NOT_FOR_PHONES, without_names


class Kind(StrEnum):
    EVENT = "event"  # one numbered event of the meeting's log
    TALLY = "tally"  # the opener's tally, numbered like the event that changed it
    #: No message for screens: the channel's log reaches ``seq`` (-1: unknown, look). A room
    #: behind it reads what it missed from the database.
    BEAT = "beat"
    #: No message for screens: something every process acts on (``event`` says what, ``text``
    #: its argument), on the process-wide channel.
    CONTROL = "control"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One broadcast: ``text`` is exactly what every socket is sent."""

    kind: Kind
    seq: int  # 0 outside the log
    event: str  # the event's type ("" for a tally or outside the log)
    released: int | None  # the person whose name this event released
    text: str
    #: What phones are sent instead, where ``text`` names people (``None``: the same).
    phone_text: str | None = None

    @property
    def for_phones(self) -> str:
        return self.text if self.phone_text is None else self.phone_text

    def pack(self) -> str:
        """The envelope as one string: a header line, then the text (and the phones' text,
        its length in the header)."""
        released = "" if self.released is None else str(self.released)
        split = "" if self.phone_text is None else str(len(self.text))
        body = self.text + (self.phone_text or "")
        return f"{self.kind.value} {self.seq} {self.event} {released} {split}\n{body}"

    @classmethod
    def unpack(cls, packed: str) -> Envelope:
        """The envelope ``pack`` made."""
        head, body = packed.split("\n", 1)
        kind, seq, event, released, split = head.split(" ")
        text, phone_text = (body[: int(split)], body[int(split) :]) if split else (body, None)
        person = int(released) if released else None
        return cls(Kind(kind), int(seq), event, person, text, phone_text)


def message_for(event: Event, payload: dict[str, Any] | None = None) -> object:
    """What the room is told about an event (with ``payload`` instead of its own, if given):
    its actor is never sent (the opener is anonymous), and an opener answer travels as the
    tally it produced."""
    if event.type == "opener_tally":
        return server_tally(event.seq, event.payload["tally"], event.payload["respondents"])
    told = event.payload if payload is None else payload
    return server_event(event.seq, event.type, told, event.at.isoformat())


def ack_for(msg_id: str | None, event: Event, replayed: bool, phone: bool) -> Ack:
    """The sender's answer: its command is event ``event``, which follows on the sender's
    screen unless it is of a kind that screen is not sent."""
    follows = not (phone and event.type in EVENTS_NOT_FOR_PHONES)
    return Ack(msg_id, event.seq, replayed, follows)


def phone_message_for(event: Event) -> object:
    """What a phone is told about an event: the same, with no one named (``for_phones``)."""
    return message_for(event, without_names(event.payload))


def envelope_for(event: Event) -> Envelope:
    """An event's envelope, its message encoded once here (twice where it names people)."""
    text = encode(message_for(event))
    if event.type == "opener_tally":
        return Envelope(Kind.TALLY, event.seq, "", None, text)
    released = None
    if event.type == "name_released":
        released = int(event.payload["person"]["id"])
    payload = without_names(event.payload)
    phone_text = None if payload == event.payload else encode(message_for(event, payload))
    return Envelope(Kind.EVENT, event.seq, event.type, released, text, phone_text)


def beat(seq: int) -> Envelope:
    """The channel's log reaches ``seq`` (-1: it may have moved on unseen)."""
    return Envelope(Kind.BEAT, seq, "", None, "")


def control(what: str, argument: str) -> Envelope:
    """A message to every process (``what`` is one word, e.g. ``session_ended``)."""
    return Envelope(Kind.CONTROL, 0, what, None, argument)
