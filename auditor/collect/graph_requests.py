"""The Graph requests the collector may make (DESIGN §3, contract) — the only place URLs are built.

Ids taken from tenant data (principal ids, service principal ids, consent request ids) must be
GUIDs before they go into a path; reviewer queries are parsed, never fetched as given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from urllib.parse import quote

from auditor.evaluate.reviewer_query import is_guid

# Properties read for users and group members: accountEnabled is not among Graph's defaults.
USER_PROPERTIES = ("id", "displayName", "userPrincipalName", "mail", "userType", "accountEnabled")
USER_SELECT = ",".join(USER_PROPERTIES)
# The largest page Graph gives for directory objects (the default is 100): a list of 100 000 grants
# takes 101 round trips instead of 1 000.
MAX_PAGE = 999


class Kind(str, Enum):
    """What a request reads, with the snapshot source it feeds and whether Graph answers with a list."""

    ORGANIZATION = "organization"  # 1
    CONSENT_POLICY = "admin_consent_request_policy"  # 2
    AUTHORIZATION_POLICY = "authorization_policy"  # 3
    SP_BY_APP_ID = "sp_by_app_id"  # 4
    SP_BY_NAME = "sp_by_name"  # 5
    DELEGATED_GRANTS = "delegated_grants"  # 6
    APP_ROLE_ASSIGNMENTS = "app_role_assignments"  # 7
    APP_ROLE_ASSIGNED_TO = "app_role_assigned_to"  # 8
    USER = "user"  # 9
    GROUP = "group"  # 10
    GROUP_MEMBERS = "group_members"  # 10
    DIRECT_MEMBERS = "direct_members"  # 10
    ROLE_ASSIGNMENTS = "role_assignments"  # 11
    CONSENT_REQUESTS = "consent_requests"  # 13
    USER_CONSENT_REQUESTS = "user_consent_requests"  # 14
    ROLE_ELIGIBILITIES = "role_eligibilities"  # 15
    ROLE_DEFINITIONS = "role_definitions"  # 16
    POLICY_INCLUDES = "policy_includes"  # 17
    POLICY_EXCLUDES = "policy_excludes"  # 17
    PERMISSION_CLASSIFICATIONS = "permission_classifications"  # 18
    GROUP_ELIGIBILITIES = "group_eligibilities"  # 19

    @property
    def source(self) -> str:
        return _SOURCES.get(self, self.value)

    @property
    def is_list(self) -> bool:
        return self not in _SINGLE_OBJECTS


_SOURCES = {
    Kind.SP_BY_APP_ID: "service_principals",
    Kind.SP_BY_NAME: "service_principals",
    Kind.USER: "users",
    Kind.GROUP: "groups",
    Kind.DIRECT_MEMBERS: "group_members",
    Kind.USER_CONSENT_REQUESTS: "consent_requests",
    Kind.POLICY_INCLUDES: "permission_grant_policies",
    Kind.POLICY_EXCLUDES: "permission_grant_policies",
}
_SINGLE_OBJECTS = frozenset({Kind.CONSENT_POLICY, Kind.AUTHORIZATION_POLICY, Kind.USER, Kind.GROUP})


@dataclass(frozen=True)
class GraphRequest:
    kind: Kind
    url: str  # relative to the Graph base URL
    key: str = ""  # the id or name the request is about
    beta: bool = False  # sent to the /beta version of the base URL (request 17 only)


def _filter(expression: str) -> str:
    return "$filter=" + quote(expression, safe="'(),:/")


def _literal(value: str) -> str:
    """An OData string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _guid(value: str) -> str:
    if not is_guid(value):
        raise ValueError(f"not a GUID: {value!r}")
    return value.lower()


def organization() -> GraphRequest:
    return GraphRequest(Kind.ORGANIZATION, "/organization")


def admin_consent_request_policy() -> GraphRequest:
    return GraphRequest(Kind.CONSENT_POLICY, "/policies/adminConsentRequestPolicy")


def authorization_policy() -> GraphRequest:
    return GraphRequest(Kind.AUTHORIZATION_POLICY, "/policies/authorizationPolicy")


def service_principals_by_app_id(app_id: str) -> GraphRequest:
    app_id = _guid(app_id)
    return GraphRequest(Kind.SP_BY_APP_ID, f"/servicePrincipals?{_filter(f'appId eq {_literal(app_id)}')}", app_id)


def service_principals_by_name(prefix: str) -> GraphRequest:
    expression = f"startswith(displayName,{_literal(prefix)})"
    return GraphRequest(Kind.SP_BY_NAME, f"/servicePrincipals?{_filter(expression)}&$top={MAX_PAGE}", prefix)


_SP_LISTS = {
    Kind.DELEGATED_GRANTS: "oauth2PermissionGrants",
    Kind.APP_ROLE_ASSIGNMENTS: "appRoleAssignments",
    Kind.APP_ROLE_ASSIGNED_TO: "appRoleAssignedTo",
}


def service_principal_lists(sp_id: str) -> list[GraphRequest]:
    """Requests 6, 7 and 8 of one service principal."""
    sp_id = _guid(sp_id)
    return [
        GraphRequest(kind, f"/servicePrincipals/{sp_id}/{segment}?$top={MAX_PAGE}", sp_id)
        for kind, segment in _SP_LISTS.items()
    ]


def user(user_id: str) -> GraphRequest:
    user_id = _guid(user_id)
    return GraphRequest(Kind.USER, f"/users/{user_id}?$select={USER_SELECT}", user_id)


def group(group_id: str) -> GraphRequest:
    group_id = _guid(group_id)
    return GraphRequest(Kind.GROUP, f"/groups/{group_id}", group_id)


def group_members(group_id: str, transitive: bool = True) -> GraphRequest:
    """Members, uncast so that each keeps its `@odata.type` (users and nested groups)."""
    group_id = _guid(group_id)
    kind, segment = (Kind.GROUP_MEMBERS, "transitiveMembers") if transitive else (Kind.DIRECT_MEMBERS, "members")
    return GraphRequest(kind, f"/groups/{group_id}/{segment}?$select={USER_SELECT}&$top={MAX_PAGE}", group_id)


def _role_holders(kind: Kind, path: str, role_definition_id: str) -> GraphRequest:
    role_id = _guid(role_definition_id)
    url = f"{path}?{_filter(f'roleDefinitionId eq {_literal(role_id)}')}&$expand=principal"
    return GraphRequest(kind, url, role_id)


def role_assignments(role_definition_id: str) -> GraphRequest:
    """Active holders of a role (request 11), each with its principal expanded (tells user from group
    in one round)."""
    return _role_holders(Kind.ROLE_ASSIGNMENTS, "/roleManagement/directory/roleAssignments", role_definition_id)


def role_eligibilities(role_definition_id: str) -> GraphRequest:
    """PIM-eligible holders of a role (request 15), principals expanded."""
    path = "/roleManagement/directory/roleEligibilityScheduleInstances"
    return _role_holders(Kind.ROLE_ELIGIBILITIES, path, role_definition_id)


def custom_role_definitions() -> GraphRequest:
    """The tenant's custom directory roles (request 16)."""
    url = f"/roleManagement/directory/roleDefinitions?{_filter('isBuiltIn eq false')}"
    return GraphRequest(Kind.ROLE_DEFINITIONS, url)


# Permission grant policy ids are not GUIDs (e.g. microsoft-user-default-low): letters, digits, . _ -
_POLICY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def is_policy_id(value: object) -> bool:
    return isinstance(value, str) and bool(_POLICY_ID.match(value))


def permission_grant_policy(policy_id: str, *, beta: bool) -> list[GraphRequest]:
    """The `includes` and `excludes` condition sets of a permission grant policy (request 17); from
    /beta when `beta`, since v1.0 does not return `certifiedClientApplicationsOnly`."""
    if not is_policy_id(policy_id):
        raise ValueError(f"not a permission grant policy id: {policy_id!r}")
    key = policy_id.lower()
    base = f"/policies/permissionGrantPolicies/{quote(policy_id, safe='')}"
    return [GraphRequest(Kind.POLICY_INCLUDES, f"{base}/includes", key, beta),
            GraphRequest(Kind.POLICY_EXCLUDES, f"{base}/excludes", key, beta)]


def permission_classifications(sp_id: str) -> GraphRequest:
    """The delegated permission classifications of a resource's service principal (request 18)."""
    sp_id = _guid(sp_id)
    url = f"/servicePrincipals/{sp_id}/delegatedPermissionClassifications"
    return GraphRequest(Kind.PERMISSION_CLASSIFICATIONS, url, sp_id)


def group_eligibilities(group_id: str) -> GraphRequest:
    """Users PIM-eligible for membership (or ownership) of a group (request 19)."""
    group_id = _guid(group_id)
    expression = _filter(f"groupId eq {_literal(group_id)}")
    url = f"/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances?{expression}"
    return GraphRequest(Kind.GROUP_ELIGIBILITIES, url, group_id)


def consent_requests() -> GraphRequest:
    return GraphRequest(Kind.CONSENT_REQUESTS, "/identityGovernance/appConsent/appConsentRequests")


def user_consent_requests(request_id: str) -> GraphRequest:
    request_id = _guid(request_id)
    url = f"/identityGovernance/appConsent/appConsentRequests/{request_id}/userConsentRequests"
    return GraphRequest(Kind.USER_CONSENT_REQUESTS, url, request_id)


@lru_cache(maxsize=16)
def first_round(
    app_ids: tuple[str | None, ...], name: str | None, role_ids: tuple[str, ...]
) -> tuple[GraphRequest, ...]:
    """Round 1's requests: the service principals of `app_ids` and by `name`, the active and eligible holders
    of `role_ids`, and what needs no id; built once per rule pack rather than once per tenant."""
    return (
        organization(),
        admin_consent_request_policy(),
        authorization_policy(),
        *(service_principals_by_app_id(app_id) for app_id in dict.fromkeys(a.lower() for a in app_ids if a)),
        *([service_principals_by_name(name)] if name else []),
        *(role_assignments(role_id) for role_id in role_ids),
        *(role_eligibilities(role_id) for role_id in role_ids),
        custom_role_definitions(),
        consent_requests(),
    )
