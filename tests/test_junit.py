"""`--format junit`: report.junit.xml for the test views of Azure DevOps and GitHub."""

from __future__ import annotations

import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from auditor.evaluate.acceptance import Acceptance, apply_acceptances
from auditor.model.result import Result
from auditor.model.snapshot import Snapshot
from auditor.report.render.junit import render_junit
from tests.conftest import Run
from tests.factory import TENANT_ID, Tenant

Cli = Callable[..., Run]


def _mixed() -> Tenant:
    """A tenant with every status: ACW-01 fails (ACW-02..07 not applicable), UC-01 cannot be read."""
    tenant = Tenant()
    tenant.policy["isEnabled"] = False
    tenant.fail_source("authorization_policy")
    return tenant


def _cases(result: Result) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.fromstring(render_junit(result))
    suite = root.find("testsuite")
    assert suite is not None
    return suite, {case.get("name", "").split(" ")[0]: case for case in suite.iter("testcase")}


def test_one_testcase_per_rule_named_by_id_and_title_in_its_category() -> None:
    result = _mixed().result()
    suite, cases = _cases(result)
    assert list(cases) == [f.rule_id for f in result.findings]
    for finding in result.findings:
        case = cases[finding.rule_id]
        assert case.get("classname") == finding.category
        assert case.get("name") == f"{finding.rule_id} {finding.title}"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "17", str(result.summary.fail), "1", str(result.summary.not_applicable)
    )


def test_failures_errors_and_not_applicable_rules_map_to_junit_outcomes() -> None:
    _, cases = _cases(_mixed().result())
    failure = cases["HDM-ACW-01"].find("failure")
    assert failure is not None and failure.get("type") == "high"
    assert "Remediation:" in (failure.text or "") and "Evidence:" in (failure.text or "")
    error = cases["HDM-UC-01"].find("error")
    assert error is not None and "Authorization_RequestDenied" in (error.get("message") or "")
    assert cases["HDM-ACW-02"].find("skipped") is not None
    assert list(cases["HDM-SP-01"]) == []  # a pass is a bare test case


def test_properties_name_the_tenant_the_verdict_and_the_score() -> None:
    result = _mixed().result()
    suite, _ = _cases(result)
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["tenant.id"] == TENANT_ID
    assert properties["tenant.name"] == "Northwind Test"
    assert properties["verdict"] == result.verdict.value == "ready"  # granted; UC-01 unread leaves user consent unknown
    assert properties["score"] == f"{result.summary.score:g}"


def test_an_accepted_failure_is_skipped_with_its_acceptance_and_an_expired_one_fails() -> None:
    result = _mixed().result()
    entry = {"rule_id": "HDM-ACW-01", "reason": "Reviewed quarterly by hand", "owner": "ciso@northwind.test"}
    current = Acceptance.model_validate({**entry, "expires": date.today() + timedelta(days=5)})
    suite, cases = _cases(apply_acceptances(result, [current]))
    skipped = cases["HDM-ACW-01"].find("skipped")
    assert skipped is not None and "Reviewed quarterly by hand" in (skipped.get("message") or "")
    assert suite.get("failures") == str(result.summary.fail - 1)
    expired = Acceptance.model_validate({**entry, "expires": date.today() - timedelta(days=5)})
    _, cases = _cases(apply_acceptances(result, [expired]))
    failure = cases["HDM-ACW-01"].find("failure")
    assert failure is not None and "expired" in (failure.get("message") or "")


def test_hostile_tenant_strings_are_escaped_and_illegal_characters_replaced() -> None:
    hostile = 'Evil & Co <testcase name="fake"/> "quoted" ]]> \x00\x1b[31m\x0b\ud800 end'
    tenant = Tenant()
    tenant.add_service_principal(f"HD Meeting {hostile[:-6]}")  # a leftover named in HDM-LEG-01's evidence
    result = tenant.result()
    result = result.model_copy(update={"tenant": result.tenant.model_copy(update={"display_name": hostile})})
    suite, cases = _cases(result)
    assert len(cases) == 17  # the fake test case stayed text
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    replaced = "\ufffd\ufffd[31m\ufffd\ufffd end"  # NUL, ESC, vertical tab and the lone surrogate
    assert properties["tenant.name"] == f'Evil & Co <testcase name="fake"/> "quoted" ]]> {replaced}'
    failure = cases["HDM-LEG-01"].find("failure")
    assert failure is not None and 'Evil & Co <testcase name="fake"/>' in (failure.text or "")


def test_format_junit_writes_a_private_report_and_a_rerun_without_it_removes_it(cli: Cli, tmp_path: Path) -> None:
    snapshot: Snapshot = _mixed().build()
    path = tmp_path / "snapshot.json"
    path.write_text(snapshot.to_json())
    out = tmp_path / "out"
    run = cli("scan", "--snapshot", str(path), "--out", str(out), "--format", "json,junit")
    assert run.code == 3
    report = out / "report.junit.xml"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert ET.parse(report).getroot().tag == "testsuites"
    cli("scan", "--snapshot", str(path), "--out", str(out), "--format", "json")
    assert sorted(p.name for p in out.iterdir()) == ["auditor-manifest.json", "result.json"]


def _path_cases(result: Result) -> dict[str, ET.Element]:
    root = ET.fromstring(render_junit(result))
    suites = root.findall("testsuite")
    assert len(suites) == 2 and suites[1].get("name", "").startswith("consent paths: ")
    return {case.get("name", ""): case for case in suites[1].iter("testcase")}


def test_one_testcase_per_consent_path_open_passes_unknown_errs_closed_skips_beside_an_open_one() -> None:
    cases = _path_cases(_mixed().result())  # granted; user consent unreadable; workflow disabled
    granted, user, workflow = (cases[title] for title in (
        "Consent already granted", "Users consent for themselves",
        "Users ask, an approver approves (admin consent workflow)"))
    assert list(granted) == []
    assert user.find("error") is not None and "Authorization_RequestDenied" in (user.find("error").text or "")
    assert workflow.find("skipped") is not None


def test_closed_paths_fail_when_no_path_is_open() -> None:
    tenant = Tenant()
    tenant.remove_app()
    tenant.policy["isEnabled"] = False
    result = tenant.result()
    assert result.verdict.value == "blocked"
    cases = _path_cases(result)
    assert all(case.find("failure") is not None for case in cases.values())
    root = ET.fromstring(render_junit(result))
    rule_failures = result.summary.fail
    assert root.get("failures") == str(rule_failures + 3) and root.get("tests") == str(len(result.findings) + 3)
