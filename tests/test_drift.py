"""Drift between two scans: every rule classified, the drift gate's exit code, from files and from the history."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
import typer
import yaml

from auditor.cli.app import app
from auditor.evaluate.acceptance import Acceptance, apply_acceptances
from auditor.evaluate.rulepack import Severity
from auditor.history.drift import ChangeKind, RunState, diff
from auditor.model.result import Result, Status
from auditor.report.reporting import build_report
from tests.conftest import Run
from tests.factory import TENANT_ID, Roles, Tenant, default_pack

pytest_plugins = ["tests.postgres"]

Cli = Callable[..., Run]


def _kinds(old: Result, new: Result) -> dict[str, ChangeKind]:
    return {change.rule_id: change.kind for change in diff(RunState.of(old), RunState.of(new)).changes}


def _with_status(result: Result, rule_id: str, status: Status) -> Result:
    findings = [f.model_copy(update={"status": status}) if f.rule_id == rule_id else f for f in result.findings]
    return result.model_copy(update={"findings": findings})


def _write(tmp_path: Path, name: str, result: Result) -> Path:
    path = tmp_path / name
    path.write_text(result.to_json())
    return path


def _snapshot(tmp_path: Path, tenant: Tenant, name: str) -> Path:
    path = tmp_path / f"{name}.snapshot.json"
    path.write_text(tenant.build().to_json())
    return path


# --- classification ------------------------------------------------------------------------------


def test_a_rule_that_starts_failing_regressed_and_the_rest_are_unchanged() -> None:
    tenant = Tenant()
    before = tenant.result()
    tenant.app_sp["accountEnabled"] = False
    kinds = _kinds(before, tenant.result())
    assert kinds["HDM-SP-02"] is ChangeKind.REGRESSED
    assert kinds["HDM-UC-01"] is ChangeKind.UNCHANGED
    assert len(kinds) == 17


def test_a_rule_that_is_fixed_improved() -> None:
    tenant = Tenant()
    tenant.user_consent = ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]
    before = tenant.result()
    tenant.user_consent = []
    assert _kinds(before, tenant.result())["HDM-UC-01"] is ChangeKind.IMPROVED


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (Status.PASS, Status.NOT_APPLICABLE, ChangeKind.REGRESSED),
        (Status.PASS, Status.FAIL, ChangeKind.REGRESSED),
        (Status.NOT_APPLICABLE, Status.FAIL, ChangeKind.REGRESSED),
        (Status.FAIL, Status.ERROR, ChangeKind.REGRESSED),
        (Status.PASS, Status.ERROR, ChangeKind.REGRESSED),
        (Status.ERROR, Status.FAIL, ChangeKind.IMPROVED),
        (Status.FAIL, Status.NOT_APPLICABLE, ChangeKind.IMPROVED),
        (Status.NOT_APPLICABLE, Status.PASS, ChangeKind.IMPROVED),
        (Status.FAIL, Status.FAIL, ChangeKind.UNCHANGED),
    ],
)
def test_statuses_rank_pass_over_not_applicable_over_fail_over_error(
    old: Status, new: Status, kind: ChangeKind
) -> None:
    result = Tenant().result()
    kinds = _kinds(_with_status(result, "HDM-GR-03", old), _with_status(result, "HDM-GR-03", new))
    assert kinds["HDM-GR-03"] is kind


def test_same_status_with_other_evidence_is_evidence_changed_naming_what_changed() -> None:
    tenant = Tenant()
    tenant.add_per_user_grant("Ann Able")
    before = tenant.result()
    tenant.add_per_user_grant("Ben Baker")
    drift = diff(RunState.of(before), RunState.of(tenant.result()))
    change = next(c for c in drift.changes if c.rule_id == "HDM-GR-04")
    assert change.kind is ChangeKind.EVIDENCE_CHANGED
    assert change.old_status is change.new_status is Status.FAIL
    assert change.evidence_keys and all(isinstance(key, str) for key in change.evidence_keys)
    assert not drift.gate_failures()


def test_rules_only_in_the_newer_run_are_new_and_only_in_the_older_removed() -> None:
    result = Tenant().result()
    without_leg = result.model_copy(update={"findings": result.findings[:-1]})
    assert _kinds(without_leg, result)["HDM-LEG-01"] is ChangeKind.NEW
    drift = diff(RunState.of(result), RunState.of(without_leg))
    removed = drift.changes[-1]
    assert (removed.rule_id, removed.kind, removed.new_status) == ("HDM-LEG-01", ChangeKind.REMOVED, None)
    assert not drift.gate_failures()


def test_verdict_and_score_changes_are_part_of_the_drift() -> None:
    tenant = Tenant()
    before = tenant.result()
    tenant.app_sp["accountEnabled"] = False
    drift = diff(RunState.of(before), RunState.of(tenant.result()))
    assert drift.verdict_changed
    assert (drift.old.verdict.value, drift.new.verdict.value) == ("ready", "blocked")
    assert drift.score_delta < 0
    assert drift.to_dict()["counts"]["regressed"] == 1


def test_the_gate_ignores_regressions_below_fail_on_and_accepted_failures() -> None:
    tenant = Tenant()
    before = tenant.result()
    tenant.add_per_user_grant("Ann Able")  # HDM-GR-04, low
    after = tenant.result()
    drift = diff(RunState.of(before), RunState.of(after))
    assert [c.rule_id for c in drift.gate_failures()] == ["HDM-GR-04"]
    assert drift.gate_failures(Severity.MEDIUM) == []
    accepted = apply_acceptances(after, [Acceptance(
        rule_id="HDM-GR-04", reason="Pilot users", owner="it@northwind.test", expires=date.today() + timedelta(days=9),
    )])
    accepted_drift = diff(RunState.of(before), RunState.of(accepted))
    assert accepted_drift.of_kind(ChangeKind.REGRESSED)[0].accepted
    assert accepted_drift.gate_failures() == []


def test_the_report_context_carries_the_drift_since_the_previous_run_only_when_there_is_one() -> None:
    tenant = Tenant()
    first = build_report(tenant.build(), default_pack(), None)
    assert first.drift is None
    tenant.app_sp["accountEnabled"] = False
    second = build_report(tenant.build(), default_pack(), None, previous=RunState.of(first.result))
    assert second.drift is not None
    assert [c.rule_id for c in second.drift.of_kind(ChangeKind.REGRESSED)] == ["HDM-SP-02"]


# --- auditor diff OLD NEW ------------------------------------------------------------------------


def test_diff_of_two_result_files_lists_the_regression_and_exits_1(cli: Cli, tmp_path: Path) -> None:
    tenant = Tenant()
    old = _write(tmp_path, "old.json", tenant.result())
    tenant.app_sp["accountEnabled"] = False
    new = _write(tmp_path, "new.json", tenant.result())
    run = cli("diff", str(old), str(new))
    assert run.code == 1
    assert "Regressed (1):" in run.stdout
    assert "HDM-SP-02" in run.stdout and "pass → fail" in run.stdout
    assert "Verdict: ready → blocked" in run.stdout


def test_diff_json_classifies_every_rule_for_machines(cli: Cli, tmp_path: Path) -> None:
    tenant = Tenant()
    tenant.add_per_user_grant("Ann Able")
    old = _write(tmp_path, "old.json", tenant.result())
    tenant.add_per_user_grant("Ben Baker")
    tenant.add_user_reviewer("Greta Global", role=Roles.GLOBAL_ADMIN)
    tenant.user_consent = ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]
    new = _write(tmp_path, "new.json", tenant.result())
    run = cli("diff", str(old), str(new), "--json")
    assert run.code == 1
    data = json.loads(run.stdout)
    kinds = {change["rule_id"]: change["kind"] for change in data["changes"]}
    assert kinds["HDM-UC-01"] == "regressed"
    assert kinds["HDM-GR-04"] == "evidence-changed"
    assert kinds["HDM-ACW-04"] == "evidence-changed"
    assert kinds["HDM-LEG-01"] == "unchanged"
    assert data["old"]["tenant"]["id"] == data["new"]["tenant"]["id"] == TENANT_ID
    assert sum(data["counts"].values()) == 17


def test_diff_exits_0_when_nothing_regressed_or_only_below_fail_on(cli: Cli, tmp_path: Path) -> None:
    tenant = Tenant()
    old = _write(tmp_path, "old.json", tenant.result())
    assert cli("diff", str(old), str(old)).code == 0
    tenant.add_per_user_grant("Ann Able")  # a low-severity regression
    new = _write(tmp_path, "new.json", tenant.result())
    assert cli("diff", str(old), str(new)).code == 1
    assert cli("diff", str(old), str(new), "--fail-on", "medium").code == 0
    assert cli("diff", str(new), str(old)).code == 0  # improved


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "not found"),
        ("{oops", "not valid JSON"),
        ('{"value": []}', "not an auditor result.json"),
        ('{"schema_version": 9, "verdict": "ready", "findings": []}', "schema_version 9 is not supported"),
        ('{"schema_version": 1, "verdict": "fine", "findings": []}', "invalid result"),
    ],
)
def test_an_unreadable_or_invalid_result_file_is_one_line_and_exit_2(
    cli: Cli, tmp_path: Path, content: str | None, fragment: str
) -> None:
    good = _write(tmp_path, "good.json", Tenant().result())
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    run = cli("diff", str(good), str(bad))
    assert run.code == 2
    assert fragment in run.stderr and str(bad) in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["{good}"], "two result.json files"),
        ([], "two result.json files"),
        (["{good}", "{good}", "--tenant", TENANT_ID], "--tenant goes with --history"),
        (["--tenant", TENANT_ID], "--history URL"),
    ],
)
def test_diff_needs_two_files_or_a_history_and_a_tenant(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], fragment: str
) -> None:
    monkeypatch.delenv("AUDITOR_HISTORY", raising=False)
    good = _write(tmp_path, "good.json", Tenant().result())
    run = cli("diff", *[arg.format(good=good) for arg in args])
    assert run.code == 2
    assert fragment in run.stderr


# --- auditor scan --history, then auditor diff --history (SQLite and PostgreSQL) -----------------


def test_two_scans_with_a_change_in_between_give_the_right_drift_classes(
    cli: Cli, tmp_path: Path, history_url: str
) -> None:
    tenant = Tenant()
    tenant.add_per_user_grant("Ann Able")
    first = _snapshot(tmp_path, tenant, "monday")
    tenant.app_sp["accountEnabled"] = False  # HDM-SP-02 regresses
    tenant.user_consent = ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]  # HDM-UC-01 regresses
    tenant.add_per_user_grant("Ben Baker")  # HDM-GR-04 still fails, with other evidence
    second = _snapshot(tmp_path, tenant, "tuesday")
    out = str(tmp_path / "out")

    scan1 = cli("scan", "--snapshot", str(first), "--out", out, "--format", "json", "--history", history_url)
    assert scan1.code == 0, scan1.stderr
    assert "Since the previous scan" not in scan1.stderr
    scan2 = cli("scan", "--snapshot", str(second), "--out", out, "--format", "json", "--history", history_url)
    assert scan2.code == 1
    assert "Since the previous scan" in scan2.stderr and "2 regressed" in scan2.stderr

    run = cli("diff", "--history", history_url, "--tenant", TENANT_ID, "--json")
    assert run.code == 1, run.stderr
    kinds = {change["rule_id"]: change["kind"] for change in json.loads(run.stdout)["changes"]}
    assert {rule for rule, kind in kinds.items() if kind == "regressed"} == {"HDM-SP-02", "HDM-UC-01"}
    assert kinds["HDM-GR-04"] == "evidence-changed"
    assert kinds["HDM-ACW-01"] == "unchanged"

    scan3 = cli("scan", "--snapshot", str(first), "--out", out, "--format", "json", "--history", history_url)
    assert scan3.code == 0
    text = cli("diff", "--history", history_url, "--tenant", "northwind test")  # by name, any case
    assert text.code == 0
    assert "Improved (2):" in text.stdout and "Regressed" not in text.stdout


def test_diff_with_a_single_run_in_the_history_has_nothing_to_compare(
    cli: Cli, tmp_path: Path, history_url: str
) -> None:
    snapshot = _snapshot(tmp_path, Tenant(), "only")
    cli("scan", "--snapshot", str(snapshot), "--out", str(tmp_path / "out"), "--history", history_url,
        "--format", "json")
    run = cli("diff", "--history", history_url, "--tenant", TENANT_ID)
    assert run.code == 0
    assert "Nothing to compare" in run.stdout


def test_diff_of_a_tenant_the_history_never_saw_is_exit_2(cli: Cli, tmp_path: Path, history_url: str) -> None:
    snapshot = _snapshot(tmp_path, Tenant(), "only")
    cli("scan", "--snapshot", str(snapshot), "--out", str(tmp_path / "out"), "--history", history_url,
        "--format", "json")
    run = cli("diff", "--history", history_url, "--tenant", "contoso.onmicrosoft.com")
    assert run.code == 2
    assert "no runs of tenant 'contoso.onmicrosoft.com'" in run.stderr


# --- the scheduled-scan examples in docs/ -------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _invocations(text: str) -> list[list[str]]:
    """Each `auditor COMMAND --option ...` in a file, continuation lines joined, as [command, options...]."""
    joined = re.sub(r"\\\s*\n\s*", " ", text)
    return [
        [match.group(1), *re.findall(r"(?<!\S)(--[a-z-]+)", match.group(2))]
        for match in re.finditer(r"auditor (scan|diff|history) ([^\n;'|]*)", joined)
    ]


@pytest.mark.parametrize(
    "name", ["github-actions.yml", "azure-pipelines.yml", "systemd/auditor-scan.service", "scheduled-scans.md"]
)
def test_the_scheduled_scan_examples_scan_with_history_and_gate_on_drift(name: str) -> None:
    text = (DOCS / name).read_text()
    if name.endswith(".yml"):
        assert isinstance(yaml.safe_load(text), dict)
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    invocations = _invocations(text)
    assert {"scan", "diff"} <= {command for command, *_ in invocations}
    for command, *options in invocations:
        known = {opt for param in commands[command].params for opt in param.opts}
        assert set(options) <= known, (command, set(options) - known)
    nightly = {"--auth", "--certificate", "--history", "--format", "--exceptions"}
    assert any(command == "scan" and nightly <= set(options) for command, *options in invocations)
    assert any(command == "diff" and {"--history", "--tenant"} <= set(options) for command, *options in invocations)
    assert "junit" in text and "--tenant" in text
