"""The CLI contract (DESIGN §6): commands, outputs, exit codes and their precedence, bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.model.resources import DEFAULT_RULE_PACK, DEMO_SNAPSHOT
from tests.conftest import Run

Cli = Callable[..., Run]
REPORTS = {"report.html", "report.xlsx", "result.json"}


def _snapshot_with(tmp_path: Path, **changes: object) -> Path:
    data = json.loads(DEMO_SNAPSHOT.read_text())
    for dotted, value in changes.items():
        target = data
        *parents, leaf = dotted.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(data))
    return path


def test_demo_scan_writes_three_reports_and_17_findings_in_pack_order(cli: Cli, tmp_path: Path) -> None:
    run = cli("scan", "--demo", "--out", str(tmp_path / "out"))
    assert run.code in (0, 1)
    assert {p.name for p in (tmp_path / "out").iterdir()} == {*REPORTS, "auditor-manifest.json"}
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["schema_version"] == 1
    assert [f["rule_id"] for f in result["findings"]] == [
        "HDM-ACW-01", "HDM-ACW-02", "HDM-ACW-03", "HDM-ACW-04", "HDM-ACW-05", "HDM-ACW-06", "HDM-ACW-07",
        "HDM-UC-01", "HDM-SP-01", "HDM-SP-02", "HDM-SP-03", "HDM-GR-01", "HDM-GR-02", "HDM-GR-03", "HDM-GR-04",
        "HDM-REQ-01", "HDM-LEG-01",
    ]
    assert set(result) == {
        "schema_version", "generated_at", "collected_at", "tool", "tenant", "rule_pack", "app", "verdict",
        "paths", "summary", "findings",
    }
    assert set(result["summary"]) == {"pass", "fail", "error", "not_applicable", "score"}
    assert sum(result["summary"][k] for k in ("pass", "fail", "error", "not_applicable")) == 17
    assert result["tool"]["name"] == "auditor"
    assert result["rule_pack"]["id"] == "hd-meeting"
    assert result["generated_at"].endswith("Z") and result["collected_at"].endswith("Z")
    for finding in result["findings"]:
        assert finding["status"] in ("pass", "fail", "error", "not_applicable")
        assert finding["remediation"] and finding["title"] and finding["message"]
    assert run.stdout.startswith("Northwind Clinics: ready-via-workflow — ") and run.stderr == ""  # summary on stdout


def test_reports_are_private_to_the_owner(cli: Cli, tmp_path: Path) -> None:
    cli("scan", "--demo", "--out", str(tmp_path))
    for name in REPORTS:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_format_selects_files_and_a_rerun_removes_the_other_formats_only(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    cli("scan", "--demo", "--out", str(tmp_path))
    run = cli("scan", "--demo", "--out", str(tmp_path), "--format", "json")
    assert run.code in (0, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["auditor-manifest.json", "notes.txt", "result.json"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_fail_on_severity_sets_exit_code(cli: Cli, tmp_path: Path) -> None:
    result_path = tmp_path / "result.json"
    high = cli("scan", "--demo", "--out", str(tmp_path), "--format", "json", "--fail-on", "high")
    failing = [f for f in json.loads(result_path.read_text())["findings"] if f["status"] == "fail"]
    severities = {f["severity"] for f in failing}
    assert high.code == (1 if "high" in severities else 0)
    low = cli("scan", "--demo", "--out", str(tmp_path), "--format", "json", "--fail-on", "low")
    assert low.code == (1 if failing else 0)
    critical = cli("scan", "--demo", "--out", str(tmp_path), "--format", "json", "--fail-on", "critical")
    assert critical.code == 0


def test_error_finding_exits_3_over_failures(cli: Cli, tmp_path: Path) -> None:
    forbidden = {"status": "forbidden", "error": {"code": "Authorization_RequestDenied",
                 "message": "Insufficient privileges to complete the operation.", "http_status": 403},
                 "data": None}
    snapshot = _snapshot_with(tmp_path, sources__authorization_policy=forbidden)
    run = cli("scan", "--snapshot", str(snapshot), "--out", str(tmp_path / "out"), "--fail-on", "low")
    assert run.code == 3
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    uc01 = next(f for f in result["findings"] if f["rule_id"] == "HDM-UC-01")
    assert uc01["status"] == "error"
    assert "Authorization_RequestDenied" in uc01["message"]
    # The demo's workflow is open: an unreadable user consent setting leaves only that path unknown.
    assert result["verdict"] == "ready-via-workflow"
    assert result["paths"]["user_consent"]["state"] == "unknown"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--snapshot", "{missing}"], "not found"),
        (["--snapshot", "{garbage}"], "not valid JSON"),
        (["--snapshot", "{foreign}"], "not an auditor snapshot"),
        (["--snapshot", "{invalid}"], "invalid snapshot"),
        (["--demo", "--rules", "{bad_rules}"], "rule pack"),
        (["--demo", "--rules", "{unknown_rule}"], "without a check"),
        (["--demo", "--format", "pdf"], "unknown format"),
        (["--demo", "--app-id", "not-a-guid"], "not a GUID"),
        (["--demo", "--snapshot", "{foreign}"], "choose one"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    cli: Cli, tmp_path: Path, args: list[str], fragment: str
) -> None:
    files = {
        "missing": tmp_path / "nope.json",
        "garbage": tmp_path / "garbage.json",
        "foreign": tmp_path / "foreign.json",
        "invalid": tmp_path / "invalid.json",
        "bad_rules": tmp_path / "bad.yaml",
        "unknown_rule": tmp_path / "unknown.yaml",
    }
    files["garbage"].write_text("{not json")
    files["foreign"].write_text(json.dumps({"value": []}))
    invalid = json.loads(DEMO_SNAPSHOT.read_text())
    invalid["sources"]["service_principals"]["data"] = "oops"
    files["invalid"].write_text(json.dumps(invalid))
    files["bad_rules"].write_text("id: [unclosed")
    files["unknown_rule"].write_text(
        DEFAULT_RULE_PACK.read_text().replace("id: HDM-LEG-01", "id: HDM-XYZ-01")
    )
    out = tmp_path / "out"
    run = cli("scan", *[a.format(**{k: str(v) for k, v in files.items()}) for a in args], "--out", str(out))
    assert run.code == 2
    assert fragment in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr
    assert not out.exists()


def test_unknown_severity_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    run = cli("scan", "--demo", "--fail-on", "severe", "--out", str(tmp_path / "out"))
    assert run.code == 2
    assert not (tmp_path / "out").exists()


def test_rules_lists_every_rule(cli: Cli) -> None:
    run = cli("rules")
    assert run.code == 0
    for rule_id in ("HDM-ACW-01", "HDM-UC-01", "HDM-GR-04", "HDM-LEG-01"):
        assert rule_id in run.stdout


def test_version(cli: Cli) -> None:
    run = cli("--version")
    assert run.code == 0
    assert run.stdout.startswith("auditor ")


def test_snapshot_scan_equals_demo_scan(cli: Cli, tmp_path: Path) -> None:
    cli("scan", "--demo", "--out", str(tmp_path / "a"), "--format", "json")
    cli("scan", "--snapshot", str(DEMO_SNAPSHOT), "--out", str(tmp_path / "b"), "--format", "json")
    a, b = (json.loads((tmp_path / d / "result.json").read_text()) for d in ("a", "b"))
    assert a["findings"] == b["findings"] and a["verdict"] == b["verdict"]


def test_python_dash_m_runs_from_another_directory(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "scan", "--demo", "--out", "r", "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    assert (tmp_path / "r" / "result.json").is_file()


def test_fleet_report_quiet_help_names_what_it_silences(cli: Cli) -> None:
    """fleet-report has no progress display: its --quiet silences the summary line only."""
    report_help = " ".join(cli("fleet-report", "--help").stdout.split())
    fleet_help = " ".join(cli("fleet", "--help").stdout.split())
    assert ("-q, --quiet No summary line counting the tenants by exit code (each tenant's error or note is still "
            "shown).") in report_help
    assert "progress" not in report_help
    assert "-q, --quiet No progress display and no summary line" in fleet_help
