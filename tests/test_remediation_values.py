"""Remediation with the tenant's own values (issue 13): no `{placeholder}` for a value the snapshot holds,
the cloud's own hosts kept, and a placeholder left only where a person must choose, saying what to choose."""

from __future__ import annotations

import re

from auditor.evaluate.engine import evaluate, load_rule_pack
from auditor.evaluate.remediation_values import CHOICES, fill
from auditor.model.resources import DEMO_SNAPSHOT
from auditor.model.snapshot import Snapshot
from auditor.model.snapshot_file import load_snapshot
from tests.factory import EXCHANGE_SP, GRAPH_SP, HD_APP_ID, TENANT_ID, Tenant

PLACEHOLDER = re.compile(r"\{([A-Za-z]+)\}")


def _left(remediation: str) -> set[str]:
    return set(PLACEHOLDER.findall(remediation))


def _messy_tenant() -> Tenant:
    """HD Meeting consented, with every problem a remediation names an object for."""
    tenant = Tenant()
    tenant.grant("Mail.Read", resource=EXCHANGE_SP)  # a grant on another API (GR-02), a legacy one (LEG-01)
    tenant.add_per_user_grant("Pat Person")  # GR-04
    tenant.add_app_role_assignment("full_access_as_app", resource=EXCHANGE_SP)  # GR-03
    tenant.leftover = tenant.add_service_principal("HD Meeting Legacy")  # LEG-01
    tenant.add_consent_request(12)  # REQ-01
    tenant.add_deleted_user_reviewer("Gone Reviewer")  # ACW-03
    return tenant


def test_demo_remediation_names_its_own_ids() -> None:
    result = evaluate(load_snapshot(DEMO_SNAPSHOT), load_rule_pack(None))
    by_rule = {f.rule_id: f.remediation for f in result.findings}
    # The demo tenant (DESIGN's Northwind Clinics) holds no HD Meeting service principal, so only ids that exist
    # can be filled: the tenant, the app id, the leftover and the pending request.
    assert "https://login.microsoftonline.com/9637ff4c-4575-4b96-a318-5c366e9683f1/adminconsent" \
           "?client_id=f5aebf55-87f5-4e6d-af2d-2f523ef587e9" in by_rule["HDM-SP-01"]
    assert 'New-MgServicePrincipal -AppId "f5aebf55-87f5-4e6d-af2d-2f523ef587e9"' in by_rule["HDM-SP-01"]
    assert "servicePrincipals/95a9aa7c-1ea7-4e96-8e60-cee78156019f" in by_rule["HDM-LEG-01"]
    assert "appId eq 'f5aebf55-87f5-4e6d-af2d-2f523ef587e9'" in by_rule["HDM-REQ-01"]
    for rule_id, text in by_rule.items():
        assert not _left(text) & {"tenant", "appId", "leftoverServicePrincipalId", "appConsentRequestId",
                                  "graphServicePrincipalId", "staleReviewerUserId"}, rule_id
    # What stays is a choice, or an object this tenant does not have: no HD Meeting service principal yet,
    # hence none of its grants or app role assignments.
    assert result.app.service_principal_id is None
    left = set().union(*(_left(text) for text in by_rule.values()))
    assert left - set(CHOICES) == {"servicePrincipalId", "grantId", "appRoleAssignmentId"}


def test_a_consented_tenant_leaves_no_placeholder_for_a_held_value() -> None:
    tenant = _messy_tenant()
    findings = tenant.evaluate()
    app_sp = tenant.app_sp["id"]
    for finding in findings.values():
        left = _left(finding.remediation)
        assert left <= set(CHOICES), (finding.rule_id, left - set(CHOICES))
        for name in left:
            assert f"{{{name}}} is {CHOICES[name]}" in finding.remediation  # says what to choose
    assert f'-ServicePrincipalId "{app_sp}" -AccountEnabled:$true' in findings["HDM-SP-02"].remediation
    assert f'"resourceId": "{GRAPH_SP["id"]}"' in findings["HDM-GR-01"].remediation
    assert f"oauth2PermissionGrants/{tenant.tenant_wide_grant['id']}" in findings["HDM-GR-01"].remediation
    assert f"login.microsoftonline.com/{TENANT_ID}/adminconsent?client_id={HD_APP_ID}" in \
           findings["HDM-GR-01"].remediation
    per_user = next(g for g in tenant.delegated_grants if g["consentType"] == "Principal")
    assert f"DELETE https://graph.microsoft.com/v1.0/oauth2PermissionGrants/{per_user['id']}" in \
           findings["HDM-GR-04"].remediation
    assert f"servicePrincipals/{tenant.leftover['id']}" in findings["HDM-LEG-01"].remediation
    exchange = next(g for g in tenant.delegated_grants if g["resourceId"] == EXCHANGE_SP["id"])
    assert f'-OAuth2PermissionGrantId "{exchange["id"]}"' in findings["HDM-LEG-01"].remediation
    assignment = tenant.app_role_assignments[0]["id"]
    assert f"appRoleAssignments/{assignment}" in findings["HDM-GR-03"].remediation


def test_several_values_repeat_the_line_and_choices_are_explained() -> None:
    text = "DELETE /grants/{grantId}\nKeep {appId} and {reviewerUserId}"
    filled = fill(text, {"grantId": ["g1", "g2"], "appId": ["a1"]})
    assert filled == ("DELETE /grants/g1\nDELETE /grants/g2\nKeep a1 and {reviewerUserId}\n\n"
                      f"To choose: {{reviewerUserId}} is {CHOICES['reviewerUserId']}.")
    assert fill("no placeholders", {}) == "no placeholders"


def test_a_line_repeats_for_at_most_25_values_and_counts_the_rest() -> None:
    filled = fill("DELETE /grants/{grantId}", {"grantId": [f"g{n}" for n in range(100_000)]})
    lines = filled.splitlines()
    assert lines[:25] == [f"DELETE /grants/g{n}" for n in range(25)]
    assert lines[25:] == ["# and the same for 99975 more {grantId} values: every one is in the snapshot and in the "
                          "Excel report's tables"]


def test_national_cloud_hosts_survive_filling() -> None:
    tenant = Tenant()
    data = tenant.build().model_dump(mode="json")
    data["tenant"]["cloud"] = "usgov"
    result = evaluate(Snapshot.model_validate(data), load_rule_pack(None))
    sp02 = next(f for f in result.findings if f.rule_id == "HDM-SP-02").remediation
    assert f"PATCH https://graph.microsoft.us/v1.0/servicePrincipals/{tenant.app_sp['id']}" in sp02
    assert "Connect-MgGraph -Environment USGov" in sp02
