"""Leftovers of the retired OAuth 1.0 integration and legacy Exchange access."""

from __future__ import annotations

from auditor.evaluate.checks.registry import Outcome, check, pass_if
from auditor.evaluate.checks.service_principal import describe_sp
from auditor.evaluate.facts import TenantFacts


@check("HDM-LEG-01", sources=("service_principals", "delegated_grants", "app_role_assignments"))
def no_legacy_leftovers(facts: TenantFacts) -> Outcome:
    leftovers = [
        {**describe_sp(sp), "why": why, "legacy_permissions": facts.legacy_permissions_of(sp)}
        for sp, why in facts.leftovers
    ]
    # With an ambiguous app (HDM-SP-01 error) only the leftovers can be checked.
    app_legacy = facts.legacy_permissions_of(facts.app) if facts.app else []
    problems = [f"{item['displayName']} ({item['why']})" for item in leftovers]
    problems += [f"HD Meeting holds {permission}" for permission in app_legacy]
    return pass_if(
        not problems,
        "No leftovers of the old integration and no legacy Exchange permissions.",
        f"Legacy integration leftovers: {'; '.join(problems)}.",
        leftovers=leftovers,
        app_legacy_permissions=app_legacy,
    )
