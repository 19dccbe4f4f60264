"""Build the report tables (grants, permissions, reviewers, requests, leftovers, sources).

Tables show what could be read: a table whose source is unavailable is empty, and the sources
table (and the `error` findings) say why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import TypeVar

from auditor.evaluate.approvers import Approver, find_approvers, person
from auditor.evaluate.consent_requests import app_consent_requests, requester_label, user_requests
from auditor.evaluate.facts import SourceUnavailable, TenantFacts
from auditor.evaluate.reviewers import reviewers_of
from auditor.model.graph_objects import GraphObject, flag, is_value, object_id, scopes, text
from auditor.model.snapshot import SOURCE_NAMES
from auditor.report.report_model import (
    AppPermissionRow,
    ConsentRequestRow,
    GrantRow,
    LeftoverRow,
    PerUserGrantRow,
    ReportTables,
    ReviewerRow,
    SourceRow,
)

# The Graph application permission that reads each source: what to grant when it is forbidden.
SOURCE_PERMISSIONS = {
    "organization": "Organization.Read.All or Directory.Read.All",
    "admin_consent_request_policy": "Policy.Read.All",
    "authorization_policy": "Policy.Read.All",
    "service_principals": "Application.Read.All",
    "delegated_grants": "Application.Read.All (or Directory.Read.All)",
    "app_role_assignments": "Application.Read.All",
    "app_role_assigned_to": "Application.Read.All",
    "users": "User.Read.All (or Directory.Read.All)",
    "groups": "GroupMember.Read.All (or Directory.Read.All)",
    "group_members": "GroupMember.Read.All (or Directory.Read.All)",
    "role_assignments": "RoleManagement.Read.Directory",
    "consent_requests": "ConsentRequest.Read.All",
    "role_eligibilities": "RoleEligibilitySchedule.Read.Directory (or RoleManagement.Read.Directory)",
    "group_eligibilities": "PrivilegedEligibilitySchedule.Read.AzureADGroup",
    "role_definitions": "RoleManagement.Read.Directory",
    "permission_grant_policies": "Policy.Read.PermissionGrant (or Policy.Read.All)",
    "permission_classifications": "Application.Read.All",
}

Row = TypeVar("Row")


def _readable(build: Callable[[], list[Row]]) -> list[Row]:
    try:
        return build()
    except SourceUnavailable:
        return []


def _apps(facts: TenantFacts) -> list[GraphObject]:
    """The app (or its ambiguous candidates) and the leftovers: the SPs whose grants we show."""
    return [*facts.app_candidates, *(sp for sp, _ in facts.leftovers)]


def _delegated_grants(facts: TenantFacts, per_user_of_app: bool) -> Iterator[tuple[GraphObject, GraphObject]]:
    """(client, grant) for the app's per-user grants, or for every other grant of the app and the leftovers."""
    app_ids = {object_id(sp) for sp in facts.app_candidates}
    for sp in _apps(facts):
        of_app = object_id(sp) in app_ids
        for grant in facts.delegated_grants_of(sp):
            if (of_app and is_value(grant, "consentType", "Principal")) == per_user_of_app:
                yield sp, grant


def _is_allowed(facts: TenantFacts) -> Callable[[str, str], bool]:
    """(resource id, scope) → within the pack's allowed scopes, which are Graph's. Answers are remembered:
    100 000 users' grants hold the same few (resource, scope) pairs."""
    allowed = {scope.lower() for scope in facts.params.allowed_graph_scopes}
    return cache(lambda resource_id, scope: facts.is_graph(resource_id) and scope.lower() in allowed)


def grant_rows(facts: TenantFacts) -> list[GrantRow]:
    """One row per scope of the app's tenant-wide grants and of every grant of the leftovers."""
    is_allowed = _is_allowed(facts)
    rows = []
    for sp, grant in _delegated_grants(facts, per_user_of_app=False):
        client, client_id = text(sp, "displayName"), text(sp, "id")
        resource_id = text(grant, "resourceId")
        resource = facts.resource_name(resource_id)
        consent_type, principal_id = text(grant, "consentType"), text(grant, "principalId") or None
        rows.extend(
            GrantRow(
                client=client,
                client_id=client_id,
                consent_type=consent_type,
                principal_id=principal_id,
                resource=resource,
                resource_id=resource_id,
                scope=scope,
                allowed=is_allowed(resource_id, scope),
            )
            for scope in scopes(grant)
        )
    return rows


def per_user_grant_rows(facts: TenantFacts) -> list[PerUserGrantRow]:
    """One row per per-user grant of the app: 100 000 users' consents are 100 000 rows, not one per scope.
    Users mostly consent to the same scopes: rows with the same resource and scopes share their lists."""
    is_allowed, resource_name = _is_allowed(facts), cache(facts.resource_name)

    @cache
    def scope_lists(resource_id: str, scope: str) -> tuple[list[str], list[str]]:
        granted = scope.split()
        return granted, [name for name in granted if not is_allowed(resource_id, name)]

    rows = []
    for sp, grant in _delegated_grants(facts, per_user_of_app=True):
        resource_id = text(grant, "resourceId")
        granted, outside = scope_lists(resource_id, text(grant, "scope"))
        rows.append(PerUserGrantRow(client=text(sp, "displayName"), principal_id=text(grant, "principalId"),
                                    resource=resource_name(resource_id), scopes=granted, outside_allowed=outside))
    return rows


def app_permission_rows(facts: TenantFacts) -> list[AppPermissionRow]:
    return [
        AppPermissionRow(
            client=text(sp, "displayName"),
            client_id=text(sp, "id"),
            resource=facts.resource_name(text(assignment, "resourceId")),
            resource_id=text(assignment, "resourceId"),
            app_role_id=text(assignment, "appRoleId"),
            permission=facts.app_role_name(assignment),
            created=text(assignment, "createdDateTime") or None,
        )
        for sp in _apps(facts)
        for assignment in facts.app_role_assignments_of(sp)
    ]


def reviewer_rows(facts: TenantFacts) -> list[ReviewerRow]:
    rows = []
    approvers = find_approvers(facts).approvers
    for reviewer in reviewers_of(facts).all:
        ids = {object_id(user) for user in reviewer.enabled_users}
        capable: dict[str, list[str]] = {}
        for approver in approvers:
            if approver.id in ids:
                capable.setdefault(approver.user, []).append(_approver_role(approver))
        rows.append(
            ReviewerRow(
                query=reviewer.query,
                kind=reviewer.kind.value,
                target_id=reviewer.target_id,
                principal=reviewer.principal,
                resolved=reviewer.resolved,
                reason=reviewer.reason,
                enabled_users=[person(user) for user in reviewer.enabled_users],
                consent_capable_users=sorted(capable),
                consent_capable_roles=sorted({role for roles in capable.values() for role in roles}),
            )
        )
    return rows


def _approver_role(approver: Approver) -> str:
    via = "" if approver.via == "direct" else f" via {approver.via}"
    return f"{approver.role} ({approver.assignment}{via})"


def consent_request_rows(facts: TenantFacts) -> list[ConsentRequestRow]:
    """Every user consent request in the tenant (not only HD Meeting's): reviewers' backlog."""
    max_age = facts.params.pending_request_max_age_days
    app_ids = {object_id(request) for request in _readable(lambda: app_consent_requests(facts))}
    rows = [
        ConsentRequestRow(
            app=text(row.app, "appDisplayName"),
            app_id=text(row.app, "appId"),
            requester=requester_label(row.request),
            created=text(row.request, "createdDateTime") or None,
            age_days=round(row.age_days, 1) if row.age_days is not None else None,
            status=text(row.request, "status"),
            reason=text(row.request, "reason"),
            overdue=object_id(row.app) in app_ids
            and is_value(row.request, "status", "InProgress")
            and (row.age_days or 0) > max_age,
        )
        for row in user_requests(facts, facts.read("consent_requests"))
    ]
    return sorted(rows, key=lambda row: (not row.overdue, -(row.age_days or 0)))


def leftover_rows(facts: TenantFacts) -> list[LeftoverRow]:
    return [
        LeftoverRow(
            display_name=text(sp, "displayName"),
            app_id=text(sp, "appId"),
            service_principal_id=text(sp, "id"),
            enabled=flag(sp, "accountEnabled"),
            why=why,
        )
        for sp, why in facts.leftovers
    ]


def source_rows(facts: TenantFacts) -> list[SourceRow]:
    rows = []
    for name in SOURCE_NAMES:
        source = facts.snapshot.source(name)
        rows.append(
            SourceRow(
                source=name,
                status=source.status.value,
                error=source.error.describe() if source.error else "",
                permission=SOURCE_PERMISSIONS[name],
            )
        )
    return rows


def build_tables(facts: TenantFacts) -> ReportTables:
    return ReportTables(
        grants=_readable(lambda: grant_rows(facts)),
        per_user_grants=_readable(lambda: per_user_grant_rows(facts)),
        app_permissions=_readable(lambda: app_permission_rows(facts)),
        reviewers=_readable(lambda: reviewer_rows(facts)),
        consent_requests=_readable(lambda: consent_request_rows(facts)),
        leftovers=_readable(lambda: leftover_rows(facts)),
        sources=source_rows(facts),
    )
