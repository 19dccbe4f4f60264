"""A newcomer's first commands (issue 13): what to pass when nothing is given, a demo snapshot to try,
option errors that list the choices, the one-line summary on stdout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.cli.options import SIGN_IN_ENVIRONMENT
from auditor.model.resources import DEMO_SNAPSHOT
from tests.conftest import Run

Cli = Callable[..., Run]


def test_scan_without_a_source_says_what_to_pass(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SIGN_IN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    run = cli("scan")
    assert run.code == 2
    assert run.stderr == ("auditor: nothing to scan: pass --demo, --snapshot FILE, or --tenant-id TENANT --auth MODE "
                          "(see auditor scan --help)\n")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_demo_snapshot_is_the_demo_and_scans_like_it(cli: Cli, tmp_path: Path) -> None:
    snapshot = tmp_path / "demo.json"
    run = cli("demo-snapshot", "--out", str(snapshot))
    assert (run.code, run.stdout) == (0, f"Demo snapshot written to {snapshot}\n")
    assert json.loads(snapshot.read_text()) == json.loads(DEMO_SNAPSHOT.read_text())
    scanned = cli("scan", "--snapshot", str(snapshot), "--format", "json", "--out", str(tmp_path / "out"))
    demo = cli("scan", "--demo", "--format", "json", "--out", str(tmp_path / "demo"))
    assert scanned.code == demo.code == 1
    first, second = (json.loads((tmp_path / d / "result.json").read_text()) for d in ("out", "demo"))
    assert first["findings"] == second["findings"] and first["verdict"] == second["verdict"] == "ready-via-workflow"


def test_summary_line_goes_to_stdout(cli: Cli, tmp_path: Path) -> None:
    run = cli("scan", "--demo", "--format", "json", "--out", str(tmp_path))
    assert run.stdout == (f"Northwind Clinics: ready-via-workflow — 6 pass, 5 fail, 0 error, 6 n/a, score 58.3. "
                          f"Reports in {tmp_path}/\n")
    assert run.stderr == ""


@pytest.mark.parametrize(("option", "value", "choices"), [
    ("--fail-on", "severe", "info, low, medium, high, critical"),
    ("--auth", "password", "default, secret, certificate, device-code, browser, azure-cli, managed-identity, token"),
    ("--cloud", "mars", "global, usgov, usgovdod, china"),
])
def test_option_errors_list_the_choices(cli: Cli, tmp_path: Path, option: str, value: str, choices: str) -> None:
    run = cli("scan", "--demo", option, value, "--out", str(tmp_path / "out"))
    assert run.code == 2
    assert f"Invalid value for '{option}': '{value}': choose one of {choices}" in run.stderr
    assert "Value error" not in run.stderr and not (tmp_path / "out").exists()


def test_diff_fail_on_lists_the_choices(cli: Cli) -> None:
    run = cli("diff", "a.json", "b.json", "--fail-on", "urgent")
    assert run.code == 2
    assert "'--fail-on': 'urgent': choose one of info, low, medium, high, critical" in run.stderr
