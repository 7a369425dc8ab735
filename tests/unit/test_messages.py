"""The typed messages: strict decoding with our keys, one handler per command, strict encoding,
one list of event kinds, and the OpenAPI document made from the same structures."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from facilitator.db.models import SECTORS
from facilitator.errors import Invalid
from facilitator.flow import Role
from facilitator.http.openapi import SPEC
from facilitator.live import messages as m
from facilitator.live.dispatch import HANDLERS

ROOT = Path(__file__).resolve().parents[2]
TOO_DEEP = '{"type":"ping","x":' + "[" * 30_000 + "]" * 30_000 + "}"  # valid, but too deep


@pytest.mark.parametrize(
    ("raw", "key", "params"),
    [
        ("not json at all", "msg.bad_json", {}),
        ("[1, 2, 3]", "msg.bad_json", {}),
        ('"hello"', "msg.bad_json", {}),
        (b"\xff\xfe", "msg.bad_json", {}),
        ('{"type": "dance", oops', "msg.bad_json", {}),
        (TOO_DEEP, "msg.bad_json", {}),
        ("x" * (m.MAX_MESSAGE_BYTES + 1), "msg.too_big", {}),
        ('{"type": "dance"}', "msg.unknown_type", {"type": "dance"}),
        ('{"type": 5}', "msg.unknown_type", {"type": "5"}),
        ("{}", "msg.unknown_type", {"type": "None"}),
        ('{"type": "move"}', "msg.missing_field", {"field": "stage"}),
        ('{"type": "move", "stage": null}', "msg.missing_field", {"field": "stage"}),
        ('{"type": "respond_opener", "blockers": "all"}', "msg.bad_field", {"field": "blockers"}),
        ('{"type": "respond_opener", "blockers": [1, "2"]}', "msg.bad_field", {"field": "blockers"}),
        ('{"type": "pause_item", "item_id": true}', "msg.bad_field", {"field": "item_id"}),
        ('{"type": "pause_item", "item_id": 1.0}', "msg.bad_field", {"field": "item_id"}),
        ('{"type": "pause_item", "item_id": 9223372036854775808}', "msg.bad_field",
         {"field": "item_id"}),
        ('{"type": "record_decision", "item_id": 1, "text": 5}', "msg.bad_field",
         {"field": "text"}),
        ('{"type": "hello", "last_seq": "41"}', "msg.bad_field", {"field": "last_seq"}),
        ('{"type": "propose", "id": 5, "text": "x", "due": "2030-01-01"}',
         "input.bad_client_msg_id", {}),
    ],
)  # fmt: skip
def test_a_bad_message_is_refused_with_its_key(
    raw: str | bytes, key: str, params: dict[str, Any]
) -> None:
    with pytest.raises(Invalid) as refused:
        m.parse(raw)
    assert (refused.value.key, refused.value.params) == (key, params)


def test_a_join_body_is_refused_with_the_same_keys() -> None:
    assert m.parse_join(b"") == m.JoinRequest()
    for raw, key in [
        (b"x" * 100_000, "msg.too_big"),
        (b"[]", "msg.bad_json"),
        (b'{"code": 5}', "msg.bad_field"),
        (b'{"code": "A", "client_msg_id": 1}', "input.bad_client_msg_id"),
    ]:
        with pytest.raises(Invalid) as refused:
            m.parse_join(raw)
        assert refused.value.key == key, raw


def test_messages_decode_to_their_types_and_ignore_unknown_fields() -> None:
    hello = m.parse('{"type": "hello", "token": "t", "last_seq": 41, "lang": "he", "x": [1]}')
    assert hello == m.Hello(token="t", last_seq=41, lang="he")
    move = m.parse(b'{"stage": "agenda", "type": "move", "id": "c-1"}')
    assert isinstance(move, m.Command)
    assert move == m.Move(stage="agenda", id="c-1")
    assert move.type == "move"
    assert m.parse('{"type": "focus_item", "item_id": null}') == m.FocusItem(item_id=None)
    assert not isinstance(m.parse('{"type": "ping"}'), m.Command)
    with pytest.raises(AttributeError):
        move.stage = "lobby"  # type: ignore[misc]  # frozen


def test_an_explicit_null_clears_and_an_absent_field_leaves_alone() -> None:
    absent = m.parse('{"type": "edit_commitment", "commitment_id": 3, "text": "t"}')
    cleared = m.parse('{"type": "edit_commitment", "commitment_id": 3, "strategy_id": null}')
    linked = m.parse('{"type": "edit_commitment", "commitment_id": 3, "strategy_id": 7}')
    assert isinstance(absent, m.EditCommitment)
    assert absent.strategy_id is msgspec.UNSET
    assert isinstance(cleared, m.EditCommitment)
    assert cleared.strategy_id is None
    assert isinstance(linked, m.EditCommitment)
    assert linked.strategy_id == 7


def test_every_command_has_one_handler_and_every_type_one_name() -> None:
    assert set(HANDLERS) == set(m.COMMANDS)
    assert len(set(m.CLIENT_TYPES)) == len(m.CLIENT_TYPES) == len(m.COMMANDS) + 2
    assert len(set(m.SERVER_TYPES)) == len(m.SERVER_TYPES)
    # Every client type decodes from its smallest form: its required fields, each a 1 or "1".
    kinds: list[type[msgspec.Struct]] = [m.Hello, m.Ping, *m.COMMANDS]
    for kind in kinds:
        info = msgspec.inspect.type_info(kind)
        assert isinstance(info, msgspec.inspect.StructType)
        sample: dict[str, Any] = {"type": kind.__struct_config__.tag}
        for field in info.fields:
            if field.required:
                is_list = isinstance(field.type, msgspec.inspect.ListType)
                is_int = isinstance(field.type, msgspec.inspect.IntType)
                sample[field.encode_name] = [1] if is_list else 1 if is_int else "1"
        assert type(m.parse(json.dumps(sample))) is kind


def test_server_messages_encode_as_screens_read_them() -> None:
    snapshot = '{"meeting":{"title":"ישיבה"}}'
    assert json.loads(m.encode(m.Welcome(Role.PARTICIPANT, None, msgspec.Raw(snapshot)))) == {
        "type": "welcome", "role": "participant", "me": None,
        "snapshot": {"meeting": {"title": "ישיבה"}},
    }  # fmt: skip
    assert "ישיבה" in m.encode(m.Welcome(Role.PROJECTOR, None, msgspec.Raw(snapshot)))
    me = {"person": {"id": 1, "name": "דנה"}, "opener": [2]}
    spliced = m.welcome_text(Role.PARTICIPANT, me, snapshot)
    assert spliced == m.encode(m.Welcome(Role.PARTICIPANT, me, msgspec.Raw(snapshot)))
    assert json.loads(m.encode(m.Welcome(Role.FACILITATOR, None, None, seq=41))) == {
        "type": "welcome", "role": "facilitator", "me": None, "snapshot": None, "seq": 41,
    }  # fmt: skip
    assert m.PONG == '{"type":"pong"}'
    assert json.loads(m.encode(m.Ack(None, 3, False))) == {
        "type": "ack", "id": None, "seq": 3, "replayed": False, "follows": True,
    }  # fmt: skip
    assert json.loads(m.encode(m.Error("c1", "msg.bad_json", "…"))) == {
        "type": "error", "id": "c1", "key": "msg.bad_json", "message": "…", "details": [],
    }  # fmt: skip
    tally = json.loads(m.encode(m.server_tally(4, {"2": 1}, 1)))
    assert tally == {"type": "tally", "seq": 4, "tally": {"2": 1}, "respondents": 1}
    at = "2026-05-01T10:00:00+00:00"
    assert json.loads(m.encode(m.server_event(5, "joined", {"person": {"id": 1}}, at))) == {
        "type": "event", "seq": 5, "event": "joined", "payload": {"person": {"id": 1}}, "at": at,
    }  # fmt: skip


def test_encoding_is_strict() -> None:
    with pytest.raises(TypeError):
        m.encode(m.server_event(1, "joined", {"person": object()}, "x"))
    with pytest.raises(ValueError, match="unknown event kind"):
        m.server_event(1, "meeting_exploded", {}, "x")


def _changes_made_by_services() -> set[str]:
    """Every event kind a service makes: the first argument of each ``Change(...)``."""
    kinds: set[str] = set()
    for path in (ROOT / "facilitator" / "services").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Change"
                and node.args
            ):
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path.name}: a Change of a computed kind"
                kinds.add(str(first.value))
    return kinds


def test_the_event_kinds_are_the_ones_services_make() -> None:
    made = _changes_made_by_services()
    assert made - m.EVENT_KINDS == set(), "a service makes an event kind EventKind lacks"
    assert m.EVENT_KINDS - made == set(), "EventKind lists an event no service makes"


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_the_openapi_document_is_made_from_the_messages() -> None:
    document = json.loads(json.dumps(SPEC))  # plain JSON all through
    components = document["components"]
    for ref in _refs(document):
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in components[kind], f"{ref} points nowhere"
    schemas = components["schemas"]
    command = schemas["Command"]
    assert command["discriminator"]["propertyName"] == "type"
    assert set(command["discriminator"]["mapping"]) == set(m.CLIENT_TYPES) - {"hello", "ping"}
    assert set(schemas["ClientMessage"]["discriminator"]["mapping"]) == set(m.CLIENT_TYPES)
    assert set(schemas["ServerMessage"]["discriminator"]["mapping"]) == set(m.SERVER_TYPES)
    assert schemas["Move"]["required"] == ["type", "stage"]
    sector = schemas["JoinRequest"]["properties"]["sector"]["anyOf"][0]
    assert sector["enum"] == list(SECTORS)
    event = schemas["Event"]["properties"]["event"]
    assert set(event["enum"]) == m.EVENT_KINDS
    body = document["paths"]["/api/m/{meeting_id}/commands"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Command"}
