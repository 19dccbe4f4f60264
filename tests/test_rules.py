"""Every rule of DESIGN §4: its pass, fail, not_applicable and error paths, on small built tenants.

Each test changes one thing in the healthy tenant of `tests.factory` (where all 17 rules pass) and
asserts the exact status of the rule, and that the finding names the object behind it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from auditor.evaluate.engine import evaluate
from auditor.model.result import Status
from tests.factory import (
    EWS_SCOPE,
    EXCHANGE_SP,
    FORBIDDEN,
    FULL_ACCESS_AS_APP,
    GRAPH_APP_ROLES,
    HD_APP_ID,
    HD_MEETING,
    REQUIRED_SCOPES,
    TENANT_ID,
    Roles,
    Tenant,
    default_pack,
    guid,
    mentions,
    pack_with,
    upn,
)

ALL_RULES = [
    "HDM-ACW-01", "HDM-ACW-02", "HDM-ACW-03", "HDM-ACW-04", "HDM-ACW-05", "HDM-ACW-06", "HDM-ACW-07",
    "HDM-UC-01", "HDM-SP-01", "HDM-SP-02", "HDM-SP-03", "HDM-GR-01", "HDM-GR-02", "HDM-GR-03", "HDM-GR-04",
    "HDM-REQ-01", "HDM-LEG-01",
]
WORKFLOW_RULES = ["HDM-ACW-02", "HDM-ACW-03", "HDM-ACW-04", "HDM-ACW-05", "HDM-ACW-06", "HDM-ACW-07"]
APP_RULES = ["HDM-SP-02", "HDM-SP-03", "HDM-GR-01", "HDM-GR-02", "HDM-GR-03", "HDM-GR-04"]


def statuses(tenant: Tenant, **options: object) -> dict[str, Status]:
    return {rule_id: finding.status for rule_id, finding in tenant.evaluate(**options).items()}


def assert_error_names_code(tenant: Tenant, rule_id: str, source: str) -> None:
    finding = tenant.evaluate()[rule_id]
    assert finding.status is Status.ERROR, finding.message
    assert FORBIDDEN in finding.message
    assert source in finding.message


# -- the baseline ---------------------------------------------------------------------------------


def test_healthy_tenant_passes_all_17_rules_in_pack_order() -> None:
    result = Tenant().result()
    assert [f.rule_id for f in result.findings] == ALL_RULES
    assert {f.rule_id: f.status for f in result.findings} == dict.fromkeys(ALL_RULES, Status.PASS)


def test_reevaluating_a_snapshot_later_gives_the_same_findings() -> None:
    tenant = Tenant()
    tenant.add_consent_request(6.5, requester="Early Eve")
    snapshot = tenant.build()
    now = evaluate(snapshot, default_pack(), generated_at=datetime(2026, 3, 16, 10, tzinfo=timezone.utc))
    much_later = evaluate(snapshot, default_pack(), generated_at=datetime(2031, 1, 1, tzinfo=timezone.utc))
    assert now.findings == much_later.findings
    assert now.verdict is much_later.verdict
    assert now.collected_at == much_later.collected_at == snapshot.collected_at
    # 6.5 days old at collected_at: not stale, although it is years old by the clock.
    assert now.findings[ALL_RULES.index("HDM-REQ-01")].status is Status.PASS


# -- HDM-ACW-01: workflow enabled --------------------------------------------------------------------


def test_acw01_passes_when_the_workflow_is_enabled() -> None:
    assert Tenant().evaluate()["HDM-ACW-01"].status is Status.PASS


def test_acw01_fails_when_the_workflow_is_disabled_and_makes_the_workflow_rules_not_applicable() -> None:
    tenant = Tenant()
    tenant.policy["isEnabled"] = False
    findings = tenant.evaluate()
    assert findings["HDM-ACW-01"].status is Status.FAIL
    assert findings["HDM-ACW-01"].evidence["isEnabled"] is False
    assert {rule: findings[rule].status for rule in WORKFLOW_RULES} == dict.fromkeys(
        WORKFLOW_RULES, Status.NOT_APPLICABLE
    )


def test_acw01_fails_when_the_policy_has_no_is_enabled_value() -> None:
    tenant = Tenant()
    del tenant.policy["isEnabled"]
    assert tenant.evaluate()["HDM-ACW-01"].status is Status.FAIL


def test_acw01_is_error_naming_the_graph_code_when_the_policy_is_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("admin_consent_request_policy")
    assert_error_names_code(tenant, "HDM-ACW-01", "admin_consent_request_policy")


# -- HDM-ACW-02: reviewers configured ------------------------------------------------------------------


def test_acw02_passes_with_one_reviewer() -> None:
    finding = Tenant().evaluate()["HDM-ACW-02"]
    assert finding.status is Status.PASS
    assert mentions(finding, guid("user:Alice Admin"))


def test_acw02_fails_when_the_workflow_has_no_reviewer() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    assert tenant.evaluate()["HDM-ACW-02"].status is Status.FAIL


def test_acw02_is_not_applicable_when_the_workflow_is_disabled() -> None:
    tenant = Tenant()
    tenant.policy["isEnabled"] = False
    tenant.clear_reviewers()
    assert tenant.evaluate()["HDM-ACW-02"].status is Status.NOT_APPLICABLE


def test_acw02_is_error_when_the_policy_could_not_be_read() -> None:
    tenant = Tenant()
    tenant.fail_source("admin_consent_request_policy")
    assert_error_names_code(tenant, "HDM-ACW-02", "admin_consent_request_policy")


# -- HDM-ACW-03: every reviewer resolves ---------------------------------------------------------------


def test_acw03_passes_when_user_group_and_role_reviewers_all_resolve() -> None:
    tenant = Tenant()
    tenant.add_group_reviewer(tenant.add_group("Calendar Approvers", tenant.add_user("Gina Group")))
    tenant.assign_role(tenant.add_user("Rolf Role"), Roles.APP_ADMIN)
    tenant.add_role_reviewer(Roles.APP_ADMIN)
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.PASS
    assert mentions(finding, "Calendar Approvers", upn("Gina Group"), upn("Rolf Role"), upn("Alice Admin"))


def test_acw03_fails_when_a_user_reviewer_is_disabled() -> None:
    tenant = Tenant()
    dana = tenant.add_user_reviewer("Dana Disabled", enabled=False)
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, upn("Dana Disabled"), "disabled")
    assert mentions(finding, dana)


def test_acw03_fails_when_a_user_reviewer_was_deleted() -> None:
    tenant = Tenant()
    gone = tenant.add_deleted_user_reviewer("Gone Gary")
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, gone)


def test_acw03_fails_when_a_group_reviewer_has_no_enabled_member() -> None:
    tenant = Tenant()
    group = tenant.add_group("Dormant Approvers", tenant.add_user("Olaf Offboarded", enabled=False))
    tenant.add_group_reviewer(group)
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Dormant Approvers")


def test_acw03_fails_when_a_group_reviewer_has_no_member_at_all() -> None:
    tenant = Tenant()
    tenant.add_group_reviewer(tenant.add_group("Empty Approvers"))
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Empty Approvers")


def test_acw03_fails_when_a_group_reviewer_was_deleted() -> None:
    tenant = Tenant()
    group = tenant.add_group("Deleted Approvers")
    tenant.groups[group] = None
    tenant.add_group_reviewer(group)
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, group)


def test_acw03_resolves_a_group_reviewer_whose_only_members_sit_in_a_nested_group() -> None:
    tenant = Tenant()
    inner = tenant.add_group("Clinical Systems", tenant.add_user("Nina Nested"))
    outer = tenant.add_group("App Approvers", inner)
    tenant.add_group_reviewer(outer, query=f"/v1.0/groups/{outer}/transitiveMembers/microsoft.graph.user")
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.PASS
    assert mentions(finding, "App Approvers", upn("Nina Nested"))


def test_acw03_fails_when_a_role_reviewer_role_has_no_holder() -> None:
    tenant = Tenant()
    tenant.add_role_reviewer(Roles.PRIVILEGED_ROLE_ADMIN)
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Privileged Role Administrator")


def test_acw03_fails_when_a_role_reviewer_role_is_held_only_by_a_disabled_user() -> None:
    tenant = Tenant()
    tenant.assign_role(tenant.add_user("Rex Retired", enabled=False), Roles.APP_ADMIN)
    tenant.add_role_reviewer(Roles.APP_ADMIN)
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Application Administrator")


def test_acw03_fails_naming_the_query_when_a_reviewer_query_is_not_recognised() -> None:
    tenant = Tenant()
    tenant.add_reviewer("/servicePrincipals/not-a-reviewer")
    finding = tenant.evaluate()["HDM-ACW-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "/servicePrincipals/not-a-reviewer")


def test_acw03_is_not_applicable_without_reviewers() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    assert tenant.evaluate()["HDM-ACW-03"].status is Status.NOT_APPLICABLE


def test_acw03_is_not_applicable_when_the_workflow_is_disabled() -> None:
    tenant = Tenant()
    tenant.policy["isEnabled"] = False
    tenant.add_user_reviewer("Dana Disabled", enabled=False)
    assert tenant.evaluate()["HDM-ACW-03"].status is Status.NOT_APPLICABLE


@pytest.mark.parametrize("source", ["users", "groups", "group_members", "role_assignments"])
def test_acw03_is_error_when_a_directory_source_is_forbidden(source: str) -> None:
    tenant = Tenant()
    tenant.fail_source(source)
    tenant.add_group_reviewer(tenant.add_group("Calendar Approvers", tenant.add_user("Gina Group")))
    tenant.add_role_reviewer(Roles.CLOUD_APP_ADMIN)
    assert_error_names_code(tenant, "HDM-ACW-03", source)


# -- HDM-ACW-04: a reviewer may grant consent ----------------------------------------------------------


def _tenant_with_reviewer(name: str, **options: object) -> Tenant:
    """A tenant whose only reviewer is `name`."""
    tenant = Tenant()
    tenant.clear_reviewers()
    tenant.add_user_reviewer(name, **options)  # type: ignore[arg-type]
    return tenant


@pytest.mark.parametrize(
    ("role", "name"),
    [
        (Roles.GLOBAL_ADMIN, "Global Administrator"),
        (Roles.PRIVILEGED_ROLE_ADMIN, "Privileged Role Administrator"),
        (Roles.CLOUD_APP_ADMIN, "Cloud Application Administrator"),
        (Roles.APP_ADMIN, "Application Administrator"),
    ],
)
def test_acw04_passes_when_a_reviewer_holds_a_consent_capable_role_tenant_wide(role: str, name: str) -> None:
    finding = _tenant_with_reviewer("Cora Capable", role=role).evaluate()["HDM-ACW-04"]
    assert finding.status is Status.PASS
    assert mentions(finding, upn("Cora Capable"), name)


def test_acw04_fails_when_no_reviewer_holds_a_consent_capable_role() -> None:
    finding = _tenant_with_reviewer("Nora Noroles").evaluate()["HDM-ACW-04"]
    assert finding.status is Status.FAIL
    assert mentions(finding, upn("Nora Noroles"))


def test_acw04_fails_when_the_reviewer_role_cannot_grant_consent() -> None:
    finding = _tenant_with_reviewer("Rhea Reader", role=Roles.GLOBAL_READER).evaluate()["HDM-ACW-04"]
    assert finding.status is Status.FAIL
    assert mentions(finding, upn("Rhea Reader"))


def test_acw04_does_not_count_a_role_assignment_scoped_to_an_app_object() -> None:
    scope = f"/{guid('application:some other app')}"
    finding = _tenant_with_reviewer("Sam Scoped", role=Roles.APP_ADMIN, scope=scope).evaluate()["HDM-ACW-04"]
    assert finding.status is Status.FAIL
    assert mentions(finding, upn("Sam Scoped"))


def test_acw04_does_not_count_a_disabled_reviewer_holding_the_role() -> None:
    tenant = _tenant_with_reviewer("Greta Gone", enabled=False, role=Roles.GLOBAL_ADMIN)
    tenant.add_user_reviewer("Nora Noroles")
    finding = tenant.evaluate()["HDM-ACW-04"]
    assert finding.status is Status.FAIL
    assert mentions(finding, upn("Nora Noroles"))
    assert upn("Greta Gone") not in str(finding.evidence.get("capable_reviewers"))


def test_acw04_passes_through_a_nested_group_member_holding_the_role() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    cloud_admin = tenant.add_user("Nina Nested")
    tenant.assign_role(cloud_admin, Roles.CLOUD_APP_ADMIN)
    outer = tenant.add_group("App Approvers", tenant.add_user("Otto Outer"), tenant.add_group("Inner", cloud_admin))
    tenant.add_group_reviewer(outer)
    finding = tenant.evaluate()["HDM-ACW-04"]
    assert finding.status is Status.PASS
    assert mentions(finding, upn("Nina Nested"))
    assert upn("Otto Outer") not in str(finding.evidence.get("capable_reviewers"))


def test_acw04_passes_through_a_role_reviewer_whose_holder_has_the_role_tenant_wide() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    tenant.assign_role(tenant.add_user("Ada Appadmin"), Roles.APP_ADMIN)
    tenant.add_role_reviewer(Roles.APP_ADMIN)
    finding = tenant.evaluate()["HDM-ACW-04"]
    assert finding.status is Status.PASS
    assert mentions(finding, upn("Ada Appadmin"))


def test_acw04_fails_when_the_role_reviewer_holder_has_the_role_only_on_an_app_object() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    tenant.assign_role(tenant.add_user("Sam Scoped"), Roles.APP_ADMIN, scope=f"/{guid('application:x')}")
    tenant.add_role_reviewer(Roles.APP_ADMIN)
    findings = tenant.evaluate()
    assert findings["HDM-ACW-03"].status is Status.PASS  # the role has an active holder...
    assert findings["HDM-ACW-04"].status is Status.FAIL  # ...who may not grant consent tenant-wide


def test_acw04_is_not_applicable_without_reviewers() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    assert tenant.evaluate()["HDM-ACW-04"].status is Status.NOT_APPLICABLE


def test_acw04_is_not_applicable_when_the_workflow_is_disabled() -> None:
    tenant = Tenant()
    tenant.policy["isEnabled"] = False
    assert tenant.evaluate()["HDM-ACW-04"].status is Status.NOT_APPLICABLE


def test_acw04_is_error_when_role_assignments_are_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("role_assignments")
    assert_error_names_code(tenant, "HDM-ACW-04", "role_assignments")


# -- HDM-ACW-05/06/07: notifications, reminders, lifetime ---------------------------------------------

POLICY_FLAGS = [("HDM-ACW-05", "notifyReviewers"), ("HDM-ACW-06", "remindersEnabled")]


@pytest.mark.parametrize(("rule_id", "key"), POLICY_FLAGS)
def test_acw05_acw06_pass_when_the_policy_flag_is_on(rule_id: str, key: str) -> None:
    finding = Tenant().evaluate()[rule_id]
    assert finding.status is Status.PASS
    assert finding.evidence[key] is True


@pytest.mark.parametrize(("rule_id", "key"), POLICY_FLAGS)
def test_acw05_acw06_fail_when_the_policy_flag_is_off(rule_id: str, key: str) -> None:
    tenant = Tenant()
    tenant.policy[key] = False
    finding = tenant.evaluate()[rule_id]
    assert finding.status is Status.FAIL
    assert finding.evidence[key] is False


@pytest.mark.parametrize("rule_id", ["HDM-ACW-05", "HDM-ACW-06", "HDM-ACW-07"])
def test_acw05_to_07_are_not_applicable_when_the_workflow_is_disabled(rule_id: str) -> None:
    tenant = Tenant()
    tenant.policy.update(isEnabled=False, notifyReviewers=False, remindersEnabled=False, requestDurationInDays=90)
    assert tenant.evaluate()[rule_id].status is Status.NOT_APPLICABLE


@pytest.mark.parametrize("rule_id", ["HDM-ACW-05", "HDM-ACW-06", "HDM-ACW-07"])
def test_acw05_to_07_are_error_when_the_policy_is_forbidden(rule_id: str) -> None:
    tenant = Tenant()
    tenant.fail_source("admin_consent_request_policy")
    assert_error_names_code(tenant, rule_id, "admin_consent_request_policy")


@pytest.mark.parametrize(("days", "expected"), [(7, Status.PASS), (14, Status.PASS), (30, Status.PASS),
                                                 (6, Status.FAIL), (31, Status.FAIL), (None, Status.FAIL)])
def test_acw07_requires_the_request_lifetime_within_7_to_30_days(days: int | None, expected: Status) -> None:
    tenant = Tenant()
    tenant.policy["requestDurationInDays"] = days
    finding = tenant.evaluate()["HDM-ACW-07"]
    assert finding.status is expected
    assert finding.evidence["requestDurationInDays"] == days


def test_acw07_uses_the_range_of_the_rule_pack() -> None:
    tenant = Tenant()
    tenant.policy["requestDurationInDays"] = 14
    strict = pack_with(request_duration_days={"min": 20, "max": 30})
    assert tenant.evaluate(strict)["HDM-ACW-07"].status is Status.FAIL


# -- HDM-UC-01: user consent -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policies",
    [
        ["ManagePermissionGrantsForSelf.microsoft-user-default-low"],
        [],
        ["ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-team"],
    ],
)
def test_uc01_passes_without_the_legacy_user_consent_policy(policies: list[str]) -> None:
    tenant = Tenant()
    tenant.user_consent = policies
    assert tenant.evaluate()["HDM-UC-01"].status is Status.PASS


def test_uc01_fails_when_the_legacy_user_consent_policy_is_assigned() -> None:
    tenant = Tenant()
    tenant.user_consent = [
        "ManagePermissionGrantsForSelf.microsoft-user-default-legacy",
        "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-chat",
    ]
    finding = tenant.evaluate()["HDM-UC-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "ManagePermissionGrantsForSelf.microsoft-user-default-legacy")


def test_uc01_is_error_when_the_authorization_policy_is_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("authorization_policy")
    assert_error_names_code(tenant, "HDM-UC-01", "authorization_policy")


# -- HDM-SP-01: the app's service principal ------------------------------------------------------------


def test_sp01_passes_when_the_service_principal_with_the_app_id_exists() -> None:
    tenant = Tenant()
    finding = tenant.evaluate()["HDM-SP-01"]
    assert finding.status is Status.PASS
    assert mentions(finding, HD_APP_ID, tenant.app_sp["id"])


def test_sp01_finds_the_app_by_display_name_case_insensitively_without_an_app_id() -> None:
    tenant = Tenant(target_app_id=None)
    tenant.app_sp["displayName"] = "hd MEETING"
    finding = tenant.evaluate()["HDM-SP-01"]
    assert finding.status is Status.PASS
    assert mentions(finding, tenant.app_sp["id"])


def test_sp01_prefers_the_app_id_argument_over_the_snapshot_target() -> None:
    tenant = Tenant()
    other = tenant.add_service_principal("Unrelated Scheduler")
    finding = tenant.evaluate(app_id=other["appId"])["HDM-SP-01"]
    assert finding.status is Status.PASS
    assert mentions(finding, other["id"])


def test_sp01_fails_when_hd_meeting_was_never_consented_and_makes_the_app_rules_not_applicable() -> None:
    tenant = Tenant()
    tenant.remove_app()
    findings = tenant.evaluate()
    assert findings["HDM-SP-01"].status is Status.FAIL
    assert mentions(findings["HDM-SP-01"], HD_APP_ID)
    assert {rule: findings[rule].status for rule in APP_RULES} == dict.fromkeys(APP_RULES, Status.NOT_APPLICABLE)


def test_sp01_fails_with_the_admin_consent_link_when_the_app_id_is_known() -> None:
    tenant = Tenant()
    tenant.remove_app()
    finding = tenant.evaluate()["HDM-SP-01"]
    link = f"https://login.microsoftonline.com/{TENANT_ID}/adminconsent?client_id={HD_APP_ID}"
    assert link in str(finding.evidence)


def test_sp01_fails_when_only_a_look_alike_exists_without_an_app_id() -> None:
    tenant = Tenant(target_app_id=None)
    tenant.remove_app()
    tenant.add_service_principal("HD Meeting Legacy")
    assert tenant.evaluate()["HDM-SP-01"].status is Status.FAIL


def test_sp01_is_error_ambiguous_when_two_service_principals_share_the_name_and_no_app_id() -> None:
    tenant = Tenant(target_app_id=None)
    twin = tenant.add_service_principal(HD_MEETING)
    findings = tenant.evaluate()
    finding = findings["HDM-SP-01"]
    assert finding.status is Status.ERROR
    assert "ambiguous" in finding.message.lower()
    assert mentions(finding, tenant.app_sp["id"], twin["id"])
    assert {rule: findings[rule].status for rule in APP_RULES} == dict.fromkeys(APP_RULES, Status.NOT_APPLICABLE)


def test_sp01_is_not_ambiguous_when_the_app_id_picks_one_of_two_same_named_service_principals() -> None:
    tenant = Tenant()
    tenant.add_service_principal(HD_MEETING)
    finding = tenant.evaluate()["HDM-SP-01"]
    assert finding.status is Status.PASS
    assert mentions(finding, tenant.app_sp["id"])


def test_sp01_is_error_when_service_principals_are_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("service_principals")
    assert_error_names_code(tenant, "HDM-SP-01", "service_principals")


def test_sp01_is_error_with_the_code_of_a_server_error() -> None:
    tenant = Tenant()
    tenant.fail_source("service_principals", status="error", code="ServiceUnavailable")
    finding = tenant.evaluate()["HDM-SP-01"]
    assert finding.status is Status.ERROR
    assert "ServiceUnavailable" in finding.message


# -- HDM-SP-02: enabled ------------------------------------------------------------------------------


def test_sp02_passes_when_the_service_principal_is_enabled() -> None:
    tenant = Tenant()
    finding = tenant.evaluate()["HDM-SP-02"]
    assert finding.status is Status.PASS
    assert mentions(finding, tenant.app_sp["id"])


def test_sp02_fails_when_the_service_principal_is_disabled() -> None:
    tenant = Tenant()
    tenant.app_sp["accountEnabled"] = False
    finding = tenant.evaluate()["HDM-SP-02"]
    assert finding.status is Status.FAIL
    assert mentions(finding, tenant.app_sp["id"])


def test_sp02_is_not_applicable_when_sp01_fails() -> None:
    tenant = Tenant()
    tenant.remove_app()
    assert tenant.evaluate()["HDM-SP-02"].status is Status.NOT_APPLICABLE


def test_sp02_is_error_when_service_principals_are_forbidden() -> None:
    # DESIGN §4: "A rule whose source could not be read (403, error) is `error`".
    tenant = Tenant()
    tenant.fail_source("service_principals")
    assert_error_names_code(tenant, "HDM-SP-02", "service_principals")


# -- HDM-SP-03: users can reach the app --------------------------------------------------------------


def test_sp03_passes_when_assignment_is_not_required() -> None:
    assert Tenant().evaluate()["HDM-SP-03"].status is Status.PASS


@pytest.mark.parametrize("principal_type", ["User", "Group"])
def test_sp03_passes_when_assignment_is_required_and_someone_is_assigned(principal_type: str) -> None:
    tenant = Tenant()
    tenant.app_sp["appRoleAssignmentRequired"] = True
    tenant.assign_to_app("Clinicians", principal_type)
    finding = tenant.evaluate()["HDM-SP-03"]
    assert finding.status is Status.PASS
    assert mentions(finding, "Clinicians")


def test_sp03_fails_when_assignment_is_required_and_nobody_is_assigned() -> None:
    tenant = Tenant()
    tenant.app_sp["appRoleAssignmentRequired"] = True
    finding = tenant.evaluate()["HDM-SP-03"]
    assert finding.status is Status.FAIL
    assert finding.evidence["appRoleAssignmentRequired"] is True


def test_sp03_fails_when_only_a_service_principal_is_assigned() -> None:
    tenant = Tenant()
    tenant.app_sp["appRoleAssignmentRequired"] = True
    tenant.assign_to_app("Some Daemon", "ServicePrincipal")
    assert tenant.evaluate()["HDM-SP-03"].status is Status.FAIL


def test_sp03_is_not_applicable_when_sp01_fails() -> None:
    tenant = Tenant()
    tenant.remove_app()
    assert tenant.evaluate()["HDM-SP-03"].status is Status.NOT_APPLICABLE


def test_sp03_is_error_when_app_role_assigned_to_is_forbidden() -> None:
    tenant = Tenant()
    tenant.app_sp["appRoleAssignmentRequired"] = True
    tenant.fail_source("app_role_assigned_to")
    assert_error_names_code(tenant, "HDM-SP-03", "app_role_assigned_to")


# -- HDM-GR-01: tenant-wide consent to the required scopes ----------------------------------------


def test_gr01_passes_when_an_all_principals_grant_covers_every_required_scope() -> None:
    finding = Tenant().evaluate()["HDM-GR-01"]
    assert finding.status is Status.PASS
    assert mentions(finding, "User.Read", "Calendars.ReadWrite", "offline_access")


def test_gr01_compares_scope_names_case_insensitively() -> None:
    tenant = Tenant()
    tenant.tenant_wide_grant["scope"] = "user.read CALENDARS.READWRITE Offline_Access"
    assert tenant.evaluate()["HDM-GR-01"].status is Status.PASS


def test_gr01_fails_naming_the_missing_scope_and_the_admin_consent_link() -> None:
    tenant = Tenant()
    tenant.tenant_wide_grant["scope"] = "User.Read offline_access"
    finding = tenant.evaluate()["HDM-GR-01"]
    assert finding.status is Status.FAIL
    assert finding.evidence["missing_scopes"] == ["Calendars.ReadWrite"]
    assert f"adminconsent?client_id={HD_APP_ID}" in str(finding.evidence)


def test_gr01_fails_when_the_scopes_are_granted_only_per_user() -> None:
    tenant = Tenant()
    tenant.delegated_grants.remove(tenant.tenant_wide_grant)
    tenant.add_per_user_grant("Paul Peruser", scope="User.Read Calendars.ReadWrite offline_access")
    finding = tenant.evaluate()["HDM-GR-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Calendars.ReadWrite")


def test_gr01_fails_when_the_tenant_wide_grant_is_on_another_resource() -> None:
    tenant = Tenant()
    tenant.tenant_wide_grant["resourceId"] = EXCHANGE_SP["id"]
    assert tenant.evaluate()["HDM-GR-01"].status is Status.FAIL


def test_gr01_is_not_applicable_when_sp01_fails() -> None:
    tenant = Tenant()
    tenant.remove_app()
    assert tenant.evaluate()["HDM-GR-01"].status is Status.NOT_APPLICABLE


def test_gr01_is_error_when_delegated_grants_are_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("delegated_grants")
    assert_error_names_code(tenant, "HDM-GR-01", "delegated_grants")


# -- HDM-GR-02: nothing beyond the allowed scopes ------------------------------------------------------


def test_gr02_passes_with_required_and_allowed_optional_scopes_in_any_case() -> None:
    tenant = Tenant()
    tenant.tenant_wide_grant["scope"] = f"{REQUIRED_SCOPES} OPENID profile email calendars.read"
    assert tenant.evaluate()["HDM-GR-02"].status is Status.PASS


def test_gr02_fails_naming_a_graph_scope_that_is_not_allowed() -> None:
    tenant = Tenant()
    tenant.tenant_wide_grant["scope"] = f"{REQUIRED_SCOPES} Mail.Read"
    finding = tenant.evaluate()["HDM-GR-02"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Mail.Read", "Microsoft Graph")


def test_gr02_fails_on_an_excess_scope_in_a_per_user_grant() -> None:
    tenant = Tenant()
    tenant.add_per_user_grant("Paul Peruser", scope="User.Read Files.Read.All")
    finding = tenant.evaluate()["HDM-GR-02"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Files.Read.All")


def test_gr02_fails_on_any_delegated_grant_on_another_resource() -> None:
    tenant = Tenant()
    tenant.grant(EWS_SCOPE, resource=EXCHANGE_SP)
    finding = tenant.evaluate()["HDM-GR-02"]
    assert finding.status is Status.FAIL
    assert mentions(finding, EWS_SCOPE, "Office 365 Exchange Online")


def test_gr02_is_not_applicable_when_sp01_fails() -> None:
    tenant = Tenant()
    tenant.remove_app()
    assert tenant.evaluate()["HDM-GR-02"].status is Status.NOT_APPLICABLE


def test_gr02_is_error_when_delegated_grants_are_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("delegated_grants")
    assert_error_names_code(tenant, "HDM-GR-02", "delegated_grants")


# -- HDM-GR-03: no application permissions -------------------------------------------------------------


def test_gr03_passes_without_app_role_assignments() -> None:
    assert Tenant().evaluate()["HDM-GR-03"].status is Status.PASS


def test_gr03_fails_naming_the_application_permission_held() -> None:
    tenant = Tenant()
    tenant.add_app_role_assignment(GRAPH_APP_ROLES["Calendars.ReadWrite"])
    finding = tenant.evaluate()["HDM-GR-03"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Calendars.ReadWrite", "Microsoft Graph")


def test_gr03_ignores_application_permissions_held_by_other_service_principals() -> None:
    tenant = Tenant()
    other = tenant.add_service_principal("Unrelated Scheduler")
    tenant.add_app_role_assignment(GRAPH_APP_ROLES["User.Read.All"], client=other)
    assert tenant.evaluate()["HDM-GR-03"].status is Status.PASS


def test_gr03_is_not_applicable_when_sp01_fails() -> None:
    tenant = Tenant()
    tenant.remove_app()
    assert tenant.evaluate()["HDM-GR-03"].status is Status.NOT_APPLICABLE


def test_gr03_is_error_when_app_role_assignments_are_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("app_role_assignments")
    assert_error_names_code(tenant, "HDM-GR-03", "app_role_assignments")


# -- HDM-GR-04: no per-user grants ---------------------------------------------------------------------


def test_gr04_passes_without_per_user_grants() -> None:
    assert Tenant().evaluate()["HDM-GR-04"].status is Status.PASS


def test_gr04_fails_naming_the_users_with_per_user_grants() -> None:
    tenant = Tenant()
    paul = tenant.add_per_user_grant("Paul Peruser")
    petra = tenant.add_per_user_grant("Petra Peruser")
    finding = tenant.evaluate()["HDM-GR-04"]
    assert finding.status is Status.FAIL
    assert finding.evidence["per_user_grants"] == 2
    assert mentions(finding, paul, petra)


def test_gr04_is_not_applicable_when_sp01_fails() -> None:
    tenant = Tenant()
    tenant.remove_app()
    assert tenant.evaluate()["HDM-GR-04"].status is Status.NOT_APPLICABLE


def test_gr04_is_error_when_delegated_grants_are_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("delegated_grants")
    assert_error_names_code(tenant, "HDM-GR-04", "delegated_grants")


# -- HDM-REQ-01: no stale pending request --------------------------------------------------------------


def test_req01_passes_without_requests() -> None:
    finding = Tenant().evaluate()["HDM-REQ-01"]
    assert finding.status is Status.PASS


def test_req01_passes_with_a_recent_pending_request() -> None:
    tenant = Tenant()
    tenant.add_consent_request(3)
    assert tenant.evaluate()["HDM-REQ-01"].status is Status.PASS


def test_req01_fails_naming_the_requester_of_a_stale_pending_request() -> None:
    tenant = Tenant()
    tenant.add_consent_request(12, requester="Amelia Waiting")
    finding = tenant.evaluate()["HDM-REQ-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, upn("Amelia Waiting"), "12")


def test_req01_passes_at_exactly_the_max_age() -> None:
    tenant = Tenant()
    tenant.add_consent_request(timedelta(days=7))
    assert tenant.evaluate()["HDM-REQ-01"].status is Status.PASS


def test_req01_fails_just_over_the_max_age() -> None:
    tenant = Tenant()
    tenant.add_consent_request(timedelta(days=7, minutes=1))
    assert tenant.evaluate()["HDM-REQ-01"].status is Status.FAIL


def test_req01_uses_the_max_age_of_the_rule_pack() -> None:
    tenant = Tenant()
    tenant.add_consent_request(3)
    assert tenant.evaluate(pack_with(pending_request_max_age_days=2))["HDM-REQ-01"].status is Status.FAIL


@pytest.mark.parametrize("status", ["Completed", "Expired"])
def test_req01_ignores_old_requests_that_are_no_longer_pending(status: str) -> None:
    tenant = Tenant()
    tenant.add_consent_request(60, status=status)
    assert tenant.evaluate()["HDM-REQ-01"].status is Status.PASS


def test_req01_ignores_stale_requests_for_other_apps() -> None:
    tenant = Tenant()
    tenant.add_consent_request(40, app_id=guid("app:Fabrikam Forms"), app_display_name="Fabrikam Forms")
    assert tenant.evaluate()["HDM-REQ-01"].status is Status.PASS


def test_req01_matches_by_the_app_id_of_the_service_principal_found_by_name() -> None:
    tenant = Tenant(target_app_id=None)
    tenant.add_consent_request(20, app_id=guid("app:impostor"))  # named "HD Meeting", other app id
    assert tenant.evaluate()["HDM-REQ-01"].status is Status.PASS
    tenant.add_consent_request(20, requester="Real Requester")
    finding = tenant.evaluate()["HDM-REQ-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, upn("Real Requester"))


def test_req01_matches_by_display_name_when_no_app_id_is_known() -> None:
    tenant = Tenant(target_app_id=None)
    tenant.remove_app()
    tenant.add_consent_request(20, app_id=guid("app:hd meeting unknown id"), requester="Nameonly Nick")
    finding = tenant.evaluate()["HDM-REQ-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, upn("Nameonly Nick"))


def test_req01_needs_no_service_principals_when_the_app_id_is_given() -> None:
    tenant = Tenant()
    tenant.fail_source("service_principals")
    tenant.add_consent_request(12, requester="Amelia Waiting")
    assert tenant.evaluate()["HDM-REQ-01"].status is Status.FAIL


def test_req01_is_error_when_consent_requests_are_forbidden() -> None:
    tenant = Tenant()
    tenant.fail_source("consent_requests")
    assert_error_names_code(tenant, "HDM-REQ-01", "consent_requests")


def test_req01_is_error_when_the_app_id_must_come_from_forbidden_service_principals() -> None:
    tenant = Tenant(target_app_id=None)
    tenant.fail_source("service_principals")
    assert_error_names_code(tenant, "HDM-REQ-01", "service_principals")


# -- HDM-LEG-01: leftovers and legacy Exchange permissions ---------------------------------------------


def test_leg01_passes_without_leftovers_or_legacy_permissions() -> None:
    assert Tenant().evaluate()["HDM-LEG-01"].status is Status.PASS


def test_leg01_fails_on_a_look_alike_service_principal() -> None:
    tenant = Tenant()
    legacy = tenant.add_service_principal("HD Meeting Legacy")
    finding = tenant.evaluate()["HDM-LEG-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "HD Meeting Legacy", legacy["id"])


def test_leg01_fails_on_a_second_service_principal_with_the_app_name_but_another_app_id() -> None:
    tenant = Tenant()
    twin = tenant.add_service_principal(HD_MEETING)
    finding = tenant.evaluate()["HDM-LEG-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, twin["id"])
    assert tenant.app_sp["id"] not in str(finding.evidence["leftovers"])


def test_leg01_fails_on_a_service_principal_with_a_legacy_app_id_whatever_its_name() -> None:
    tenant = Tenant()
    old = tenant.add_service_principal("Calendar Connector (OAuth 1.0)")
    finding = tenant.evaluate(pack_with(legacy_app_ids=[old["appId"].upper()]))["HDM-LEG-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "Calendar Connector (OAuth 1.0)", old["id"])


def test_leg01_fails_when_the_app_holds_ews_access_as_user_on_exchange_online() -> None:
    tenant = Tenant()
    tenant.grant(EWS_SCOPE, resource=EXCHANGE_SP)
    finding = tenant.evaluate()["HDM-LEG-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, EWS_SCOPE)


def test_leg01_compares_legacy_scope_names_case_insensitively() -> None:
    tenant = Tenant()
    tenant.grant("ews.accessasuser.all", resource=EXCHANGE_SP)
    assert tenant.evaluate()["HDM-LEG-01"].status is Status.FAIL


def test_leg01_fails_when_the_app_holds_full_access_as_app_on_exchange_online() -> None:
    tenant = Tenant()
    tenant.add_app_role_assignment(FULL_ACCESS_AS_APP, resource=EXCHANGE_SP)
    finding = tenant.evaluate()["HDM-LEG-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "full_access_as_app")


def test_leg01_names_the_legacy_permission_held_by_a_leftover() -> None:
    tenant = Tenant()
    legacy = tenant.add_service_principal("HD Meeting Legacy (OAuth 1.0)")
    tenant.grant(EWS_SCOPE, client=legacy, resource=EXCHANGE_SP)
    finding = tenant.evaluate()["HDM-LEG-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, "HD Meeting Legacy (OAuth 1.0)", EWS_SCOPE)


def test_leg01_checks_leftovers_even_when_the_app_is_not_in_the_tenant() -> None:
    tenant = Tenant()
    tenant.remove_app()
    tenant.add_service_principal("HD Meeting Legacy")
    findings = tenant.evaluate()
    assert findings["HDM-SP-01"].status is Status.FAIL
    assert findings["HDM-LEG-01"].status is Status.FAIL


def test_leg01_checks_only_leftovers_when_the_app_is_ambiguous() -> None:
    tenant = Tenant(target_app_id=None)
    twin = tenant.add_service_principal(HD_MEETING)
    # Legacy permissions held by the candidates are not judged: which one is HD Meeting is unknown.
    tenant.grant(EWS_SCOPE, client=twin, resource=EXCHANGE_SP)
    findings = tenant.evaluate()
    assert findings["HDM-SP-01"].status is Status.ERROR
    assert findings["HDM-LEG-01"].status is Status.PASS
    legacy = tenant.add_service_principal("HD Meeting Legacy")
    finding = tenant.evaluate()["HDM-LEG-01"]
    assert finding.status is Status.FAIL
    assert mentions(finding, legacy["id"])
    assert twin["id"] not in str(finding.evidence["leftovers"])
    assert tenant.app_sp["id"] not in str(finding.evidence["leftovers"])


@pytest.mark.parametrize("source", ["service_principals", "delegated_grants", "app_role_assignments"])
def test_leg01_is_error_when_a_source_it_needs_is_forbidden(source: str) -> None:
    tenant = Tenant()
    tenant.fail_source(source)
    assert_error_names_code(tenant, "HDM-LEG-01", source)


# -- errors stay local ---------------------------------------------------------------------------------


def test_a_forbidden_source_makes_only_the_rules_that_need_it_error() -> None:
    tenant = Tenant()
    tenant.fail_source("consent_requests")
    result = statuses(tenant)
    assert {rule for rule, status in result.items() if status is Status.ERROR} == {"HDM-REQ-01"}
    assert all(status is Status.PASS for rule, status in result.items() if rule != "HDM-REQ-01")

