"""The embedded demo tenant (`auditor scan --demo`): it loads, and shows the intended mix of findings.

Northwind Clinics has an admin consent workflow with reviewers of every kind (one of them a disabled
user) and approvers of every kind (active, PIM-eligible, through a custom consent role), reminders
off, the "low" user consent policy with Calendars.ReadWrite not classified low (users cannot consent),
HD Meeting not yet consented (no service principal), a user waiting 12 days for approval, and the old
OAuth 1.0 integration still holding EWS access: the way forward is the admin consent workflow.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from auditor.evaluate.engine import evaluate
from auditor.evaluate.reviewer_query import ReviewerKind, parse_reviewer_query
from auditor.model.resources import DEMO_SNAPSHOT
from auditor.model.result import Finding, Result, Status, Verdict
from auditor.model.snapshot import SOURCE_NAMES, Snapshot, SourceStatus
from auditor.model.snapshot_file import load_snapshot
from tests.factory import default_pack

P, F, NA = Status.PASS, Status.FAIL, Status.NOT_APPLICABLE
EXPECTED = {
    "HDM-ACW-01": P, "HDM-ACW-02": P, "HDM-ACW-03": F, "HDM-ACW-04": P, "HDM-ACW-05": P, "HDM-ACW-06": F,
    "HDM-ACW-07": P, "HDM-UC-01": P, "HDM-SP-01": F, "HDM-SP-02": NA, "HDM-SP-03": NA, "HDM-GR-01": NA,
    "HDM-GR-02": NA, "HDM-GR-03": NA, "HDM-GR-04": NA, "HDM-REQ-01": F, "HDM-LEG-01": F,
}
DOMAIN = "northwindclinics.onmicrosoft.com"


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return load_snapshot(DEMO_SNAPSHOT)


@pytest.fixture(scope="module")
def result(snapshot: Snapshot) -> Result:
    return evaluate(snapshot, default_pack(), generated_at=datetime(2026, 3, 16, 10, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def findings(result: Result) -> dict[str, Finding]:
    return {finding.rule_id: finding for finding in result.findings}


def test_demo_snapshot_is_a_complete_fictional_snapshot(snapshot: Snapshot) -> None:
    assert snapshot.tenant.display_name == "Northwind Clinics"
    assert snapshot.graph_url == "https://graph.microsoft.com/v1.0"
    assert snapshot.tool.version == "0.1.0"
    assert snapshot.collected_at == datetime(2026, 3, 16, 9, 30, 12, tzinfo=timezone.utc)
    assert snapshot.target.app_id == "f5aebf55-87f5-4e6d-af2d-2f523ef587e9"
    assert list(snapshot.sources) == list(SOURCE_NAMES)
    assert all(source.status is SourceStatus.OK for source in snapshot.sources.values())


def test_demo_snapshot_holds_no_secret_or_token() -> None:
    text = DEMO_SNAPSHOT.read_text(encoding="utf-8").lower()
    for word in ("access_token", "bearer", "client_secret", "password", "refresh_token"):
        assert word not in text


def test_demo_keys_by_id_are_lower_case_and_match_their_objects(snapshot: Snapshot) -> None:
    for source in ("users", "groups"):
        for key, obj in snapshot.data(source).items():
            assert key == key.lower() and obj is not None and obj["id"] == key
    assert all(key == key.lower() for key in snapshot.data("group_members"))


def test_demo_has_reviewers_of_every_kind(snapshot: Snapshot) -> None:
    reviewers = snapshot.data("admin_consent_request_policy")["reviewers"]
    kinds = [parse_reviewer_query(reviewer["query"]).kind for reviewer in reviewers]
    assert sorted(kind.value for kind in kinds) == ["group", "role", "user", "user"]
    assert ReviewerKind.UNKNOWN not in kinds


def test_demo_evaluates_to_the_expected_status_of_each_rule(result: Result) -> None:
    assert {f.rule_id: f.status for f in result.findings} == EXPECTED
    assert [f.rule_id for f in result.findings] == list(EXPECTED)


def test_demo_verdict_is_ready_via_workflow(result: Result) -> None:
    assert result.verdict is Verdict.READY_VIA_WORKFLOW


def test_demo_summary_counts_the_mix(result: Result) -> None:
    summary = result.summary
    assert (summary.passed, summary.fail, summary.error, summary.not_applicable) == (6, 5, 0, 6)
    assert 0 < summary.score < 100


def test_demo_acw03_names_the_disabled_reviewer(findings: dict[str, Finding]) -> None:
    finding = findings["HDM-ACW-03"]
    assert f"derek.whitman@{DOMAIN}" in finding.message
    broken = [r for r in finding.evidence["reviewers"] if not r["resolved"]]
    assert [r["name"] for r in broken] == [f"Derek Whitman (derek.whitman@{DOMAIN})"]  # "Name (UPN)"


def test_demo_approvers_active_eligible_and_custom_but_not_the_app_scoped_admin(
    findings: dict[str, Finding], result: Result
) -> None:
    approvers = {(a["user"].split(" (")[0], a["role"], a["assignment"], a["via"])
                 for a in findings["HDM-ACW-04"].evidence["approvers"]}
    assert approvers == {
        ("Hannah Okafor", "Global Administrator", "active", "direct"),  # a user reviewer
        ("Lucas Moreau", "Application Administrator", "active", "direct"),  # through the role reviewer
        ("Tomasz Nowak", "Clinical App Consent Approver", "active", "direct"),  # custom role, group reviewer
        ("Priya Raman", "Cloud Application Administrator", "eligible", "direct"),  # PIM: activates first
    }
    # Sofia holds Application Administrator scoped to one app only: a reviewer, not an approver.
    assert all("sofia" not in a["user"] for a in findings["HDM-ACW-04"].evidence["approvers"])
    assert result.paths is not None and result.paths.user_consent.state.value == "closed"


def test_demo_sp01_offers_the_admin_consent_link(findings: dict[str, Finding], snapshot: Snapshot) -> None:
    link = (f"https://login.microsoftonline.com/{snapshot.tenant.id}/adminconsent"
            f"?client_id={snapshot.target.app_id}")
    assert findings["HDM-SP-01"].evidence["admin_consent_url"] == link


def test_demo_req01_names_the_requester_waiting_12_days(findings: dict[str, Finding]) -> None:
    evidence = findings["HDM-REQ-01"].evidence
    assert (evidence["pending"], evidence["stale"]) == (2, 1)
    [stale] = evidence["stale_requests"]
    assert stale["requester"] == f"Dr. Amelia Chen (amelia.chen@{DOMAIN})"  # "Name (UPN)"
    assert 12 <= stale["age_days"] < 12.5


def test_demo_leg01_names_the_oauth1_leftover_and_its_ews_grant(findings: dict[str, Finding]) -> None:
    [leftover] = findings["HDM-LEG-01"].evidence["leftovers"]
    assert leftover["displayName"] == "HD Meeting Legacy (OAuth 1.0)"
    assert any("EWS.AccessAsUser.All" in permission for permission in leftover["legacy_permissions"])


def test_demo_has_other_consent_requests_in_every_status(snapshot: Snapshot) -> None:
    requests = snapshot.data("consent_requests")
    assert len({r["appDisplayName"] for r in requests}) >= 4
    statuses = {u["status"] for r in requests for u in r["userConsentRequests"]}
    assert statuses == {"InProgress", "Completed", "Expired"}


def test_demo_file_is_pretty_printed_json() -> None:
    text = DEMO_SNAPSHOT.read_text(encoding="utf-8")
    assert json.loads(text)["format"] == "auditor-snapshot"
    assert text.endswith("\n") and "\n  " in text
