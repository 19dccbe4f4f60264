"""Attacks on issue 10 (consent paths, approvers, permission grant policies, verdict) with odd but real
Graph data. Each test scans a fake tenant live and again from the snapshot `collect` wrote, and asserts
what DESIGN.md (or Microsoft's docs, cited per test) implies, never the tool's own output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.consent_policies import GRAPH_APP_ID, GRAPH_SCOPE_IDS, condition_set, policy
from tests.fakegraph.consent_scenarios import consent_tenant, custom_role_low_only
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import (
    CLOUD_APPLICATION_ADMINISTRATOR,
    HDM_APP_ID,
    FakeTenant,
    iso,
    user_query,
)

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]


def _scan(cli: Cli, fake_graph: StartGraph, tenant: FakeTenant, tmp_path: Path) -> list[tuple[dict, int]]:
    """(result.json, exit code) of a live scan and of `collect` + `scan --snapshot`."""
    server = fake_graph(tenant, page_size=999)
    app = ["--app-id", HDM_APP_ID]
    live = cli("scan", *cli_args(server), *app, "--out", str(tmp_path / "live"), "--format", "json")
    cli("collect", *cli_args(server), *app, "--out", str(tmp_path / "snapshot.json"))
    offline = cli("scan", "--snapshot", str(tmp_path / "snapshot.json"), *app, "--out", str(tmp_path / "offline"),
                  "--format", "json")
    return [(json.loads((tmp_path / name / "result.json").read_text()), run.code)
            for name, run in (("live", live), ("offline", offline))]


def _status(result: dict, rule: str) -> str:
    return next(f["status"] for f in result["findings"] if f["rule_id"] == rule)


def _states(result: dict) -> dict[str, str]:
    return {name: path["state"] for name, path in result["paths"].items()}


def _reviewer_holding(tenant: FakeTenant, name: str, *, eligible: bool = False) -> tuple[str, dict[str, Any]]:
    """A user reviewer holding Cloud Application Administrator (active or PIM-eligible); the Graph object of
    that assignment, for a test to spoil."""
    user = tenant.add_user(name)
    (tenant.make_eligible if eligible else tenant.assign_role)(CLOUD_APPLICATION_ADMINISTRATOR, user)
    tenant.enable_admin_consent_workflow(user_query(user))
    held = tenant.role_eligibilities if eligible else tenant.role_assignments
    return user, held[-1]



def _check(results: list[tuple[dict, int]], *, verdict: str, paths: dict[str, str], rules: dict[str, str],
           code: int | None = None) -> None:
    """Live and offline both give the expected verdict, path states, rule statuses (and exit code)."""
    for result, exit_code in results:
        assert result["verdict"] == verdict, result["paths"]
        assert {name: _states(result)[name] for name in paths} == paths, result["paths"]
        assert {rule: _status(result, rule) for rule in rules} == rules, result["findings"]
        if code is not None:
            assert exit_code == code
    assert _states(results[0][0]) == _states(results[1][0])


MISSING_PROPERTY = (
    "DESIGN §3: 'a list or object missing a property a rule reads (e.g. permissionGrantPoliciesAssigned, "
    "appRoleAssignmentRequired, accountEnabled) makes the sources behind that rule error, never a default'"
)


# -- HD Meeting's service principal read without a property a rule reads ---------------------------------


def test_a_service_principal_without_account_enabled_is_unknown_not_blocked(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Enigma", app=True, verified=True)
    del tenant.service_principals[-1]["accountEnabled"]
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="unknown", paths={}, rules={"HDM-SP-02": "error"},
           code=3)


def test_a_service_principal_without_assignment_required_is_not_ready(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Assignless", app=True, verified=True)
    tenant.grant_delegated(tenant.refs["app"], tenant.refs["graph"], "User.Read Calendars.ReadWrite offline_access")
    del tenant.service_principals[-1]["appRoleAssignmentRequired"]
    # §3: the missing property "makes the sources behind that rule error" — the service principals, so
    # SP-01 and the rules after it are error too; granted cannot be told (§5); nothing else is open.
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="unknown",
           paths={"granted": "unknown", "admin_consent_workflow": "closed"},
           rules={"HDM-SP-01": "error", "HDM-SP-03": "error"}, code=3)



def test_a_grant_without_consent_type_is_not_read_as_missing_consent(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Grantless", app=True, verified=True)
    tenant.grant_delegated(tenant.refs["app"], tenant.refs["graph"], "User.Read Calendars.ReadWrite offline_access")
    del tenant.oauth2_permission_grants[-1]["consentType"]
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="unknown", paths={"granted": "unknown"},
           rules={"HDM-GR-01": "error"}, code=3)

# -- the authorization policy read without permissionGrantPoliciesAssigned ---------------------------------


@pytest.mark.parametrize("spoil", ["property missing", "defaultUserRolePermissions missing"])
def test_user_consent_settings_without_the_assigned_policies_are_an_error(
    spoil: str, cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Nopolicy", app=True, verified=True)
    if spoil == "property missing":
        del tenant.authorization_policy["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"]
    else:
        del tenant.authorization_policy["defaultUserRolePermissions"]
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="unknown", paths={"user_consent": "unknown"},
           rules={"HDM-UC-01": "error"}, code=3)


# -- approvers from role data missing a property -------------------------------------------------------------


@pytest.mark.parametrize("eligible", [False, True], ids=["active", "eligible"])
@pytest.mark.parametrize("spoil", ["missing", "null"])
def test_a_reviewers_role_without_directory_scope_is_not_a_definite_no(
    eligible: bool, spoil: str, cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Scopeless")
    _, held = _reviewer_holding(tenant, "Sam Scopeless", eligible=eligible)
    if spoil == "missing":
        del held["directoryScopeId"]
    else:
        held["directoryScopeId"] = None
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="unknown", paths={"admin_consent_workflow": "unknown"},
           rules={"HDM-ACW-04": "error"}, code=3)


def test_a_custom_role_read_without_role_permissions_is_not_a_definite_no(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Permless")
    tenant.add_policy(policy("hdm-consent", [condition_set("hdm-consent-1", resourceApplication=GRAPH_APP_ID)]))
    role = tenant.add_custom_role("HD Meeting Consent Approver", "hdm-consent")
    del tenant.role_definitions[-1]["rolePermissions"]
    reviewer = tenant.add_user("Pat Permless")
    tenant.assign_role(role, reviewer)
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="unknown", paths={"admin_consent_workflow": "unknown"},
           rules={"HDM-ACW-04": "error"}, code=3)


def test_a_group_eligibility_without_access_id_is_not_a_definite_no(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Accessless")
    reviewer = tenant.add_user("Gina Groupwise")
    group = tenant.add_group("Cloud App Admins", [], role_assignable=True)
    tenant.assign_role(CLOUD_APPLICATION_ADMINISTRATOR, group)
    tenant.make_eligible_member(reviewer, group)
    del tenant.group_eligibilities[-1]["accessId"]
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="unknown", paths={"admin_consent_workflow": "unknown"},
           rules={"HDM-ACW-04": "error"}, code=3)


# -- permission classifications -----------------------------------------------------------------------------


def test_a_classification_without_its_level_leaves_user_consent_unknown(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Classless", app=True, verified=True)
    tenant.classify("User.Read", "Calendars.ReadWrite", "offline_access")
    del tenant.classifications[1]["classification"]  # Calendars.ReadWrite: low, medium or high?
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="unknown", paths={"user_consent": "unknown"}, rules={})


# -- PIM instances not in effect at collected_at -------------------------------------------------------------


def _eligible_then_spoiled(tenant: FakeTenant, kind: str) -> None:
    now = datetime.now(timezone.utc)
    if kind.startswith("group"):
        reviewer = tenant.add_user("Gina Groupwise")
        group = tenant.add_group("Cloud App Admins", [], role_assignable=True)
        tenant.assign_role(CLOUD_APPLICATION_ADMINISTRATOR, group)
        tenant.make_eligible_member(reviewer, group)
        tenant.enable_admin_consent_workflow(user_query(reviewer))
        instance = tenant.group_eligibilities[-1]
    else:
        _, instance = _reviewer_holding(tenant, "Ed Eligible", eligible=True)
    if kind.endswith("ended"):
        start, end = iso(now - timedelta(days=90)), iso(now - timedelta(days=30))
        instance["startDateTime"], instance["endDateTime"] = start, end
    else:
        instance["startDateTime"], instance["endDateTime"] = iso(now + timedelta(days=30)), None


@pytest.mark.parametrize("kind", ["role ended", "role starts later", "group membership ended"])
def test_an_eligibility_not_in_effect_when_collected_makes_no_approver(
    kind: str, cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Lapsed")
    _eligible_then_spoiled(tenant, kind)
    _check(_scan(cli, fake_graph, tenant, tmp_path), verdict="blocked",
           paths={"granted": "closed", "user_consent": "closed", "admin_consent_workflow": "closed"},
           rules={"HDM-ACW-04": "fail"})


# -- reasons ---------------------------------------------------------------------------------------------------


def test_a_custom_role_without_is_enabled_is_explained_by_its_missing_is_enabled(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Enabless")
    tenant.add_policy(policy("hdm-consent", [condition_set("hdm-consent-1", resourceApplication=GRAPH_APP_ID)]))
    role = tenant.add_custom_role("HD Meeting Consent Approver", "hdm-consent")
    del tenant.role_definitions[-1]["isEnabled"]
    reviewer = tenant.add_user("Ivy Isenabled")
    tenant.assign_role(role, reviewer)
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    results = _scan(cli, fake_graph, tenant, tmp_path)
    _check(results, verdict="unknown", paths={"admin_consent_workflow": "unknown"}, rules={"HDM-ACW-04": "error"})
    for result, _ in results:
        message = next(f["message"] for f in result["findings"] if f["rule_id"] == "HDM-ACW-04")
        assert "isEnabled" in message and "HD Meeting Consent Approver" in message


def test_a_closed_workflow_reason_names_the_reviewer_and_the_role_that_falls_short(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant, _ = custom_role_low_only()
    results = _scan(cli, fake_graph, tenant, tmp_path)
    _check(results, verdict="blocked", paths={"admin_consent_workflow": "closed"}, rules={"HDM-ACW-04": "fail"})
    for result, _ in results:
        reasons = " ".join(result["paths"]["admin_consent_workflow"]["reasons"])
        assert "Liam Lowrisk" in reasons and "Low-risk Consent Approver" in reasons


# -- deciding with partial data --------------------------------------------------------------------------------


def test_a_failure_on_another_roles_eligibility_does_not_hide_an_approver_already_read(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Partial")
    _reviewer_holding(tenant, "Eve Eligible", eligible=True)
    tenant.add_policy(policy("hdm-consent", [condition_set("hdm-consent-1", resourceApplication=GRAPH_APP_ID)]))
    role = tenant.add_custom_role("HD Meeting Consent Approver", "hdm-consent")
    server = fake_graph(tenant, page_size=999)
    server.fail(rf"^/roleManagement/directory/roleEligibilityScheduleInstances\?.*{role}", 500, times=None)
    cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    result = json.loads((tmp_path / "result.json").read_text())
    assert (result["verdict"], _status(result, "HDM-ACW-04")) == ("ready-via-workflow", "pass")
    approvers = result["paths"]["admin_consent_workflow"]["approvers"]
    assert [a["user"].split(" (")[0] for a in approvers] == ["Eve Eligible"]


def test_two_policies_that_may_together_admit_the_scopes_leave_user_consent_unknown(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = consent_tenant("Duet", app=True, verified=True)
    basic = [GRAPH_SCOPE_IDS[s] for s in ("User.Read", "offline_access")]
    tenant.add_policy(policy("hdm-basic", [condition_set("hdm-basic-1", resourceApplication=GRAPH_APP_ID,
                                                         permissions=basic)]))
    tenant.add_policy(policy("calendar-if-low", [condition_set(
        "calendar-if-low-1", resourceApplication=GRAPH_APP_ID, permissions=[GRAPH_SCOPE_IDS["Calendars.ReadWrite"]],
        permissionClassification="low")]))
    tenant.set_user_consent("ManagePermissionGrantsForSelf.hdm-basic", "ManagePermissionGrantsForSelf.calendar-if-low")
    tenant.classify("Calendars.ReadWrite")
    server = fake_graph(tenant, page_size=999)
    server.fail(r"delegatedPermissionClassifications", 403, times=None, code="Authorization_RequestDenied")
    cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    result = json.loads((tmp_path / "result.json").read_text())
    assert (result["verdict"], _states(result)["user_consent"]) == ("unknown", "unknown"), result["paths"]


# -- a snapshot scanned with a pack that names roles it never collected -----------------------------------------


def test_a_snapshot_scanned_with_a_pack_naming_roles_it_never_read_is_not_blocked(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    import yaml

    from auditor.model.resources import DEFAULT_RULE_PACK

    pack = yaml.safe_load(DEFAULT_RULE_PACK.read_text())
    roles = pack["parameters"]["consent_capable_roles"]
    pack["parameters"]["consent_capable_roles"] = [r for r in roles if r["name"] == "Global Administrator"]
    (tmp_path / "strict.yaml").write_text(yaml.safe_dump(pack, sort_keys=False))
    tenant = consent_tenant("Strict")
    _reviewer_holding(tenant, "Cleo Cloudadmin")
    server = fake_graph(tenant, page_size=999)
    app = ["--app-id", HDM_APP_ID]
    cli("collect", *cli_args(server), *app, "--rules", str(tmp_path / "strict.yaml"), "--out", str(tmp_path / "s.json"))
    cli("scan", "--snapshot", str(tmp_path / "s.json"), *app, "--out", str(tmp_path / "out"), "--format", "json")
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    # Whether the reviewer holds a consent-capable role of this pack was not read: error, verdict unknown.
    assert (result["verdict"], _status(result, "HDM-ACW-04")) == ("unknown", "error"), result["paths"]
