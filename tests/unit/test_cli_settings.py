"""A setting the program cannot use is said plainly, by name, by every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from facilitator.cli import main


def test_a_wrong_setting_is_said_plainly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every command, a mail server's pipe included, answers a setting it cannot use with the
    setting's name and exit 2, not a traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACILITATOR_BOUNCE_ADDRESS", "bounces+x@example.org")
    assert main(["bounces", "--stdin"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("facilitator: FACILITATOR_BOUNCE_ADDRESS is a plain address")
    assert "Traceback" not in said
