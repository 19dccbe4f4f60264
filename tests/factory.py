"""Snapshot builder for tests: a healthy tenant where all 17 rules pass, plus one-change helpers.

    tenant = Tenant()                                   # every rule passes, verdict `ready`
    tenant.add_user_reviewer("Dana Disabled", enabled=False)
    findings = tenant.evaluate()                        # {rule id: Finding}
    assert findings["HDM-ACW-03"].status is Status.FAIL

Data are raw Microsoft Graph v1.0 objects (camelCase), as the collector stores them. Ids are
deterministic GUIDs derived from a name (`guid("user:Alice")`), so a test can name the object it
expects in a finding's evidence without keeping the id around.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from auditor.evaluate.engine import evaluate, load_rule_pack
from auditor.evaluate.rulepack import Parameters, RulePack
from auditor.model.result import Finding, Result
from auditor.model.snapshot import SOURCE_NAMES, Snapshot
from tests.consent_policies import (
    ADMIN_ONLY_SCOPES,
    GRAPH_SCOPE_IDS,
    classification,
    legacy_policy,
    low_policy,
    recommended_policy,
)

GraphObject = dict[str, Any]

COLLECTED_AT = datetime(2026, 3, 16, 9, 30, tzinfo=timezone.utc)
DOMAIN = "northwindtest.onmicrosoft.com"
TENANT_ID = "0f3c5d2a-7b41-4e8c-9a6d-2b1e4f7c8d90"
HD_APP_ID = "5a1e2f3b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
HD_MEETING = "HD Meeting"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
REQUIRED_SCOPES = "User.Read Calendars.ReadWrite offline_access"
EWS_SCOPE = "EWS.AccessAsUser.All"
FORBIDDEN = "Authorization_RequestDenied"
HD_OWNER_TENANT_ID = "8f3c1d52-7a0e-4c43-9c0b-1b5e2f6a9d07"  # the tenant HD Meeting is registered in


class Roles:
    """Directory role definition ids (built-in role template ids)."""

    GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
    PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
    CLOUD_APP_ADMIN = "158c047a-c907-4556-b7ef-446551a6b5f7"
    APP_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
    GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"  # may read, may not grant consent


# App roles (application permissions) of the resource service principals.
GRAPH_APP_ROLES = {
    "Calendars.ReadWrite": "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
}
FULL_ACCESS_AS_APP = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"


def guid(name: str) -> str:
    """A stable, valid GUID for a test object's name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://auditor.test/{name}"))


def days_ago(days: float, now: datetime = COLLECTED_AT) -> str:
    return (now - timedelta(days=days)).isoformat().replace("+00:00", "Z")


def upn(name: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{DOMAIN}"


def service_principal(name: str, app_id: str, *, enabled: bool = True, **extra: Any) -> GraphObject:
    return {
        "id": guid(f"sp:{name}:{app_id}"),
        "appId": app_id,
        "displayName": name,
        "accountEnabled": enabled,
        "appOwnerOrganizationId": HD_OWNER_TENANT_ID,
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "appRoleAssignmentRequired": False,
        "servicePrincipalType": "Application",
        "appRoles": [],
        "oauth2PermissionScopes": [],
        **extra,
    }


def _scope(value: str) -> GraphObject:
    kind = "Admin" if value in ADMIN_ONLY_SCOPES else "User"
    return {"id": GRAPH_SCOPE_IDS.get(value) or guid(f"scope:{value}"), "value": value, "type": kind, "isEnabled": True}


def _app_role(value: str, role_id: str) -> GraphObject:
    return {"id": role_id, "value": value, "allowedMemberTypes": ["Application"], "isEnabled": True}


GRAPH_SP = service_principal(
    "Microsoft Graph",
    GRAPH_APP_ID,
    appRoles=[_app_role(value, role_id) for value, role_id in GRAPH_APP_ROLES.items()],
    oauth2PermissionScopes=[_scope(s) for s in ("User.Read", "Calendars.ReadWrite", "Calendars.Read", "Mail.Read",
                                                "offline_access", "openid", "profile", "email",
                                                "Directory.AccessAsUser.All")],
)
EXCHANGE_SP = service_principal(
    "Office 365 Exchange Online",
    EXCHANGE_APP_ID,
    appRoles=[_app_role("full_access_as_app", FULL_ACCESS_AS_APP)],
    oauth2PermissionScopes=[_scope(EWS_SCOPE)],
)


@cache
def default_pack() -> RulePack:
    return load_rule_pack()


def pack_with(**parameters: Any) -> RulePack:
    """The default pack with some requirement parameters changed."""
    pack = default_pack()
    changed = Parameters.model_validate({**pack.parameters.model_dump(), **parameters})
    return pack.model_copy(update={"parameters": changed})


@dataclass
class Tenant:
    """A mutable tenant; `build()` turns it into a validated `Snapshot`."""

    collected_at: datetime = COLLECTED_AT
    target_app_id: str | None = HD_APP_ID
    policy: GraphObject = field(
        default_factory=lambda: {
            "isEnabled": True,
            "notifyReviewers": True,
            "remindersEnabled": True,
            "requestDurationInDays": 14,
            "reviewers": [],
            "version": 1,
        }
    )
    user_consent: list[str] = field(
        default_factory=lambda: ["ManagePermissionGrantsForSelf.microsoft-user-default-low"]
    )
    service_principals: list[GraphObject] = field(default_factory=lambda: [dict(GRAPH_SP), dict(EXCHANGE_SP)])
    delegated_grants: list[GraphObject] = field(default_factory=list)
    app_role_assignments: list[GraphObject] = field(default_factory=list)
    app_role_assigned_to: list[GraphObject] = field(default_factory=list)
    users: dict[str, GraphObject | None] = field(default_factory=dict)
    groups: dict[str, GraphObject | None] = field(default_factory=dict)
    group_children: dict[str, list[str]] = field(default_factory=dict)  # direct members: user/group ids
    role_assignments: list[GraphObject] = field(default_factory=list)
    consent_requests: list[GraphObject] = field(default_factory=list)
    role_eligibilities: list[GraphObject] = field(default_factory=list)
    group_eligibilities: list[GraphObject] = field(default_factory=list)
    role_definitions: list[GraphObject] = field(default_factory=list)
    permission_grant_policies: dict[str, GraphObject | None] = field(
        default_factory=lambda: {p["id"]: {**p, "apiVersion": "beta"} for p in (
            low_policy(TENANT_ID), legacy_policy(), recommended_policy())}
    )
    permission_classifications: list[GraphObject] = field(default_factory=list)
    allow_risky_user_consent: bool | None = None
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """The healthy baseline: a consent-capable reviewer, the app, and its tenant-wide grant."""
        self.app: GraphObject | None = service_principal(HD_MEETING, HD_APP_ID)
        self.service_principals.append(self.app)
        self.add_user_reviewer("Alice Admin", role=Roles.CLOUD_APP_ADMIN)
        self.tenant_wide_grant = self.grant(REQUIRED_SCOPES)

    # -- directory -----------------------------------------------------------------------------

    def add_user(self, name: str, *, enabled: bool = True) -> str:
        user_id = guid(f"user:{name}")
        self.users[user_id] = {
            "id": user_id,
            "displayName": name,
            "userPrincipalName": upn(name),
            "accountEnabled": enabled,
        }
        return user_id

    def assign_role(self, principal_id: str, role_id: str, *, scope: str = "/") -> GraphObject:
        """An active role assignment; `scope` "/" is tenant-wide, "/{objectId}" scoped to an object."""
        assignment = {
            "id": guid(f"role-assignment:{principal_id}:{role_id}:{scope}"),
            "principalId": principal_id,
            "roleDefinitionId": role_id,
            "directoryScopeId": scope,
        }
        self.role_assignments.append(assignment)
        return assignment

    def make_eligible(self, principal_id: str, role_id: str, *, scope: str = "/") -> GraphObject:
        """A PIM-eligible role assignment (unifiedRoleEligibilityScheduleInstance)."""
        instance = {
            "id": guid(f"role-eligibility:{principal_id}:{role_id}:{scope}"),
            "principalId": principal_id,
            "roleDefinitionId": role_id,
            "directoryScopeId": scope,
            "appScopeId": None,
            "startDateTime": days_ago(30),
            "endDateTime": None,
            "memberType": "Direct",
            "roleEligibilityScheduleId": guid(f"role-eligibility-schedule:{principal_id}:{role_id}"),
        }
        self.role_eligibilities.append(instance)
        return instance

    def make_eligible_member(self, user_id: str, group_id: str) -> GraphObject:
        """PIM for Groups: `user_id` may activate membership of `group_id`."""
        instance = {
            "id": guid(f"group-eligibility:{user_id}:{group_id}"),
            "accessId": "member",
            "principalId": user_id,
            "groupId": group_id,
            "memberType": "Direct",
            "startDateTime": days_ago(30),
            "endDateTime": None,
            "eligibilityScheduleId": guid(f"group-eligibility-schedule:{user_id}:{group_id}"),
        }
        self.group_eligibilities.append(instance)
        return instance

    def add_custom_role(self, name: str, *policy_ids: str, enabled: bool = True) -> str:
        """A custom directory role allowed to grant consent for all users under the given policies."""
        role_id = guid(f"role-definition:{name}")
        actions = [f"microsoft.directory/servicePrincipals/managePermissionGrantsForAll.{p}" for p in policy_ids]
        self.role_definitions.append({
            "id": role_id, "templateId": role_id, "displayName": name, "description": f"{name} (custom)",
            "isBuiltIn": False, "isEnabled": enabled, "resourceScopes": ["/"], "version": None,
            "rolePermissions": [{"allowedResourceActions": actions, "condition": None}],
        })
        return role_id

    def add_policy(self, policy: GraphObject, *, api_version: str = "beta") -> str:
        self.permission_grant_policies[policy["id"].lower()] = {**policy, "apiVersion": api_version}
        return policy["id"]

    def classify(self, *scopes: str, level: str = "low") -> None:
        self.permission_classifications += [classification(scope, level) for scope in scopes]

    def add_group(self, name: str, *members: str) -> str:
        """A group whose direct members are the given user or group ids."""
        group_id = guid(f"group:{name}")
        self.groups[group_id] = {"id": group_id, "displayName": name}
        self.group_children[group_id] = list(members)
        return group_id

    def _transitive_members(self, group_id: str, seen: frozenset[str] = frozenset()) -> list[GraphObject]:
        members: list[GraphObject] = []
        for member_id in self.group_children.get(group_id, []):
            if member_id in self.group_children and member_id not in seen:
                group = self.groups[member_id] or {"id": member_id}
                members.append({"@odata.type": "#microsoft.graph.group", **group})
                members += self._transitive_members(member_id, seen | {group_id})
            elif user := self.users.get(member_id):
                members.append({"@odata.type": "#microsoft.graph.user", **user})
        return members

    # -- admin consent workflow ----------------------------------------------------------------

    def add_reviewer(self, query: str) -> None:
        self.policy["reviewers"].append({"query": query, "queryType": "MicrosoftGraph", "queryRoot": None})

    def clear_reviewers(self) -> None:
        self.policy["reviewers"] = []

    def add_user_reviewer(
        self, name: str, *, enabled: bool = True, role: str | None = None, scope: str = "/"
    ) -> str:
        user_id = self.add_user(name, enabled=enabled)
        if role:
            self.assign_role(user_id, role, scope=scope)
        self.add_reviewer(f"/users/{user_id}")
        return user_id

    def add_deleted_user_reviewer(self, name: str) -> str:
        """A reviewer whose user Graph answers 404 for (null in `users`)."""
        user_id = guid(f"user:{name}")
        self.users[user_id] = None
        self.add_reviewer(f"/users/{user_id}")
        return user_id

    def add_group_reviewer(self, group_id: str, *, query: str | None = None) -> None:
        self.add_reviewer(query or f"/groups/{group_id}/transitiveMembers/microsoft.graph.user")

    def add_role_reviewer(self, role_id: str) -> None:
        self.add_reviewer(f"/beta/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{role_id}'")

    # -- service principals, grants and assignments --------------------------------------------

    def add_service_principal(self, name: str, app_id: str | None = None, **extra: Any) -> GraphObject:
        sp = service_principal(name, app_id or guid(f"app:{name}"), **extra)
        self.service_principals.append(sp)
        return sp

    def remove_app(self) -> None:
        """HD Meeting was never consented to: no service principal and so no grants from it."""
        assert self.app is not None
        app_id = self.app["id"]
        self.service_principals.remove(self.app)
        self.delegated_grants = [g for g in self.delegated_grants if g["clientId"] != app_id]
        self.app = None

    @property
    def app_sp(self) -> GraphObject:
        assert self.app is not None, "the app was removed"
        return self.app

    def grant(
        self,
        scope: str,
        *,
        consent_type: str = "AllPrincipals",
        client: GraphObject | None = None,
        resource: GraphObject = GRAPH_SP,
        principal_id: str | None = None,
    ) -> GraphObject:
        """A delegated permission grant (oauth2PermissionGrant), from the app unless `client` is given."""
        client_id = (client or self.app_sp)["id"]
        grant = {
            "id": guid(f"grant:{client_id}:{resource['id']}:{principal_id}"),
            "clientId": client_id,
            "consentType": consent_type,
            "principalId": principal_id,
            "resourceId": resource["id"],
            "scope": scope,
        }
        self.delegated_grants.append(grant)
        return grant

    def add_per_user_grant(self, name: str, scope: str = "User.Read Calendars.ReadWrite") -> str:
        user_id = self.add_user(name)
        self.grant(scope, consent_type="Principal", principal_id=user_id)
        return user_id

    def add_app_role_assignment(
        self, app_role_id: str, *, resource: GraphObject = GRAPH_SP, client: GraphObject | None = None
    ) -> GraphObject:
        """An application permission held by the app (or by `client`)."""
        holder = client or self.app_sp
        assignment = {
            "id": guid(f"app-role:{holder['id']}:{app_role_id}"),
            "appRoleId": app_role_id,
            "principalId": holder["id"],
            "principalType": "ServicePrincipal",
            "principalDisplayName": holder["displayName"],
            "resourceId": resource["id"],
            "resourceDisplayName": resource["displayName"],
            "createdDateTime": days_ago(400),
        }
        self.app_role_assignments.append(assignment)
        return assignment

    def assign_to_app(self, name: str, principal_type: str = "User") -> GraphObject:
        """A user, group or service principal assigned to HD Meeting (appRoleAssignedTo)."""
        assignment = {
            "id": guid(f"assigned-to:{name}"),
            "appRoleId": "00000000-0000-0000-0000-000000000000",
            "principalId": guid(f"{principal_type}:{name}"),
            "principalType": principal_type,
            "principalDisplayName": name,
            "resourceId": self.app_sp["id"],
            "resourceDisplayName": HD_MEETING,
            "createdDateTime": days_ago(30),
        }
        self.app_role_assigned_to.append(assignment)
        return assignment

    # -- consent requests ----------------------------------------------------------------------

    def add_consent_request(
        self,
        age: timedelta | float,
        *,
        requester: str = "Rita Requester",
        status: str = "InProgress",
        app_id: str = HD_APP_ID,
        app_display_name: str = HD_MEETING,
    ) -> GraphObject:
        """A user's consent request `age` (days, or a timedelta) before `collected_at`."""
        created = self.collected_at - (age if isinstance(age, timedelta) else timedelta(days=age))
        request = {
            "id": guid(f"user-request:{app_id}:{requester}:{created}"),
            "status": status,
            "createdDateTime": created.isoformat().replace("+00:00", "Z"),
            "reason": "I need HD Meeting to schedule patient video visits from my calendar.",
            "createdBy": {"user": {"id": guid(f"user:{requester}"), "displayName": requester,
                                   "userPrincipalName": upn(requester)}},
        }
        existing = next((r for r in self.consent_requests if r["appId"] == app_id), None)
        if existing is None:
            existing = {
                "id": guid(f"app-request:{app_id}"),
                "appId": app_id,
                "appDisplayName": app_display_name,
                "consentType": "Dynamic",
                "pendingScopes": [{"displayName": s} for s in REQUIRED_SCOPES.split()],
                "userConsentRequests": [],
            }
            self.consent_requests.append(existing)
        existing["userConsentRequests"].append(request)
        return request

    # -- collection status ---------------------------------------------------------------------

    def fail_source(self, name: str, *, code: str = FORBIDDEN, status: str = "forbidden") -> None:
        """Record that the collector could not read `name` (403 by default)."""
        http_status = 403 if status == "forbidden" else 500
        self.failures[name] = {
            "status": status,
            "error": {"code": code, "message": "Insufficient privileges to complete the operation.",
                      "http_status": http_status},
            "data": None,
        }

    # -- output --------------------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        return {
            "organization": [{"id": TENANT_ID, "displayName": "Northwind Test"}],
            "admin_consent_request_policy": self.policy,
            "authorization_policy": {
                "id": "authorizationPolicy",
                "allowUserConsentForRiskyApps": self.allow_risky_user_consent,
                "defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": self.user_consent},
            },
            "service_principals": self.service_principals,
            "delegated_grants": self.delegated_grants,
            "app_role_assignments": self.app_role_assignments,
            "app_role_assigned_to": self.app_role_assigned_to,
            "users": self.users,
            "groups": self.groups,
            "group_members": {gid: self._transitive_members(gid) for gid in self.group_children},
            "role_assignments": self.role_assignments,
            "consent_requests": self.consent_requests,
            "role_eligibilities": self.role_eligibilities,
            "group_eligibilities": self.group_eligibilities,
            "role_definitions": self.role_definitions,
            "permission_grant_policies": self.permission_grant_policies,
            "permission_classifications": self.permission_classifications,
        }

    def build(self) -> Snapshot:
        data = self.data()
        return Snapshot.model_validate(
            {
                "tool": {"name": "auditor", "version": "0.1.0"},
                "collected_at": self.collected_at.isoformat(),
                "graph_url": "https://graph.microsoft.com/v1.0",
                "tenant": {"id": TENANT_ID, "display_name": "Northwind Test"},
                "target": {"app_id": self.target_app_id, "app_display_name": HD_MEETING, "legacy_app_ids": [],
                           "consent_role_ids": [role.id for role in default_pack().parameters.consent_capable_roles]},
                "sources": {
                    name: self.failures.get(name) or {"status": "ok", "data": data[name]} for name in SOURCE_NAMES
                },
            }
        )

    def result(self, pack: RulePack | None = None, **options: Any) -> Result:
        return evaluate(self.build(), pack or default_pack(), **options)

    def evaluate(self, pack: RulePack | None = None, **options: Any) -> dict[str, Finding]:
        """Findings by rule id."""
        return {finding.rule_id: finding for finding in self.result(pack, **options).findings}


def mentions(finding: Finding, *needles: str) -> bool:
    """Whether the finding's message or evidence names every needle (case-insensitive)."""
    text = f"{finding.message} {finding.evidence}".lower()
    return all(needle.lower() in text for needle in needles)
