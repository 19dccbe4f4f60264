"""HD Meeting's service principal: present, enabled, and usable by the people who need it."""

from __future__ import annotations

from auditor.evaluate.checks.registry import Outcome, check, errored, failed, pass_if, passed
from auditor.evaluate.facts import TenantFacts
from auditor.model.graph_objects import GraphObject, flag, is_value, text

SP = ("service_principals",)
APP_FOUND = ("HDM-SP-01",)


def describe_sp(sp: GraphObject) -> dict[str, object]:
    return {
        "id": text(sp, "id"),
        "appId": text(sp, "appId"),
        "displayName": text(sp, "displayName"),
        "accountEnabled": flag(sp, "accountEnabled"),
    }


def require_app(facts: TenantFacts) -> GraphObject:
    """The app's service principal; checks that require HDM-SP-01 to pass run only when it exists."""
    app = facts.app
    if app is None:
        raise RuntimeError("a check that requires HDM-SP-01 ran without the app")
    return app


@check("HDM-SP-01", sources=SP)
def service_principal_exists(facts: TenantFacts) -> Outcome:
    candidates = facts.app_candidates
    name = facts.params.app_display_name
    link = {"admin_consent_url": facts.admin_consent_url} if facts.admin_consent_url else {}
    if len(candidates) > 1:
        return errored(
            f"Ambiguous: {len(candidates)} service principals are named '{name}' and no app id was given "
            "(use --app-id or the pack's app_ids).",
            candidates=[describe_sp(sp) for sp in candidates],
        )
    if candidates:
        return passed(
            f"HD Meeting's service principal exists ({text(candidates[0], 'displayName')}, "
            f"appId {text(candidates[0], 'appId')}).",
            service_principal=describe_sp(candidates[0]),
        )
    wanted = f"appId {facts.given_app_id}" if facts.given_app_id else f"display name '{name}'"
    return failed(
        f"No service principal with {wanted}: HD Meeting has never been consented to in this tenant.",
        searched_for=wanted,
        **link,
    )


@check("HDM-SP-02", sources=SP, requires=APP_FOUND)
def service_principal_enabled(facts: TenantFacts) -> Outcome:
    app = require_app(facts)
    return pass_if(
        flag(app, "accountEnabled") is True,
        "HD Meeting's service principal is enabled.",
        "HD Meeting's service principal is disabled: no user can sign in to it, whatever was consented.",
        service_principal=describe_sp(app),
    )


@check("HDM-SP-03", sources=(*SP, "app_role_assigned_to"), requires=APP_FOUND)
def users_can_reach_app(facts: TenantFacts) -> Outcome:
    app = require_app(facts)
    required = flag(app, "appRoleAssignmentRequired") is True
    assigned = [
        {"principal": text(a, "principalDisplayName") or text(a, "principalId"), "type": text(a, "principalType")}
        for a in facts.assignments_to(app)
        if is_value(a, "principalType", "User") or is_value(a, "principalType", "Group")
    ]
    if not required:
        return passed("Assignment is not required: every user may sign in to HD Meeting.",
                      appRoleAssignmentRequired=False)
    return pass_if(
        bool(assigned),
        f"Assignment is required and {len(assigned)} user(s)/group(s) are assigned.",
        "Assignment is required but no user or group is assigned: nobody can sign in to HD Meeting.",
        appRoleAssignmentRequired=True,
        assigned=assigned,
    )
