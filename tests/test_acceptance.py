"""Risk acceptance (`scan --exceptions FILE.yaml`): accepted failures stop failing the scan, until they expire."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.evaluate.acceptance import Acceptance, apply_acceptances, load_acceptances
from auditor.evaluate.engine import exit_code
from auditor.evaluate.rulepack import Severity
from auditor.model.errors import ExitCode
from auditor.model.result import Status
from tests.conftest import Run
from tests.factory import TENANT_ID, Tenant, default_pack

Cli = Callable[..., Run]
TODAY = date.today()


def _entry(**changes: Any) -> dict[str, Any]:
    entry = {
        "rule_id": "HDM-SP-02",
        "reason": "Disabled during the migration to the new HD Meeting app; re-enabled at go-live.",
        "owner": "it-security@northwind.test",
        "expires": (TODAY + timedelta(days=30)).isoformat(),
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


def _files(tmp_path: Path, tenant: Tenant, *entries: dict[str, Any]) -> tuple[Path, Path]:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(tenant.build().to_json())
    exceptions = tmp_path / "exceptions.yaml"
    exceptions.write_text(yaml.safe_dump(list(entries)))
    return snapshot, exceptions


def _disabled_app() -> Tenant:
    tenant = Tenant()
    tenant.app_sp["accountEnabled"] = False  # HDM-SP-02 (high) fails
    return tenant


def _scan(cli: Cli, tmp_path: Path, snapshot: Path, *args: str) -> tuple[Run, dict[str, Any]]:
    out = tmp_path / "out"
    run = cli("scan", "--snapshot", str(snapshot), "--out", str(out), "--format", "json", *args)
    result = json.loads((out / "result.json").read_text()) if (out / "result.json").exists() else {}
    return run, result


def _finding(result: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(f for f in result["findings"] if f["rule_id"] == rule_id)


def test_an_accepted_failure_keeps_status_fail_and_no_longer_fails_the_scan(cli: Cli, tmp_path: Path) -> None:
    snapshot, exceptions = _files(tmp_path, _disabled_app(), _entry())
    plain, _ = _scan(cli, tmp_path, snapshot)
    assert plain.code == 1
    run, result = _scan(cli, tmp_path, snapshot, "--exceptions", str(exceptions))
    assert run.code == 0, run.stderr
    finding = _finding(result, "HDM-SP-02")
    assert finding["status"] == "fail"
    assert finding["accepted"] == {
        "reason": _entry()["reason"], "owner": "it-security@northwind.test",
        "expires": (TODAY + timedelta(days=30)).isoformat(), "expired": False,
    }
    assert result["summary"]["fail"] == 1 and result["verdict"] == "blocked"
    assert "1 fail (1 accepted)" in run.stdout


def test_an_expired_acceptance_counts_again_and_is_flagged(cli: Cli, tmp_path: Path) -> None:
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    snapshot, exceptions = _files(tmp_path, _disabled_app(), _entry(expires=yesterday))
    run, result = _scan(cli, tmp_path, snapshot, "--exceptions", str(exceptions))
    assert run.code == 1
    assert _finding(result, "HDM-SP-02")["accepted"]["expired"] is True
    assert f"Risk acceptance of HDM-SP-02 expired on {yesterday}" in run.stderr


def test_an_acceptance_holds_through_its_expiry_date_judged_by_the_scan_date_not_collection() -> None:
    result = _disabled_app().result(generated_at=datetime(2026, 6, 30, 23, 59, tzinfo=timezone.utc))
    acceptance = Acceptance.model_validate(_entry(expires="2026-06-30"))
    on_the_day = apply_acceptances(result, [acceptance])
    assert exit_code(on_the_day, Severity.HIGH) is ExitCode.OK  # collected in March, scanned on 30 June
    next_day = apply_acceptances(
        result.model_copy(update={"generated_at": datetime(2026, 7, 1, 0, 0, tzinfo=timezone.utc)}), [acceptance]
    )
    assert exit_code(next_day, Severity.HIGH) is ExitCode.FINDINGS
    assert next((f.accepted for f in next_day.findings if f.rule_id == "HDM-SP-02"), None).expired


def test_an_acceptance_for_one_tenant_does_not_cover_another_and_beats_a_general_one() -> None:
    result = _disabled_app().result()
    elsewhere = Acceptance.model_validate(_entry(tenant_id="7d2c0e41-1a5b-4c3d-8e9f-0a1b2c3d4e5f"))
    assert exit_code(apply_acceptances(result, [elsewhere]), Severity.HIGH) is ExitCode.FINDINGS
    general = Acceptance.model_validate(_entry(owner="everyone@northwind.test"))
    ours = Acceptance.model_validate(_entry(tenant_id=TENANT_ID.upper(), owner="northwind@northwind.test"))
    accepted = apply_acceptances(result, [general, ours, elsewhere])
    finding = next(f for f in accepted.findings if f.rule_id == "HDM-SP-02")
    assert finding.accepted is not None and finding.accepted.owner == "northwind@northwind.test"


def test_an_error_is_never_accepted_and_a_passing_rule_carries_no_acceptance(cli: Cli, tmp_path: Path) -> None:
    tenant = Tenant()
    tenant.fail_source("authorization_policy")  # HDM-UC-01 cannot be evaluated
    snapshot, exceptions = _files(tmp_path, tenant, _entry(rule_id="HDM-UC-01"), _entry(rule_id="HDM-SP-01"))
    run, result = _scan(cli, tmp_path, snapshot, "--exceptions", str(exceptions))
    assert run.code == 3
    assert _finding(result, "HDM-UC-01")["status"] == "error"
    assert all("accepted" not in finding for finding in result["findings"])


def test_result_json_without_acceptances_is_exactly_the_contract(cli: Cli, tmp_path: Path) -> None:
    snapshot, _ = _files(tmp_path, _disabled_app())
    _, result = _scan(cli, tmp_path, snapshot)
    for finding in result["findings"]:
        assert set(finding) == {
            "rule_id", "title", "category", "severity", "status", "message", "evidence", "remediation",
            "references", "frameworks",
        }


def test_an_empty_exceptions_file_accepts_nothing(cli: Cli, tmp_path: Path) -> None:
    snapshot, exceptions = _files(tmp_path, _disabled_app())
    exceptions.write_text("# nothing accepted yet\n")
    run, _ = _scan(cli, tmp_path, snapshot, "--exceptions", str(exceptions))
    assert run.code == 1


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ([_entry(), _entry(rule_id="HDM-UC-01", team="blue")], "entry 2 (HDM-UC-01): team: unknown key"),
        ([_entry(owner=None)], "entry 1 (HDM-SP-02): owner: Field required"),
        ([_entry(reason="")], "entry 1 (HDM-SP-02): reason"),
        ([_entry(expires="next spring")], "entry 1 (HDM-SP-02): expires"),
        ([_entry(expires="2026-02-30")], "entry 1 (HDM-SP-02): expires"),
        ([_entry(rule_id="HDM-XYZ-01")], "entry 1 (HDM-XYZ-01): unknown rule id 'HDM-XYZ-01'"),
        ([_entry(), _entry(owner="someone@else.test")], "entry 2 (HDM-SP-02): HDM-SP-02 is accepted twice"),
        (["HDM-SP-02"], "entry 1: an entry is a mapping"),
        ({"rule_id": "HDM-SP-02"}, "an exceptions file is a YAML list of entries"),
        ("rule_id: [unclosed", "exceptions file is not valid YAML at line 1"),
        (None, "exceptions file not found"),
    ],
)
def test_an_invalid_exceptions_file_is_one_line_exit_2_naming_file_and_entry_and_writes_nothing(
    cli: Cli, tmp_path: Path, content: object, fragment: str
) -> None:
    snapshot, exceptions = _files(tmp_path, _disabled_app())
    if content is None:
        exceptions.unlink()
    else:
        exceptions.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    run, _ = _scan(cli, tmp_path, snapshot, "--exceptions", str(exceptions))
    assert run.code == 2
    assert f"{exceptions}: {fragment}" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_accepted_failures_only_change_exit_codes_never_statuses(cli: Cli, tmp_path: Path) -> None:
    snapshot, exceptions = _files(tmp_path, _disabled_app(), _entry())
    _, plain = _scan(cli, tmp_path, snapshot)
    _, accepted = _scan(cli, tmp_path, snapshot, "--exceptions", str(exceptions))
    assert [f["status"] for f in plain["findings"]] == [f["status"] for f in accepted["findings"]]
    assert plain["summary"] == accepted["summary"]
    assert Status.FAIL.value == _finding(accepted, "HDM-SP-02")["status"]


def test_the_documented_example_file_is_valid_for_the_default_rule_pack() -> None:
    example = Path(__file__).resolve().parents[1] / "docs" / "accepted-risks.example.yaml"
    acceptances = load_acceptances(example, default_pack())
    assert [a.rule_id for a in acceptances] == ["HDM-UC-01", "HDM-GR-04"]
