"""User consent settings: the legacy policy lets every user consent to any app for themselves."""

from __future__ import annotations

from auditor.evaluate.checks.registry import Outcome, check, pass_if
from auditor.evaluate.facts import LEGACY_USER_CONSENT_POLICY, TenantFacts


@check("HDM-UC-01", sources=("authorization_policy",))
def no_legacy_user_consent(facts: TenantFacts) -> Outcome:
    policies = facts.user_consent_policies
    legacy = [policy for policy in policies if policy.lower() == LEGACY_USER_CONSENT_POLICY]
    return pass_if(
        not legacy,
        "Users cannot consent to any app on their own (the legacy user consent policy is not assigned).",
        "The legacy user consent policy is assigned: every user may consent to any app, HD Meeting "
        "included, for themselves — the admin consent workflow is bypassed.",
        permissionGrantPoliciesAssigned=policies,
    )
