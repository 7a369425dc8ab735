"""The deployment recipe's files: docs/deploy.md shows deploy/nginx.conf exactly as the scale
tests run it, names every systemd unit, and the units parse."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def test_the_docs_show_the_nginx_configuration_the_tests_run() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    [shown] = re.findall(r"```nginx\n(.*?)```", docs, flags=re.S)
    assert shown == (ROOT / "deploy" / "nginx.conf").read_text()


def test_the_docs_name_every_unit() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    for unit in UNITS.iterdir():
        assert unit.name in docs or unit.name.replace("remind.timer", "remind.service") in docs


def test_a_call_the_units_filter_out_is_refused_not_fatal() -> None:
    # @resources (in the app's filter) holds nice, setpriority and sched_setscheduler, which the
    # reports' worker and the heavy-reads thread call to give way to the live rooms: without an
    # error number systemd kills the process with SIGSYS, and every report answered 500.
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        if "SystemCallFilter=" in text:
            assert "SystemCallErrorNumber=EPERM" in text, unit.name


def test_the_readme_leads_to_the_recipe() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    assert "docs/deploy.md" in section


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_units_parse(tmp_path: Path) -> None:
    # The units name the app's installed path; here it is this checkout's command instead.
    facilitator = shutil.which("facilitator") or str(ROOT / ".venv" / "bin" / "facilitator")
    for unit in UNITS.iterdir():
        name = unit.name.replace("@.service", "@8001.service")
        (tmp_path / name).write_text(
            unit.read_text().replace("/srv/facilitator/.venv/bin/facilitator", facilitator)
        )
    checked = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""
