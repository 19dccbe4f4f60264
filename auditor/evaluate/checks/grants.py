"""What HD Meeting has been granted: tenant-wide delegated scopes, nothing more, no app permissions."""

from __future__ import annotations

from auditor.evaluate.checks.registry import Outcome, check, pass_if
from auditor.evaluate.checks.service_principal import require_app
from auditor.evaluate.facts import TenantFacts
from auditor.model.graph_objects import is_value, scopes, text

GRANTS = ("service_principals", "delegated_grants")
APP_FOUND = ("HDM-SP-01",)
# Evidence lists are capped so that a tenant with 100 000 per-user grants still gives a readable finding.
EVIDENCE_LIMIT = 50


@check("HDM-GR-01", sources=GRANTS, requires=APP_FOUND)
def tenant_wide_consent(facts: TenantFacts) -> Outcome:
    app = require_app(facts)
    granted = {
        scope.lower(): scope
        for grant in facts.delegated_grants_of(app)
        if is_value(grant, "consentType", "AllPrincipals") and facts.is_graph(text(grant, "resourceId"))
        for scope in scopes(grant)
    }
    required = facts.params.required_graph_scopes
    missing = [scope for scope in required if scope.lower() not in granted]
    link = {"admin_consent_url": facts.admin_consent_url} if missing and facts.admin_consent_url else {}
    return pass_if(
        not missing,
        f"Tenant-wide admin consent covers every required Microsoft Graph scope ({' '.join(required)}).",
        f"Tenant-wide admin consent is missing Microsoft Graph scope(s): {' '.join(missing)}.",
        required_scopes=required,
        granted_tenant_wide=sorted(granted.values(), key=str.lower),
        missing_scopes=missing,
        **link,
    )


@check("HDM-GR-02", sources=GRANTS, requires=APP_FOUND)
def only_allowed_scopes(facts: TenantFacts) -> Outcome:
    app = require_app(facts)
    allowed = {scope.lower() for scope in facts.params.allowed_graph_scopes}
    excess: dict[str, set[str]] = {}
    for grant in facts.delegated_grants_of(app):
        resource_id = text(grant, "resourceId")
        on_graph = facts.is_graph(resource_id)
        for scope in scopes(grant):
            if not on_graph or scope.lower() not in allowed:
                excess.setdefault(facts.resource_name(resource_id), set()).add(scope)
    listed = "; ".join(f"{resource}: {' '.join(sorted(found))}" for resource, found in sorted(excess.items()))
    return pass_if(
        not excess,
        "Every delegated scope granted to HD Meeting is one the integration needs.",
        f"HD Meeting holds delegated scopes beyond what it needs — {listed}.",
        excess_scopes={resource: sorted(found) for resource, found in sorted(excess.items())},
        allowed_graph_scopes=facts.params.allowed_graph_scopes,
    )


@check("HDM-GR-03", sources=(*GRANTS, "app_role_assignments"), requires=APP_FOUND)
def no_application_permissions(facts: TenantFacts) -> Outcome:
    app = require_app(facts)
    held = [
        {"permission": facts.app_role_name(a), "resource": facts.resource_name(text(a, "resourceId"))}
        for a in facts.app_role_assignments_of(app)
    ]
    names = ", ".join(f"{p['permission']} on {p['resource']}" for p in held[:EVIDENCE_LIMIT])
    return pass_if(
        not held,
        "HD Meeting holds no application permissions (it acts only on behalf of signed-in users).",
        f"HD Meeting holds {len(held)} application permission(s), which act without a user: {names}.",
        application_permissions=held,
    )


@check("HDM-GR-04", sources=GRANTS, requires=APP_FOUND)
def no_per_user_grants(facts: TenantFacts) -> Outcome:
    app = require_app(facts)
    per_user = [g for g in facts.delegated_grants_of(app) if is_value(g, "consentType", "Principal")]
    users = sorted({text(g, "principalId") for g in per_user})
    return pass_if(
        not per_user,
        "No per-user consent grants for HD Meeting.",
        f"{len(per_user)} per-user consent grant(s) from {len(users)} user(s): consent is scattered "
        "across users instead of granted once for the tenant.",
        per_user_grants=len(per_user),
        users=len(users),
        user_ids=users[:EVIDENCE_LIMIT],
        more_users=max(0, len(users) - EVIDENCE_LIMIT),
    )
