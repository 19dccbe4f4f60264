"""A fake tenant, built declaratively, holding Graph-shaped objects (Microsoft Graph v1.0 reference).

    tenant = FakeTenant("Contoso")
    alice = tenant.add_user("Alice")
    app = tenant.add_service_principal("HD Meeting", app_id=HDM_APP_ID)
    tenant.grant_delegated(app, tenant.microsoft_graph(), "User.Read Calendars.ReadWrite offline_access")
    tenant.enable_admin_consent_workflow(user_query(alice))

Ids are deterministic GUIDs, so a failing test shows the same ids on every run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.consent_policies import (
    ADMIN_ONLY_SCOPES,
    GRAPH_SCOPE_IDS,
    classification,
    legacy_policy,
    low_policy,
    recommended_policy,
)

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
CLOUD_APPLICATION_ADMINISTRATOR = "158c047a-c907-4556-b7ef-446551a6b5f7"
APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
HDM_APP_ID = "5d0b7c4e-8a55-4bb8-9a73-2f3f5e0e6a11"

LEGACY_USER_CONSENT = "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
LOW_USER_CONSENT = "ManagePermissionGrantsForSelf.microsoft-user-default-low"

# (id, value) of a few real Microsoft Graph / Exchange Online permissions.
_GRAPH_SCOPES = [(scope_id, value) for value, scope_id in GRAPH_SCOPE_IDS.items()]
_GRAPH_ROLES = [
    ("ef54d2bf-783f-4e0f-bca1-3210c0444d99", "Calendars.ReadWrite"),
    ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
]
_EXCHANGE_SCOPES = [("3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5", "EWS.AccessAsUser.All")]
_EXCHANGE_ROLES = [("dc890d15-9560-4a4c-9b7f-a736ec74ec40", "full_access_as_app")]

_NAMESPACE = uuid.UUID("0b6f3f1e-4f7c-4f3e-9d7c-6a1f1c2b3d4e")
_CREATED = "2024-01-15T09:30:00Z"


def user_query(user_id: str) -> str:
    return f"/users/{user_id}"


def group_query(group_id: str, transitive: bool = True, cast: bool = True) -> str:
    relation = "transitiveMembers" if transitive else "members"
    return f"/groups/{group_id}/{relation}" + ("/microsoft.graph.user" if cast else "")


def role_query(role_definition_id: str, prefix: str = "") -> str:
    return f"{prefix}/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{role_definition_id}'"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scope(scope_id: str, value: str) -> dict[str, Any]:
    kind = "Admin" if value in ADMIN_ONLY_SCOPES else "User"
    return {
        "adminConsentDescription": f"Allows the app to use {value}.",
        "adminConsentDisplayName": value,
        "id": scope_id,
        "isEnabled": True,
        "type": kind,
        "userConsentDescription": f"Allows the app to use {value} for you.",
        "userConsentDisplayName": value,
        "value": value,
    }


def _app_role(role_id: str, value: str) -> dict[str, Any]:
    return {
        "allowedMemberTypes": ["Application"],
        "description": f"Allows the app to use {value} without a signed-in user.",
        "displayName": value,
        "id": role_id,
        "isEnabled": True,
        "origin": "Application",
        "value": value,
    }


@dataclass
class FakeTenant:
    display_name: str = "Contoso"
    id: str = ""
    organization: list[dict[str, Any]] = field(default_factory=list)
    admin_consent_request_policy: dict[str, Any] = field(default_factory=dict)
    authorization_policy: dict[str, Any] = field(default_factory=dict)
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    oauth2_permission_grants: list[dict[str, Any]] = field(default_factory=list)
    # Every appRoleAssignment: held by its principalId, granted on its resourceId.
    app_role_assignments: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    role_assignments: list[dict[str, Any]] = field(default_factory=list)
    consent_requests: list[dict[str, Any]] = field(default_factory=list)
    user_consent_requests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    role_eligibilities: list[dict[str, Any]] = field(default_factory=list)
    group_eligibilities: list[dict[str, Any]] = field(default_factory=list)
    role_definitions: list[dict[str, Any]] = field(default_factory=list)
    permission_grant_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # by lower-case id
    classifications: list[dict[str, Any]] = field(default_factory=list)  # of Microsoft Graph's scopes
    premium: bool = True  # Entra ID P2: without it PIM answers 400 AadPremiumLicenseRequired
    limited_users: bool = False  # the caller lacks User.Read.All: users come with id and @odata.type only
    refs: dict[str, str] = field(default_factory=dict)  # ids a scenario names for its tests
    _counter: int = 0

    def __post_init__(self) -> None:
        self.id = self.id or self.new_id("tenant")
        domain = "".join(ch for ch in self.display_name.lower() if ch.isalnum()) or "tenant"
        self.domain = f"{domain}.onmicrosoft.com"
        self.organization = [
            {
                "id": self.id,
                "displayName": self.display_name,
                "tenantType": "AAD",
                "countryLetterCode": "US",
                "createdDateTime": _CREATED,
                "verifiedDomains": [
                    {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": True, "isInitial": True,
                     "name": self.domain, "type": "Managed"}
                ],
            }
        ]
        self.admin_consent_request_policy = {
            "isEnabled": False,
            "notifyReviewers": False,
            "remindersEnabled": False,
            "requestDurationInDays": 0,
            "version": 0,
            "reviewers": [],
        }
        self.authorization_policy = {
            "@odata.type": "#microsoft.graph.authorizationPolicy",
            "id": "authorizationPolicy",
            "displayName": "Authorization Policy",
            "description": "Used to manage authorization related settings across the company.",
            "allowInvitesFrom": "everyone",
            "allowedToSignUpEmailBasedSubscriptions": True,
            "allowedToUseSSPR": True,
            "allowEmailVerifiedUsersToJoinOrganization": False,
            "blockMsolPowerShell": False,
            "allowUserConsentForRiskyApps": None,
            "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
            "defaultUserRolePermissions": {
                "allowedToCreateApps": True,
                "allowedToCreateSecurityGroups": True,
                "allowedToCreateTenants": True,
                "allowedToReadBitlockerKeysForOwnedDevice": True,
                "allowedToReadOtherUsers": True,
                "permissionGrantPoliciesAssigned": [
                    "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-team",
                    "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-chat",
                ],
            },
        }

        for built_in in (low_policy(self.id), legacy_policy(), recommended_policy()):
            self.add_policy(built_in)

    def new_id(self, kind: str) -> str:
        self._counter += 1
        return str(uuid.uuid5(_NAMESPACE, f"{self.display_name}/{kind}/{self._counter}"))

    # -- directory ---------------------------------------------------------------------------------

    def add_user(self, name: str, *, enabled: bool = True) -> str:
        user_id = self.new_id("user")
        nickname = name.lower().replace(" ", ".")
        self.users[user_id] = {
            "id": user_id,
            "businessPhones": [],
            "displayName": name,
            "givenName": name.split(" ")[0],
            "jobTitle": None,
            "mail": f"{nickname}@{self.domain}",
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": "en-US",
            "surname": name.split(" ")[-1],
            "userPrincipalName": f"{nickname}@{self.domain}",
            "userType": "Member",
            "accountEnabled": enabled,
        }
        return user_id

    def add_group(self, name: str, members: Iterable[str] = (), *, role_assignable: bool = False) -> str:
        group_id = self.new_id("group")
        self.groups[group_id] = {
            "id": group_id,
            "createdDateTime": _CREATED,
            "description": f"{name} group",
            "displayName": name,
            "groupTypes": [],
            "isAssignableToRole": role_assignable,
            "mail": None,
            "mailEnabled": False,
            "mailNickname": name.lower().replace(" ", "-"),
            "securityEnabled": True,
            "visibility": None,
        }
        self.members[group_id] = list(members)
        return group_id

    def add_members(self, group_id: str, *member_ids: str) -> None:
        self.members[group_id].extend(member_ids)

    def delete(self, object_id: str) -> None:
        """Remove a user or group (its id stays wherever it was referenced: a dangling reviewer)."""
        self.users.pop(object_id, None)
        self.groups.pop(object_id, None)
        self.members.pop(object_id, None)

    def transitive_members(self, group_id: str) -> list[str]:
        seen: dict[str, None] = {}
        stack = list(reversed(self.members.get(group_id, [])))
        while stack:
            member = stack.pop()
            if member in seen:
                continue
            seen[member] = None
            stack.extend(reversed(self.members.get(member, [])))
        return list(seen)

    def directory_object(self, object_id: str) -> dict[str, Any] | None:
        """A user or group as a member list shows it (with its @odata.type)."""
        if object_id in self.users:
            return {"@odata.type": "#microsoft.graph.user", **self.users[object_id]}
        if object_id in self.groups:
            return {"@odata.type": "#microsoft.graph.group", **self.groups[object_id]}
        sp = self.service_principal(object_id)
        return {"@odata.type": "#microsoft.graph.servicePrincipal", **sp} if sp else None

    def assign_role(self, role_definition_id: str, principal_id: str, scope: str = "/") -> str:
        assignment_id = self.new_id("role-assignment")
        self.role_assignments.append(
            {
                "id": assignment_id,
                "principalId": principal_id,
                "roleDefinitionId": role_definition_id,
                "directoryScopeId": scope,
                "appScopeId": None,
            }
        )
        return assignment_id

    def make_eligible(self, role_definition_id: str, principal_id: str, scope: str = "/") -> str:
        """A PIM-eligible assignment of a role (unifiedRoleEligibilityScheduleInstance)."""
        instance_id = self.new_id("role-eligibility")
        self.role_eligibilities.append(
            {
                "id": instance_id,
                "principalId": principal_id,
                "roleDefinitionId": role_definition_id,
                "directoryScopeId": scope,
                "appScopeId": None,
                "startDateTime": _CREATED,
                "endDateTime": None,
                "memberType": "Direct",
                "roleEligibilityScheduleId": self.new_id("role-eligibility-schedule"),
            }
        )
        return instance_id

    def make_eligible_member(self, user_id: str, group_id: str) -> str:
        """PIM for Groups: the user may activate membership of the group."""
        instance_id = self.new_id("group-eligibility")
        self.group_eligibilities.append(
            {
                "id": instance_id,
                "accessId": "member",
                "principalId": user_id,
                "groupId": group_id,
                "memberType": "Direct",
                "startDateTime": _CREATED,
                "endDateTime": None,
                "eligibilityScheduleId": self.new_id("group-eligibility-schedule"),
            }
        )
        return instance_id

    def add_custom_role(self, name: str, *policy_ids: str, enabled: bool = True) -> str:
        """A custom role whose holders may grant consent for all users under the given policies."""
        role_id = self.new_id("role-definition")
        actions = [f"microsoft.directory/servicePrincipals/managePermissionGrantsForAll.{p}" for p in policy_ids]
        self.role_definitions.append(
            {
                "id": role_id,
                "description": f"{name} (custom role)",
                "displayName": name,
                "isBuiltIn": False,
                "isEnabled": enabled,
                "resourceScopes": ["/"],
                "templateId": role_id,
                "version": None,
                "rolePermissions": [{"allowedResourceActions": actions, "condition": None}],
            }
        )
        return role_id

    def add_policy(self, policy: dict[str, Any]) -> str:
        self.permission_grant_policies[policy["id"].lower()] = policy
        return policy["id"]

    def classify(self, *scopes: str, level: str = "low") -> None:
        """Classify Microsoft Graph scopes (delegatedPermissionClassifications)."""
        self.classifications += [classification(scope, level) for scope in scopes]

    # -- applications ------------------------------------------------------------------------------

    def add_service_principal(
        self,
        name: str,
        *,
        app_id: str | None = None,
        enabled: bool = True,
        assignment_required: bool = False,
        verified_publisher_id: str | None = None,
        scopes: Iterable[tuple[str, str]] = (),
        app_roles: Iterable[tuple[str, str]] = (),
        owner_tenant: str = "8f3c1d52-7a0e-4c43-9c0b-1b5e2f6a9d07",
    ) -> str:
        sp_id = self.new_id("service-principal")
        app_id = app_id or self.new_id("application")
        self.service_principals.append(
            {
                "id": sp_id,
                "deletedDateTime": None,
                "accountEnabled": enabled,
                "appDisplayName": name,
                "appId": app_id,
                "appOwnerOrganizationId": owner_tenant,
                "appRoleAssignmentRequired": assignment_required,
                "verifiedPublisher": {
                    "displayName": f"{name} Inc." if verified_publisher_id else None,
                    "verifiedPublisherId": verified_publisher_id,
                    "addedDateTime": _CREATED if verified_publisher_id else None,
                },
                "displayName": name,
                "servicePrincipalNames": [app_id],
                "servicePrincipalType": "Application",
                "signInAudience": "AzureADMultipleOrgs",
                "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
                "appRoles": [_app_role(i, v) for i, v in app_roles],
                "oauth2PermissionScopes": [_scope(i, v) for i, v in scopes],
            }
        )
        return sp_id

    def _well_known(self, app_id: str, name: str, scopes: list, roles: list) -> str:
        existing = next((sp for sp in self.service_principals if sp["appId"] == app_id), None)
        if existing:
            return existing["id"]
        return self.add_service_principal(
            name, app_id=app_id, scopes=scopes, app_roles=roles, owner_tenant="f8cdef31-a31e-4b4a-93e4-5f571e91255a"
        )

    def microsoft_graph(self) -> str:
        return self._well_known(MICROSOFT_GRAPH_APP_ID, "Microsoft Graph", _GRAPH_SCOPES, _GRAPH_ROLES)

    def exchange_online(self) -> str:
        return self._well_known(EXCHANGE_ONLINE_APP_ID, "Office 365 Exchange Online", _EXCHANGE_SCOPES, _EXCHANGE_ROLES)

    def service_principal(self, sp_id: str) -> dict[str, Any] | None:
        return next((sp for sp in self.service_principals if sp["id"] == sp_id), None)

    def grant_delegated(self, client: str, resource: str, scope: str, *, principal: str | None = None) -> str:
        grant_id = self.new_id("grant")
        self.oauth2_permission_grants.append(
            {
                "clientId": client,
                "consentType": "Principal" if principal else "AllPrincipals",
                "id": grant_id,
                "principalId": principal,
                "resourceId": resource,
                "scope": f" {scope} ",
            }
        )
        return grant_id

    def _assignment(self, principal_id: str, principal_type: str, resource: str, app_role_id: str) -> str:
        assignment_id = self.new_id("app-role-assignment")
        principal = self.directory_object(principal_id) or {}
        resource_sp = self.service_principal(resource) or {}
        self.app_role_assignments.append(
            {
                "id": assignment_id,
                "deletedDateTime": None,
                "appRoleId": app_role_id,
                "createdDateTime": _CREATED,
                "principalDisplayName": principal.get("displayName"),
                "principalId": principal_id,
                "principalType": principal_type,
                "resourceDisplayName": resource_sp.get("displayName"),
                "resourceId": resource,
            }
        )
        return assignment_id

    def grant_app_role(self, client: str, resource: str, value: str) -> str:
        """An application permission `value` of `resource`, held by the service principal `client`."""
        resource_sp = self.service_principal(resource) or {}
        role_id = next(r["id"] for r in resource_sp.get("appRoles", []) if r["value"] == value)
        return self._assignment(client, "ServicePrincipal", resource, role_id)

    def assign_to_app(self, app: str, principal_id: str) -> str:
        """A user or group assigned to the app (default access role)."""
        principal_type = "Group" if principal_id in self.groups else "User"
        return self._assignment(principal_id, principal_type, app, "00000000-0000-0000-0000-000000000000")

    # -- consent ---------------------------------------------------------------------------------

    def enable_admin_consent_workflow(
        self, *reviewer_queries: str, notify: bool = True, reminders: bool = True, duration_days: int = 30
    ) -> None:
        self.admin_consent_request_policy = {
            "isEnabled": True,
            "notifyReviewers": notify,
            "remindersEnabled": reminders,
            "requestDurationInDays": duration_days,
            "version": 2,
            "reviewers": [{"query": q, "queryType": "MicrosoftGraph", "queryRoot": None} for q in reviewer_queries],
        }

    def set_user_consent(self, *policies: str) -> None:
        """The permission grant policies users are assigned (LEGACY_USER_CONSENT, LOW_USER_CONSENT)."""
        assigned = self.authorization_policy["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"]
        assigned[:] = [p for p in assigned if not p.startswith("ManagePermissionGrantsForSelf.")] + list(policies)

    def add_consent_request(
        self, app_id: str, app_display_name: str, scopes: Iterable[str] = ("User.Read", "Calendars.ReadWrite")
    ) -> str:
        request_id = self.new_id("app-consent-request")
        self.consent_requests.append(
            {
                "id": request_id,
                "appDisplayName": app_display_name,
                "appId": app_id,
                "pendingScopes": [{"displayName": scope} for scope in scopes],
            }
        )
        self.user_consent_requests[request_id] = []
        return request_id

    def add_user_consent_request(
        self,
        consent_request_id: str,
        user_id: str,
        *,
        status: str = "InProgress",
        age: timedelta = timedelta(days=1),
        reason: str = "I need HD Meeting in my calendar",
    ) -> str:
        request_id = self.new_id("user-consent-request")
        created = datetime.now(timezone.utc) - age
        user = self.users.get(user_id, {})
        self.user_consent_requests[consent_request_id].append(
            {
                "id": request_id,
                "approvalId": request_id,
                "completedDateTime": None if status == "InProgress" else iso(created + timedelta(hours=2)),
                "createdBy": {
                    "user": {
                        "id": user_id,
                        "displayName": user.get("displayName"),
                        "userPrincipalName": user.get("userPrincipalName"),
                    }
                },
                "createdDateTime": iso(created),
                "customData": None,
                "reason": reason,
                "status": status,
            }
        )
        return request_id
