"""The verdict of DESIGN §5: the first that holds, in this order.

    blocked                 SP-02 fails (the app is disabled: nothing works)
    unknown                 SP-01 or SP-02 is `error`
    ready                   the `granted` path is open (SP-01, SP-02, GR-01, SP-03 pass)
    ready-via-user-consent  the `user_consent` path is open
    ready-via-workflow      the `admin_consent_workflow` path is open (ACW-01, ACW-02, ACW-04 pass)
    unknown                 some path is unknown
    blocked                 otherwise

The factory's healthy tenant assigns `microsoft-user-default-low` with no scope classified low, so
its user consent path is closed unless a test opens it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auditor.model.result import Status, Verdict
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


# -- blocked by a disabled app comes first ------------------------------------------------------------


def test_blocked_when_the_app_is_disabled_even_if_granted() -> None:
    assert verdict_after(app_disabled) is Verdict.BLOCKED


def test_a_disabled_app_is_blocked_even_when_other_sources_are_unreadable() -> None:
    assert verdict_after(app_disabled, forbid("authorization_policy"), forbid("role_assignments")) is Verdict.BLOCKED


def test_a_disabled_app_beats_legacy_user_consent_and_a_working_workflow() -> None:
    assert verdict_after(app_disabled, legacy_user_consent, no_tenant_wide_grant) is Verdict.BLOCKED


# -- unknown when the app itself cannot be told ---------------------------------------------------------


@pytest.mark.parametrize("change", [forbid("service_principals"), ambiguous_app])
def test_unknown_when_sp01_is_error(change: Change) -> None:
    tenant = Tenant()
    change(tenant)
    result = tenant.result()
    assert next(f for f in result.findings if f.rule_id == "HDM-SP-01").status is Status.ERROR
    assert result.verdict is Verdict.UNKNOWN


# -- ready --------------------------------------------------------------------------------------------


def test_ready_in_the_healthy_tenant() -> None:
    assert verdict_after() is Verdict.READY


def test_ready_needs_neither_the_workflow_nor_user_consent() -> None:
    assert verdict_after(workflow_disabled, legacy_user_consent) is Verdict.READY


@pytest.mark.parametrize("source", ["authorization_policy", "admin_consent_request_policy", "role_assignments",
                                    "users", "consent_requests", "app_role_assignments"])
def test_ready_when_granted_whatever_other_sources_could_not_be_read(source: str) -> None:
    tenant = Tenant()
    tenant.fail_source(source)
    result = tenant.result()
    assert any(f.status is Status.ERROR for f in result.findings)
    assert result.verdict is Verdict.READY


def a_group_assigned(t: Tenant) -> None:
    t.assign_to_app("Clinicians", "Group")


def test_ready_when_assignment_is_required_and_a_group_is_assigned() -> None:
    assert verdict_after(assignment_required_nobody_assigned, a_group_assigned) is Verdict.READY


def test_not_ready_when_assignment_is_required_and_nobody_is_assigned() -> None:
    assert verdict_after(assignment_required_nobody_assigned) is Verdict.READY_VIA_WORKFLOW


def test_an_unreadable_grant_leaves_the_working_workflow_as_the_verdict() -> None:
    # GR-01 is error: `granted` is unknown, but the workflow is open and comes before "unknown".
    assert verdict_after(forbid("delegated_grants")) is Verdict.READY_VIA_WORKFLOW


# -- ready via user consent ---------------------------------------------------------------------------


def verified_publisher(t: Tenant) -> None:
    t.app_sp["verifiedPublisher"] = {"displayName": "HD Meeting Inc.", "verifiedPublisherId": "1234567",
                                     "addedDateTime": "2021-04-01T00:00:00Z"}


def risky_consent_allowed(t: Tenant) -> None:
    t.allow_risky_user_consent = True


@pytest.mark.parametrize("step_up_passed", [verified_publisher, risky_consent_allowed])
def test_ready_via_user_consent_with_legacy_policy_when_step_up_does_not_apply(step_up_passed: Change) -> None:
    assert verdict_after(no_tenant_wide_grant, legacy_user_consent, step_up_passed) is Verdict.READY_VIA_USER_CONSENT


def test_user_consent_beats_a_working_workflow() -> None:
    result = Tenant()
    for change in (no_tenant_wide_grant, legacy_user_consent, verified_publisher):
        change(result)
    evaluated = result.result()
    assert evaluated.paths is not None
    assert evaluated.paths.admin_consent_workflow.state.value == "open"
    assert evaluated.verdict is Verdict.READY_VIA_USER_CONSENT


# -- ready via workflow -------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [no_tenant_wide_grant, app_absent])
def test_ready_via_workflow_when_not_granted_and_a_consent_capable_reviewer_exists(missing: Change) -> None:
    assert verdict_after(missing) is Verdict.READY_VIA_WORKFLOW


def test_legacy_policy_with_an_unverified_app_is_not_user_consent_but_the_workflow_still_works() -> None:
    # Step-up (Microsoft's heuristics) leaves user consent unknown; the open workflow decides.
    assert verdict_after(no_tenant_wide_grant, legacy_user_consent) is Verdict.READY_VIA_WORKFLOW


def test_ready_via_workflow_tolerates_failing_secondary_workflow_rules() -> None:
    def secondary_failures(t: Tenant) -> None:
        t.policy.update(notifyReviewers=False, remindersEnabled=False, requestDurationInDays=90)
        t.add_user_reviewer("Dana Disabled", enabled=False)  # ACW-03 fails, ACW-04 still passes

    assert verdict_after(no_tenant_wide_grant, secondary_failures) is Verdict.READY_VIA_WORKFLOW


# -- unknown when no path is proven open and one could not be read ------------------------------------------


@pytest.mark.parametrize("source", ["admin_consent_request_policy", "role_assignments"])
def test_unknown_not_blocked_when_the_workflow_cannot_be_read(source: str) -> None:
    assert verdict_after(no_tenant_wide_grant, forbid(source)) is Verdict.UNKNOWN


def test_unknown_when_legacy_user_consent_meets_step_up_and_there_is_no_workflow() -> None:
    assert verdict_after(no_tenant_wide_grant, legacy_user_consent, workflow_disabled) is Verdict.UNKNOWN


# -- blocked otherwise --------------------------------------------------------------------------------


@pytest.mark.parametrize("workflow_problem", [workflow_disabled, no_reviewers, reviewers_cannot_consent])
@pytest.mark.parametrize("missing", [no_tenant_wide_grant, app_absent])
def test_blocked_when_not_granted_and_no_working_workflow(workflow_problem: Change, missing: Change) -> None:
    assert verdict_after(missing, workflow_problem) is Verdict.BLOCKED


def test_blocked_when_legacy_user_consent_meets_an_app_that_requires_assignment() -> None:
    # Only an admin can consent to an app that requires assignment; no workflow: every path is closed.
    changes = (assignment_required_nobody_assigned, no_tenant_wide_grant, legacy_user_consent, workflow_disabled)
    assert verdict_after(*changes) is Verdict.BLOCKED
