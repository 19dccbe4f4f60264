"""Approvers and reviewers decided on partly readable data (DESIGN §4, §5 "Deciding with partial data").

A rule over "some" item passes on one that definitely passes; over "every" item it fails on one that
definitely fails; otherwise a source it needs that could not be read makes it `error`.
"""

from __future__ import annotations

import json

from auditor.evaluate.engine import evaluate
from auditor.model.result import Status, Verdict
from auditor.model.snapshot_file import parse_snapshot
from tests.factory import Roles, Tenant, default_pack


def _statuses(tenant: Tenant) -> dict[str, Status]:
    return {rule: finding.status for rule, finding in tenant.evaluate().items()}


def test_an_active_approver_passes_acw04_although_pim_could_not_be_read() -> None:
    tenant = Tenant()  # Alice Admin: an active Cloud Application Administrator reviewer
    tenant.fail_source("role_eligibilities")
    tenant.fail_source("role_definitions")
    assert _statuses(tenant)["HDM-ACW-04"] is Status.PASS


def test_without_an_approver_an_unreadable_pim_source_is_error_not_fail() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    tenant.add_user_reviewer("Rhea Reader", role=Roles.GLOBAL_READER)
    assert _statuses(tenant)["HDM-ACW-04"] is Status.FAIL
    tenant.fail_source("role_eligibilities")
    finding = tenant.evaluate()["HDM-ACW-04"]
    assert finding.status is Status.ERROR and "role_eligibilities" in finding.message
    assert "Authorization_RequestDenied" in finding.message


def test_an_eligible_only_approver_passes_and_is_marked_eligible() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    erin = tenant.add_user_reviewer("Erin Eligible")
    tenant.make_eligible(erin, Roles.APP_ADMIN)
    finding = tenant.evaluate()["HDM-ACW-04"]
    assert finding.status is Status.PASS
    assert [(a["role"], a["assignment"], a["via"]) for a in finding.evidence["approvers"]] == [
        ("Application Administrator", "eligible", "direct")]
    assert "0 reviewer(s) can approve now" in finding.message


def test_an_eligible_assignment_scoped_to_one_app_does_not_count() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    erin = tenant.add_user_reviewer("Erin Eligible")
    tenant.make_eligible(erin, Roles.APP_ADMIN, scope="/0f0e0d0c-0b0a-4909-8807-060504030201")
    assert _statuses(tenant)["HDM-ACW-04"] is Status.FAIL


def test_acw03_fails_on_a_disabled_reviewer_even_when_another_cannot_be_read() -> None:
    tenant = Tenant()
    tenant.add_user_reviewer("Dana Disabled", enabled=False)
    group = tenant.add_group("Unread approvers", tenant.add_user("Uma Unread"))
    tenant.add_group_reviewer(group)
    tenant.fail_source("group_members")
    assert _statuses(tenant)["HDM-ACW-03"] is Status.FAIL


def test_a_user_returned_with_limited_information_is_unknown_not_disabled() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    lee = tenant.add_user_reviewer("Lee Limited", role=Roles.CLOUD_APP_ADMIN)
    tenant.users[lee] = {"@odata.type": "#microsoft.graph.user", "id": lee, "accountEnabled": None,
                         "displayName": None, "userPrincipalName": None}
    statuses = _statuses(tenant)
    assert statuses["HDM-ACW-03"] is Status.ERROR
    assert statuses["HDM-ACW-04"] is Status.ERROR


def test_a_custom_role_whose_policy_cannot_be_read_leaves_acw04_error() -> None:
    tenant = Tenant()
    tenant.clear_reviewers()
    role = tenant.add_custom_role("Consent Approver", "hdm-consent")
    cora = tenant.add_user_reviewer("Cora Custom")
    tenant.assign_role(cora, role)
    tenant.fail_source("permission_grant_policies")
    assert _statuses(tenant)["HDM-ACW-04"] is Status.ERROR


def test_a_snapshot_from_before_the_consent_paths_loads_and_never_passes_what_it_lacks() -> None:
    tenant = Tenant()
    tenant.remove_app()
    tenant.clear_reviewers()
    tenant.add_user_reviewer("Rhea Reader", role=Roles.GLOBAL_READER)
    raw = json.loads(tenant.build().to_json())
    for name in ("role_eligibilities", "group_eligibilities", "role_definitions", "permission_grant_policies",
                 "permission_classifications"):
        del raw["sources"][name]
    del raw["tenant"]["cloud"]
    snapshot = parse_snapshot(json.dumps(raw))
    assert snapshot.source("role_eligibilities").error.code == "NotCollected"
    result = evaluate(snapshot, default_pack())
    acw04 = next(f for f in result.findings if f.rule_id == "HDM-ACW-04")
    assert acw04.status is Status.ERROR
    assert result.paths is not None and result.paths.user_consent.state.value == "unknown"
    assert result.verdict is Verdict.UNKNOWN
