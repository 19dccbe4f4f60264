"""The verdict of DESIGN §5: the first that holds, in this order.

    unknown                 SP-01, GR-01, UC-01 or ACW-01 is `error`
    blocked                 SP-02 fails
    ready                   SP-01, GR-01 and SP-03 pass
    ready-via-user-consent  UC-01 fails
    ready-via-workflow      ACW-01, ACW-02 and ACW-04 pass
    blocked                 otherwise
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auditor.result import Status, Verdict
from tests.factory import HD_MEETING, Roles, Tenant

LEGACY_USER_CONSENT = "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
Change = Callable[[Tenant], object]


# -- one change at a time -------------------------------------------------------------------------


def no_tenant_wide_grant(t: Tenant) -> None:
    t.delegated_grants.remove(t.tenant_wide_grant)


def app_absent(t: Tenant) -> None:
    t.remove_app()


def app_disabled(t: Tenant) -> None:
    t.app_sp["accountEnabled"] = False


def assignment_required_nobody_assigned(t: Tenant) -> None:
    t.app_sp["appRoleAssignmentRequired"] = True


def legacy_user_consent(t: Tenant) -> None:
    t.user_consent = [LEGACY_USER_CONSENT]


def workflow_disabled(t: Tenant) -> None:
    t.policy["isEnabled"] = False


def no_reviewers(t: Tenant) -> None:
    t.clear_reviewers()


def reviewers_cannot_consent(t: Tenant) -> None:
    t.clear_reviewers()
    t.add_user_reviewer("Rhea Reader", role=Roles.GLOBAL_READER)


def ambiguous_app(t: Tenant) -> None:
    t.target_app_id = None
    t.add_service_principal(HD_MEETING)


def forbid(source: str) -> Change:
    def change(t: Tenant) -> None:
        t.fail_source(source)

    change.__name__ = f"{source}_forbidden"
    return change


def verdict_after(*changes: Change) -> Verdict:
    tenant = Tenant()
    for change in changes:
        change(tenant)
    return tenant.result().verdict


# -- unknown ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "rule_id"),
    [
        (forbid("service_principals"), "HDM-SP-01"),
        (ambiguous_app, "HDM-SP-01"),
        (forbid("delegated_grants"), "HDM-GR-01"),
        (forbid("authorization_policy"), "HDM-UC-01"),
        (forbid("admin_consent_request_policy"), "HDM-ACW-01"),
    ],
)
def test_unknown_when_a_deciding_rule_is_error(change: Change, rule_id: str) -> None:
    tenant = Tenant()
    change(tenant)
    result = tenant.result()
    assert next(f for f in result.findings if f.rule_id == rule_id).status is Status.ERROR
    assert result.verdict is Verdict.UNKNOWN


def test_unknown_when_uc01_is_error_even_if_everything_else_passes() -> None:
    tenant = Tenant()
    tenant.fail_source("authorization_policy")
    result = tenant.result()
    assert [f.rule_id for f in result.findings if f.status is not Status.PASS] == ["HDM-UC-01"]
    assert result.verdict is Verdict.UNKNOWN


def test_unknown_beats_blocked_by_a_disabled_app() -> None:
    assert verdict_after(app_disabled, forbid("authorization_policy")) is Verdict.UNKNOWN


def test_unknown_beats_ready_via_workflow_when_the_workflow_policy_is_unreadable() -> None:
    assert verdict_after(no_tenant_wide_grant, forbid("admin_consent_request_policy")) is Verdict.UNKNOWN


@pytest.mark.parametrize("source", ["role_assignments", "users", "consent_requests", "app_role_assignments"])
def test_an_error_on_another_rule_does_not_make_the_verdict_unknown(source: str) -> None:
    # Only SP-01, GR-01, UC-01 and ACW-01 decide `unknown`; here ACW-03/04, REQ-01 or GR-03/LEG-01 err.
    tenant = Tenant()
    tenant.fail_source(source)
    result = tenant.result()
    assert any(f.status is Status.ERROR for f in result.findings)
    assert result.verdict is Verdict.READY


def test_an_acw04_error_leaves_an_unconsented_tenant_blocked_not_unknown() -> None:
    assert verdict_after(no_tenant_wide_grant, forbid("role_assignments")) is Verdict.BLOCKED


# -- blocked by a disabled service principal ----------------------------------------------------------


def test_blocked_when_the_app_is_disabled_even_if_granted() -> None:
    assert verdict_after(app_disabled) is Verdict.BLOCKED


def test_a_disabled_app_beats_legacy_user_consent_and_a_working_workflow() -> None:
    assert verdict_after(app_disabled, legacy_user_consent, no_tenant_wide_grant) is Verdict.BLOCKED


# -- ready --------------------------------------------------------------------------------------------


def test_ready_in_the_healthy_tenant() -> None:
    assert verdict_after() is Verdict.READY


def test_ready_needs_neither_the_workflow_nor_user_consent() -> None:
    assert verdict_after(workflow_disabled, legacy_user_consent) is Verdict.READY


def a_group_assigned(t: Tenant) -> None:
    t.assign_to_app("Clinicians", "Group")


def test_ready_when_assignment_is_required_and_a_group_is_assigned() -> None:
    assert verdict_after(assignment_required_nobody_assigned, a_group_assigned) is Verdict.READY


def test_not_ready_when_assignment_is_required_and_nobody_is_assigned() -> None:
    assert verdict_after(assignment_required_nobody_assigned) is Verdict.READY_VIA_WORKFLOW


def test_not_ready_when_sp03_is_error() -> None:
    # SP-03 not passing (here: could not be read) is not `ready`; SP-03 errors do not make it unknown.
    verdict = verdict_after(assignment_required_nobody_assigned, forbid("app_role_assigned_to"))
    assert verdict is Verdict.READY_VIA_WORKFLOW


# -- ready via user consent ---------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [no_tenant_wide_grant, app_absent])
def test_ready_via_user_consent_when_not_granted_and_legacy_user_consent_is_on(missing: Change) -> None:
    assert verdict_after(missing, legacy_user_consent) is Verdict.READY_VIA_USER_CONSENT


def test_user_consent_beats_a_working_workflow() -> None:
    tenant = Tenant()
    no_tenant_wide_grant(tenant)
    legacy_user_consent(tenant)
    result = tenant.result()
    workflow = {f.rule_id: f.status for f in result.findings if f.rule_id in ("HDM-ACW-01", "HDM-ACW-02", "HDM-ACW-04")}
    assert workflow == dict.fromkeys(workflow, Status.PASS) and len(workflow) == 3
    assert result.verdict is Verdict.READY_VIA_USER_CONSENT


# -- ready via workflow -------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [no_tenant_wide_grant, app_absent])
def test_ready_via_workflow_when_not_granted_and_a_consent_capable_reviewer_exists(missing: Change) -> None:
    assert verdict_after(missing) is Verdict.READY_VIA_WORKFLOW


def test_ready_via_workflow_tolerates_failing_secondary_workflow_rules() -> None:
    def secondary_failures(t: Tenant) -> None:
        t.policy.update(notifyReviewers=False, remindersEnabled=False, requestDurationInDays=90)
        t.add_user_reviewer("Dana Disabled", enabled=False)  # ACW-03 fails, ACW-04 still passes

    assert verdict_after(no_tenant_wide_grant, secondary_failures) is Verdict.READY_VIA_WORKFLOW


# -- blocked otherwise --------------------------------------------------------------------------------


@pytest.mark.parametrize("workflow_problem", [workflow_disabled, no_reviewers, reviewers_cannot_consent])
@pytest.mark.parametrize("missing", [no_tenant_wide_grant, app_absent])
def test_blocked_when_not_granted_and_no_working_workflow(workflow_problem: Change, missing: Change) -> None:
    assert verdict_after(missing, workflow_problem) is Verdict.BLOCKED
