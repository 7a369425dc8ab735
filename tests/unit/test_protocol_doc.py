"""docs/protocol.md and the browser's live.js know every message type and every event kind that
facilitator/live/messages defines."""

from __future__ import annotations

import re
from pathlib import Path

from facilitator.live.messages import CLIENT_TYPES, EVENT_KINDS, SERVER_TYPES

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
LIVE_JS = (ROOT / "web" / "static" / "js" / "live.js").read_text(encoding="utf-8")
# Logged, but screens get it only as a `tally` (never an `event` for applyEvent).
ONLY_AS_TALLY = {"opener_tally"}


def _table_rows(text: str) -> set[str]:
    """The first cell of every table row that names a type: | `start` | …"""
    return set(re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE))


def _block(source: str, opening: str) -> str:
    """The body of the JavaScript function or method that starts with ``opening``, up to the
    closing brace at its own indentation."""
    start = source.index(opening)
    indent = source[source.rindex("\n", 0, start) + 1 : start]
    end = source.index(f"\n{indent}}}\n", start)
    return source[start:end]


def _cases(block: str) -> set[str]:
    return set(re.findall(r'case "(\w+)":', block))


def test_every_message_type_is_in_the_protocol_document() -> None:
    rows = _table_rows(PROTOCOL)
    assert "hello" in CLIENT_TYPES
    assert "`hello`" in PROTOCOL
    missing = [t for t in (*CLIENT_TYPES, *SERVER_TYPES) if t != "hello" and t not in rows]
    assert not missing, f"docs/protocol.md has no table row for {missing}"
    unknown = rows - {*CLIENT_TYPES, *SERVER_TYPES} - {"console", "projector", "phone"}
    assert not unknown, f"docs/protocol.md describes types nobody defines: {sorted(unknown)}"


def test_every_event_kind_is_in_the_protocol_document() -> None:
    names = PROTOCOL[PROTOCOL.index("Event names") :].split("\n\n", 1)[0]
    listed = set(re.findall(r"`(\w+)`", names))
    missing = sorted(EVENT_KINDS - listed)
    assert not missing, f"docs/protocol.md's event names miss {missing}"


def test_apply_event_handles_every_event_kind() -> None:
    cases = _cases(_block(LIVE_JS, "export function applyEvent("))
    missing = sorted(EVENT_KINDS - ONLY_AS_TALLY - cases)
    assert not missing, f"live.js applyEvent has no case for {missing}"
    assert not cases - EVENT_KINDS, f"applyEvent names unknown events {cases - EVENT_KINDS}"


def test_the_live_room_receives_every_server_message() -> None:
    cases = _cases(_block(LIVE_JS, "  receive(msg) {"))
    missing = sorted(set(SERVER_TYPES) - cases)
    assert not missing, f"LiveRoom.receive in live.js has no case for {missing}"
