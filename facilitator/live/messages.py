"""Every WebSocket message, defined once. Clients send the ``CLIENT`` types; the server answers
with the ``server_*`` shapes. See ``docs/protocol.md``.

Validation here is about shape (types, required fields); the services judge content (lengths,
dates, stages, roles) and answer with their own message keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from facilitator.errors import Invalid

MAX_MESSAGE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Spec:
    """A message type: its fields and their kinds (``int``, ``str``, ``bool``, ``ints``, ``any``),
    with ``?`` marking the optional ones."""

    type: str
    fields: dict[str, str] = field(default_factory=dict)
    command: bool = True


CLIENT: dict[str, Spec] = {
    spec.type: spec
    for spec in (
        Spec("hello", {"last_seq": "int?", "token": "str?", "view": "str?", "lang": "str?"}, False),
        Spec("ping", {}, False),
        Spec("start"),
        Spec("move", {"stage": "str"}),
        Spec("close"),
        Spec("cancel"),
        Spec("respond_opener", {"blockers": "ints", "anonymous": "bool?"}),
        Spec("record_opener_action", {"blocker_id": "int", "text": "str?"}),
        Spec("focus_item", {"item_id": "int?"}),
        Spec("pause_item", {"item_id": "int"}),
        Spec("resume_item", {"item_id": "int"}),
        Spec("record_decision", {"item_id": "int", "text": "str?"}),
        Spec("add_agenda_item", {"title": "str", "minutes": "int", "kind": "str?", "strategy_id": "int?", "presenter": "str?"}),
        Spec("update_agenda_item", {"item_id": "int", "title": "str", "minutes": "int", "kind": "str?", "strategy_id": "int?", "presenter": "str?"}),
        Spec("remove_agenda_item", {"item_id": "int"}),
        Spec("move_agenda_item", {"item_id": "int", "position": "int"}),
        Spec("schedule_next", {"title": "str", "scheduled_on": "str", "starts_at": "str?", "place": "str?", "copy_agenda": "bool?"}),
        Spec("review", {"commitment_id": "int", "outcome": "str", "new_due": "str?", "reason": "str?"}),
        Spec("propose", {"text": "str", "due": "str", "strategy_id": "int?"}),
        Spec("add_commitment", {"text": "str", "owner_id": "int?", "due": "str?", "strategy_id": "int?"}),
        Spec("confirm", {"commitment_id": "int", "accept": "bool?", "reason": "str?"}),
        Spec("withdraw_commitment", {"commitment_id": "int", "reason": "str?"}),
        Spec("edit_commitment", {"commitment_id": "int", "text": "str?", "owner_id": "int?", "due": "str?", "strategy_id": "int?"}),
        Spec("release_name", {"person_id": "int"}),
        Spec("mark_present", {"person_id": "int"}),
        Spec("add_to_roster", {"person_id": "int"}),
    )
}  # fmt: skip


@dataclass(frozen=True)
class ClientMessage:
    type: str
    id: str | None
    data: dict[str, Any]

    @property
    def is_command(self) -> bool:
        return CLIENT[self.type].command


def _fits(kind: str, value: Any) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**63 - 1
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "ints":
        return isinstance(value, list) and all(_fits("int", v) for v in value)
    return True


def parse(raw: str | bytes) -> ClientMessage:
    """One client message, or ``Invalid`` with a key the client can show."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Invalid("msg.too_big")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Invalid("msg.bad_json") from None
    if not isinstance(data, dict):
        raise Invalid("msg.bad_json")
    kind = data.get("type")
    spec = CLIENT.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise Invalid("msg.unknown_type", type=str(kind)[:40])
    msg_id = data.get("id")
    if msg_id is not None and not isinstance(msg_id, str):
        raise Invalid("input.bad_client_msg_id")
    values: dict[str, Any] = {}
    for name, kind_spec in spec.fields.items():
        optional = kind_spec.endswith("?")
        value = data.get(name)
        if value is None:
            if not optional:
                raise Invalid("msg.missing_field", field=name)
            if name in data:  # an explicit null clears; an absent field leaves alone
                values[name] = None
            continue
        if not _fits(kind_spec.rstrip("?"), value):
            raise Invalid("msg.bad_field", field=name)
        values[name] = value
    return ClientMessage(spec.type, msg_id, values)


# --- server messages: built here only, encoded once --------------------------------------------


def encode(message: Any) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)


def server_event(seq: int, kind: str, payload: dict[str, Any], at: str) -> dict[str, Any]:
    return {"type": "event", "seq": seq, "event": kind, "payload": payload, "at": at}


def server_ack(msg_id: str | None, seq: int, replayed: bool) -> dict[str, Any]:
    return {"type": "ack", "id": msg_id, "seq": seq, "replayed": replayed}


def server_error(
    msg_id: str | None, key: str, message: str, details: list[str] | None = None
) -> dict[str, Any]:
    return {"type": "error", "id": msg_id, "key": key, "message": message, "details": details or []}


def server_welcome(
    role: str, me: dict[str, Any] | None, snapshot: dict[str, Any] | None
) -> dict[str, Any]:
    return {"type": "welcome", "role": role, "me": me, "snapshot": snapshot}


def server_tally(seq: int, tally: dict[str, int], respondents: int) -> dict[str, Any]:
    return {"type": "tally", "seq": seq, "tally": tally, "respondents": respondents}
