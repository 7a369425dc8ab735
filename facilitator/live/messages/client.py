"""What screens send, as typed structures: decoded at the edge (the socket and
``POST /api/m/{id}/commands``, and ``POST /api/join``) into one of them or a refusal with our key.

Validation here is about shape (types, required fields); the services judge content (lengths,
dates, stages, roles) and answer with their own message keys.
"""

from __future__ import annotations

import re
from typing import Annotated, TypeVar, get_args

import msgspec
from msgspec import UNSET, Meta, UnsetType

from facilitator import i18n
from facilitator.db.models import ITEM_KINDS, SECTORS
from facilitator.errors import Invalid
from facilitator.flow import STAGES, Outcome

MAX_MESSAGE_BYTES = 64 * 1024
T = TypeVar("T")

# Ids and numbers fit a signed 64-bit column (the databases' BIGINT).
Int = Annotated[int, Meta(ge=-(2**63 - 1), le=2**63 - 1)]
# Content the services judge (a wrong one gets their key, not msg.bad_field): the schema says
# what they accept, the decoder only that it is a string.
StageName = Annotated[str, Meta(extra_json_schema={"enum": [s.value for s in STAGES]})]
OutcomeName = Annotated[str, Meta(extra_json_schema={"enum": [o.value for o in Outcome]})]
ItemKind = Annotated[str, Meta(extra_json_schema={"enum": list(ITEM_KINDS)})]
Day = Annotated[str, Meta(extra_json_schema={"format": "date", "description": "YYYY-MM-DD"})]
Language = Annotated[str, Meta(extra_json_schema={"enum": list(i18n.LANGUAGES)})]
MsgId = Annotated[
    str,
    Meta(description="A client message id: up to 64 of A-Z a-z 0-9 _ . : - (resending it replays)"),
]

# --- what screens send ---------------------------------------------------------------------


class _Client(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    id: MsgId | None = None

    @property
    def type(self) -> str:
        """The message's ``type`` (its tag)."""
        return str(self.__struct_config__.tag)


class Hello(_Client, frozen=True, tag="hello"):
    """The first message on a socket: who this screen is, and where it left off."""

    last_seq: Int | None = None
    token: str | None = None
    view: str | None = None
    lang: Language | None = None


class Ping(_Client, frozen=True, tag="ping"):
    """Answered with ``pong``."""


class Command(_Client, frozen=True):
    """A change to the meeting: committed with its event, answered ``ack`` or ``error``."""


class Start(Command, frozen=True, tag="start"):
    """Staff: lobby to review; reopens the group's open commitments."""


class Move(Command, frozen=True, tag="move"):
    """Staff: the next stage, or back to an earlier one."""

    stage: StageName


class Close(Command, frozen=True, tag="close"):
    """Staff: refused with every unmet gate in ``details``."""


class Cancel(Command, frozen=True, tag="cancel"):
    """Staff: call off a meeting in which nothing was committed."""


class RespondOpener(Command, frozen=True, tag="respond_opener"):
    """Participant: the whole opener answer (replaces the last)."""

    blockers: list[Int]
    anonymous: bool | None = None


class RecordOpenerAction(Command, frozen=True, tag="record_opener_action"):
    """Staff: what is done about a blocker (null or absent text clears it)."""

    blocker_id: Int
    text: str | None = None


class FocusItem(Command, frozen=True, tag="focus_item"):
    """Staff: put an agenda item on screen (null clears)."""

    item_id: Int | None = None


class PauseItem(Command, frozen=True, tag="pause_item"):
    """Staff: stop the clock of the item on screen."""

    item_id: Int


class ResumeItem(Command, frozen=True, tag="resume_item"):
    """Staff: run the paused item's clock again."""

    item_id: Int


class RecordDecision(Command, frozen=True, tag="record_decision"):
    """Staff: the decision taken on an agenda item."""

    item_id: Int
    text: str | None = None


class AddAgendaItem(Command, frozen=True, tag="add_agenda_item"):
    """Staff: a new agenda item at the end."""

    title: str
    minutes: Int
    kind: ItemKind | None = None
    strategy_id: Int | None = None
    presenter: str | None = None


class UpdateAgendaItem(Command, frozen=True, tag="update_agenda_item"):
    """Staff: replaces the whole item (a missing presenter clears it)."""

    item_id: Int
    title: str
    minutes: Int
    kind: ItemKind | None = None
    strategy_id: Int | None = None
    presenter: str | None = None


class RemoveAgendaItem(Command, frozen=True, tag="remove_agenda_item"):
    """Staff: remove an agenda item."""

    item_id: Int


class MoveAgendaItem(Command, frozen=True, tag="move_agenda_item"):
    """Staff: move an item to a position (1 is the first)."""

    item_id: Int
    position: Int


class ScheduleNext(Command, frozen=True, tag="schedule_next"):
    """Staff, once the meeting is closed: the group's next meeting."""

    title: str
    scheduled_on: Day
    starts_at: Annotated[str, Meta(description="HH:MM")] | None = None
    place: str | None = None
    copy_agenda: bool | None = None


class Review(Command, frozen=True, tag="review"):
    """Staff any reopened commitment; a participant only their own."""

    commitment_id: Int
    outcome: OutcomeName
    new_due: Day | None = None
    reason: str | None = None


class Propose(Command, frozen=True, tag="propose"):
    """Participant: their own commitment, awaiting confirmation."""

    text: str
    due: Day
    strategy_id: Int | None = None


class AddCommitment(Command, frozen=True, tag="add_commitment"):
    """Staff: a commitment for someone present."""

    text: str
    owner_id: Int | None = None
    due: Day | None = None
    strategy_id: Int | None = None


class Confirm(Command, frozen=True, tag="confirm"):
    """Staff: accept a proposal, or turn it down (with the reason told to its phone)."""

    commitment_id: Int
    accept: bool | None = None
    reason: str | None = None


class WithdrawCommitment(Command, frozen=True, tag="withdraw_commitment"):
    """Staff: take back a confirmed commitment before the close."""

    commitment_id: Int
    reason: str | None = None


class EditCommitment(Command, frozen=True, tag="edit_commitment"):
    """Staff any; a participant their own proposal (not its owner). An absent strategy_id
    leaves it alone, an explicit null clears it."""

    commitment_id: Int
    text: str | None = None
    owner_id: Int | None = None
    due: Day | None = None
    strategy_id: Int | UnsetType | None = UNSET


class ReleaseName(Command, frozen=True, tag="release_name"):
    """Staff: every phone token of that person stops working at once."""

    person_id: Int


class MarkPresent(Command, frozen=True, tag="mark_present"):
    """Staff: a person who came without a phone is present."""

    person_id: Int


class DecideClaim(Command, frozen=True, tag="decide_claim"):
    """Staff: accept (or refuse) a phone's request to be a known person no phone holds."""

    claim_id: Int
    accept: bool = True


class AddToRoster(Command, frozen=True, tag="add_to_roster"):
    """Staff: put a guest on the meeting's group roster."""

    person_id: Int


AnyCommand = (
    Start | Move | Close | Cancel | RespondOpener | RecordOpenerAction | FocusItem | PauseItem
    | ResumeItem | RecordDecision | AddAgendaItem | UpdateAgendaItem | RemoveAgendaItem
    | MoveAgendaItem | ScheduleNext | Review | Propose | AddCommitment | Confirm
    | WithdrawCommitment | EditCommitment | ReleaseName | MarkPresent | AddToRoster
    | DecideClaim
)  # fmt: skip
ClientMessage = Hello | Ping | AnyCommand
COMMANDS: tuple[type[Command], ...] = get_args(AnyCommand)
CLIENT_TYPES: tuple[str, ...] = tuple(
    str(kind.__struct_config__.tag) for kind in get_args(ClientMessage)
)


class JoinRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What a phone posts to ``/api/join``: its token, or a name and organization the first
    time (the services judge both)."""

    code: str = ""
    token: str | None = None
    name: Annotated[str, Meta(extra_json_schema={"maxLength": 120})] | None = None
    organization: Annotated[str, Meta(extra_json_schema={"maxLength": 200})] | None = None
    sector: Annotated[str, Meta(extra_json_schema={"enum": list(SECTORS)})] | None = None
    client_msg_id: MsgId | None = None


_decoder = msgspec.json.Decoder(ClientMessage)
_join_decoder = msgspec.json.Decoder(JoinRequest)
_AT = re.compile(r" - at `\$\.(\w+)")
_MISSING = re.compile(r"missing required field `(\w+)`")


def parse(raw: str | bytes) -> ClientMessage:
    """One client message, or ``Invalid`` with a key the client can show."""
    return _decode(_decoder, raw)


def parse_join(raw: bytes) -> JoinRequest:
    """The body of ``POST /api/join`` (an empty one is an empty object), or ``Invalid``."""
    return _decode(_join_decoder, raw or b"{}")


def _decode(decoder: msgspec.json.Decoder[T], raw: str | bytes) -> T:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Invalid("msg.too_big")
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise _refusal(str(error), raw) from None
    except (msgspec.DecodeError, RecursionError):
        raise Invalid("msg.bad_json") from None


def _refusal(reason: str, raw: str | bytes) -> Invalid:
    """msgspec's reason (``Expected `int`, got `str` - at `$.item_id```) as one of our keys."""
    at = _AT.search(reason)
    missing = _MISSING.search(reason)
    field = at.group(1) if at else missing.group(1) if missing else None
    if field is None:
        return Invalid("msg.bad_json")  # not an object at all
    if field == "type":
        try:  # the decoder stops at the type: the rest may not even be JSON
            found = msgspec.json.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            return Invalid("msg.bad_json")
        return Invalid("msg.unknown_type", type=str(found.get("type"))[:40])
    if field in ("id", "client_msg_id"):
        return Invalid("input.bad_client_msg_id")
    if missing or "got `null`" in reason:  # a null in a required field counts as left out
        return Invalid("msg.missing_field", field=field)
    return Invalid("msg.bad_field", field=field)
