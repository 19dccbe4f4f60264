"""Consent paths end to end (issue 10): each case of tests/fakegraph/consent_scenarios.py scanned live
against the fake Graph and again offline from the snapshot `collect` wrote. The expected verdict, path
states and rule statuses come from DESIGN §4–§5 (written in each scenario), never from a run.

A typical tenant still costs two sequential rounds (counted by the fake Graph at the HTTP level, its
latency keeping requests sent together in one round) and at most three HTTP requests (issue 14).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.fakegraph.consent_scenarios import CASES
from tests.fakegraph.contract import violations
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import HDM_APP_ID

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]
ROUNDS_LIMIT, HTTP_LIMIT = 2, 3
LATENCY = 0.05  # seconds: see tests/fakegraph/server.py on counting rounds


def _expected_exit(result: dict) -> int:
    """DESIGN §6 with the default --fail-on high: error 3, a high failure 1, else 0."""
    statuses = [(f["status"], f["severity"]) for f in result["findings"]]
    if any(status == "error" for status, _ in statuses):
        return 3
    return 1 if any(status == "fail" and severity in ("high", "critical") for status, severity in statuses) else 0


def _outcome(result: dict) -> dict:
    return {
        "verdict": result["verdict"],
        "paths": {name: path["state"] for name, path in result["paths"].items()},
        "rules": {f["rule_id"]: f["status"] for f in result["findings"]},
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_consent_case_live_and_from_the_snapshot(case: str, cli: Cli, fake_graph: StartGraph, tmp_path: Path) -> None:
    tenant, expected = CASES[case]()
    server = fake_graph(tenant, page_size=999, latency=LATENCY)
    if "fail" in tenant.refs:
        server.fail(tenant.refs["fail"], 403, times=None, code="Authorization_RequestDenied")
    app = [] if expected.get("by_name") else ["--app-id", HDM_APP_ID]

    live = cli("scan", *cli_args(server), *app, "--out", str(tmp_path / "live"), "--format", "json")
    rounds, http_requests = server.rounds, server.http_requests
    collected = cli("collect", *cli_args(server), *app, "--out", str(tmp_path / "snapshot.json"))
    offline = cli("scan", "--snapshot", str(tmp_path / "snapshot.json"), *app, "--out", str(tmp_path / "offline"),
                  "--format", "json")

    assert collected.code in (0, 3) and (tmp_path / "snapshot.json").exists(), collected.stderr
    results = [json.loads((tmp_path / name / "result.json").read_text()) for name in ("live", "offline")]
    for result, run in zip(results, (live, offline), strict=True):
        outcome = _outcome(result)
        assert outcome["verdict"] == expected["verdict"], result["paths"]
        assert outcome["paths"] == expected["paths"], result["paths"]
        assert {rule: outcome["rules"][rule] for rule in expected["rules"]} == expected["rules"], result["findings"]
        assert run.code == _expected_exit(result), run.stderr
    assert _outcome(results[0]) == _outcome(results[1])
    assert results[0]["paths"] == results[1]["paths"]
    assert violations(server.requests, server.minted_skiptokens) == []
    assert rounds <= ROUNDS_LIMIT and http_requests <= HTTP_LIMIT


def test_an_eligible_approver_is_named_with_its_role_and_must_activate(cli: Cli, fake_graph: StartGraph,
                                                                     tmp_path: Path) -> None:
    tenant, _ = CASES["eligible_group_member"]()
    server = fake_graph(tenant)
    cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    result = json.loads((tmp_path / "result.json").read_text())
    (approver,) = result["paths"]["admin_consent_workflow"]["approvers"]
    assert approver == {"user": "Gina Groupwise (gina.groupwise@groupia.onmicrosoft.com)",
                        "id": approver["id"], "role": "Cloud Application Administrator",
                        "assignment": "eligible", "via": "Cloud App Admins"}
    acw04 = next(f for f in result["findings"] if f["rule_id"] == "HDM-ACW-04")
    assert "0 reviewer(s) can approve now" in acw04["message"]
    assert "1 after activating a role in PIM" in acw04["message"]


def test_no_premium_licence_is_told_apart_from_a_failure(cli: Cli, fake_graph: StartGraph, tmp_path: Path) -> None:
    tenant, _ = CASES["no_premium_licence"]()
    server = fake_graph(tenant)
    cli("collect", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path / "snapshot.json"))
    source = json.loads((tmp_path / "snapshot.json").read_text())["sources"]["role_eligibilities"]
    assert (source["status"], source["data"]) == ("ok", [])
    assert "AadPremiumLicenseRequired" in source["note"]


# Each new source answering 403 where it decides: never a pass, never "blocked" (DESIGN §5).
FORBIDDEN_CASES = {
    "permission_grant_policies": ("legacy_verified_app", r"/policies/permissionGrantPolicies/",
                                  {"user_consent": "unknown"}, "unknown"),
    "permission_classifications": ("low_policy_all_classified_low", r"delegatedPermissionClassifications",
                                   {"user_consent": "unknown"}, "unknown"),
    "role_definitions": ("custom_role_approver", r"roleDefinitions", {"admin_consent_workflow": "unknown"},
                         "unknown"),
    "group_eligibilities": ("eligible_group_member", r"privilegedAccess/group", {"admin_consent_workflow": "unknown"},
                            "unknown"),
    "role_eligibilities": ("eligible_reviewer", r"roleEligibilityScheduleInstances",
                           {"admin_consent_workflow": "unknown"}, "unknown"),
}


@pytest.mark.parametrize("source", sorted(FORBIDDEN_CASES))
def test_a_forbidden_new_source_makes_its_path_unknown_never_open_or_closed(
    source: str, cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    case, pattern, paths, verdict = FORBIDDEN_CASES[source]
    tenant, _ = CASES[case]()
    server = fake_graph(tenant)
    server.fail(pattern, 403, times=None, code="Authorization_RequestDenied")
    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    result = json.loads((tmp_path / "result.json").read_text())
    assert {name: result["paths"][name]["state"] for name in paths} == paths
    assert result["verdict"] == verdict
    reasons = " ".join(r for path in result["paths"].values() for r in path["reasons"])
    assert "Authorization_RequestDenied" in reasons or source in reasons
    assert run.code in (1, 3)


def _certified_only_tenant() -> object:
    """Legacy-like user consent restricted to certified apps: only /beta shows the restriction."""
    from tests.consent_policies import condition_set, policy

    tenant, _ = CASES["legacy_verified_app"]()
    tenant.add_policy(policy("certified-only", [condition_set("c-1", permissionType="delegatedUserConsentable",
                                                              certifiedClientApplicationsOnly=True)]))
    tenant.set_user_consent("ManagePermissionGrantsForSelf.certified-only")
    return tenant


def test_policies_are_read_from_beta_where_a_certified_only_restriction_shows(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = fake_graph(_certified_only_tenant())
    cli("collect", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path / "s.json"))
    snapshot = json.loads((tmp_path / "s.json").read_text())
    read = snapshot["sources"]["permission_grant_policies"]["data"]["certified-only"]
    assert read["apiVersion"] == "beta" and read["includes"][0]["certifiedClientApplicationsOnly"] is True
    assert any(r.path == "/beta/$batch" for r in server.requests)
    cli("scan", "--snapshot", str(tmp_path / "s.json"), "--app-id", HDM_APP_ID, "--out", str(tmp_path / "out"),
        "--format", "json")
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    # Certification is not visible: a certified-only condition set never matches (DESIGN §5).
    assert result["paths"]["user_consent"]["state"] == "closed"


def test_without_beta_policies_come_from_v1_and_the_reasons_say_what_is_not_visible(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = fake_graph(_certified_only_tenant())
    server.serves_beta = False
    cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    result = json.loads((tmp_path / "result.json").read_text())
    # v1.0 omits certifiedClientApplicationsOnly: evaluated without it, and said so.
    user_consent = result["paths"]["user_consent"]
    assert user_consent["state"] == "open"
    assert any("certified-only restriction would not be visible" in r for r in user_consent["reasons"])
    assert violations(server.requests, server.minted_skiptokens) == []


def _spoil_condition_set(tenant: Any) -> None:
    del tenant.permission_grant_policies["microsoft-user-default-legacy"]["includes"][0]["permissionType"]


def _spoil_eligibility(tenant: Any) -> None:
    del tenant.role_eligibilities[0]["principalId"]


# A plausible but wrong shape on each new source where it decides: never a pass, never a definite verdict.
WRONG_SHAPES = {
    "permission_grant_policies": ("legacy_verified_app", _spoil_condition_set, "user_consent"),
    "role_eligibilities": ("eligible_reviewer", _spoil_eligibility, "admin_consent_workflow"),
}


@pytest.mark.parametrize("source", sorted(WRONG_SHAPES))
def test_a_wrong_shape_on_a_new_source_leaves_its_path_unknown(
    source: str, cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    case, spoil, path = WRONG_SHAPES[source]
    tenant, _ = CASES[case]()
    spoil(tenant)
    server = fake_graph(tenant)
    cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["paths"][path]["state"] == "unknown", result["paths"][path]
    assert result["verdict"] == "unknown"
