"""Facts derived from a snapshot and the pack's parameters, shared by checks and report tables.

Every fact reads its sources through `TenantFacts.read`, which raises `SourceUnavailable` when a
source was not read: the engine turns that into an `error` finding for the rule that needed it, so
a fact is either built from complete data or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlsplit

from auditor.graph_objects import (
    EXCHANGE_ONLINE_APP_ID,
    MICROSOFT_GRAPH_APP_ID,
    GraphObject,
    flag,
    is_user,
    object_id,
    objects,
    same_id,
    scopes,
    strings,
    text,
    timestamp,
    user_label,
)
from auditor.reviewer_query import ReviewerKind, parse_reviewer_query
from auditor.rulepack import Parameters
from auditor.snapshot import Snapshot, Source

# Graph host → sign-in host, for the admin consent link of the tenant's cloud.
_LOGIN_HOSTS = {
    "graph.microsoft.com": "login.microsoftonline.com",
    "graph.microsoft.us": "login.microsoftonline.us",
    "dod-graph.microsoft.us": "login.microsoftonline.us",
    "microsoftgraph.chinacloudapi.cn": "login.chinacloudapi.cn",
}

# Well-known app role ids, for when the resource's service principal is not in the snapshot.
_WELL_KNOWN_APP_ROLES = {"dc890d15-9560-4a4c-9b7f-a736ec74ec40": "full_access_as_app"}

LEGACY_USER_CONSENT_POLICY = "managepermissiongrantsforself.microsoft-user-default-legacy"


class SourceUnavailable(Exception):
    """A rule needed a source that could not be read."""

    def __init__(self, name: str, source: Source) -> None:
        super().__init__(name)
        self.name = name
        self.source = source


@dataclass(frozen=True)
class ResolvedReviewer:
    query: str
    kind: ReviewerKind
    target_id: str | None
    principal: str | None  # display name of the user, group or role
    reason: str  # why it cannot act; "" when it resolves
    enabled_users: list[GraphObject] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class PendingRequest:
    app: GraphObject  # the appConsentRequest
    request: GraphObject  # one of its userConsentRequests
    created: datetime | None
    age_days: float | None


class TenantFacts:
    """Lazily derived facts about one snapshot under one rule pack's parameters.

    Lookups by id go through indexes built once per snapshot, so that a tenant with 100 000 grants
    or 20 000 reviewers costs linear time, not a scan of a source per object.
    """

    def __init__(self, snapshot: Snapshot, params: Parameters, app_id: str | None = None) -> None:
        self.snapshot = snapshot
        self.params = params
        self.given_app_id = (app_id or next(iter(params.app_ids), None) or snapshot.target.app_id or None)
        self.consent_role_ids = {role.id.lower() for role in params.consent_capable_roles}
        self.role_names = {role.id.lower(): role.name for role in params.consent_capable_roles}
        self._enabled_members: dict[str, list[GraphObject]] = {}

    def read(self, name: str) -> Any:
        source = self.snapshot.source(name)
        if not source.ok:
            raise SourceUnavailable(name, source)
        return self.snapshot.data(name)

    # -- admin consent workflow ---------------------------------------------------------------

    @cached_property
    def policy(self) -> GraphObject:
        return self.read("admin_consent_request_policy") or {}

    @cached_property
    def reviewers(self) -> list[ResolvedReviewer]:
        return [self._resolve(reviewer) for reviewer in objects(self.policy, "reviewers")]

    def _resolve(self, reviewer: GraphObject) -> ResolvedReviewer:
        query_text = text(reviewer, "query")
        query = parse_reviewer_query(reviewer.get("query"))
        if query.kind is ReviewerKind.UNKNOWN or not query.id:
            return ResolvedReviewer(query_text, query.kind, None, None, "query form not recognised")
        if query.kind is ReviewerKind.USER:
            return self._resolve_user(query_text, query.id)
        if query.kind is ReviewerKind.GROUP:
            return self._resolve_group(query_text, query.id)
        return self._resolve_role(query_text, query.id)

    def _resolve_user(self, query: str, user_id: str) -> ResolvedReviewer:
        users = self.read("users")
        if user_id not in users:
            return ResolvedReviewer(query, ReviewerKind.USER, user_id, None, "user was not collected")
        user = users[user_id]
        if user is None:
            return ResolvedReviewer(query, ReviewerKind.USER, user_id, None, "user not found (deleted?)")
        label = user_label(user)
        if flag(user, "accountEnabled") is not True:
            return ResolvedReviewer(query, ReviewerKind.USER, user_id, label, "user is disabled")
        return ResolvedReviewer(query, ReviewerKind.USER, user_id, label, "", [user])

    def _resolve_group(self, query: str, group_id: str) -> ResolvedReviewer:
        groups = self.read("groups")
        if group_id not in groups:
            return ResolvedReviewer(query, ReviewerKind.GROUP, group_id, None, "group was not collected")
        group = groups[group_id]
        if group is None:
            return ResolvedReviewer(query, ReviewerKind.GROUP, group_id, None, "group not found (deleted?)")
        label = text(group, "displayName") or group_id
        enabled = self.enabled_group_users(group_id)
        reason = "" if enabled else "group has no enabled user member"
        return ResolvedReviewer(query, ReviewerKind.GROUP, group_id, label, reason, enabled)

    def _resolve_role(self, query: str, role_id: str) -> ResolvedReviewer:
        label = self.role_names.get(role_id, role_id)
        holders = [a for a in self.read("role_assignments") if same_id(text(a, "roleDefinitionId"), role_id)]
        enabled = _unique(user for a in holders for user in self.enabled_users_of(text(a, "principalId")))
        reason = "" if enabled else "no active assignment of the role to an enabled user"
        return ResolvedReviewer(query, ReviewerKind.ROLE, role_id, label, reason, enabled)

    def enabled_group_users(self, group_id: str) -> list[GraphObject]:
        key = group_id.lower()
        if key not in self._enabled_members:
            self._enabled_members[key] = self._enabled_members_of(key)
        return self._enabled_members[key]

    def _enabled_members_of(self, group_id: str) -> list[GraphObject]:
        members = self.read("group_members").get(group_id, [])
        users = self.read("users")
        enabled = []
        for member in members:
            if not is_user(member):
                continue
            # Members may come without accountEnabled; the user object, when collected, decides.
            state = flag(member, "accountEnabled")
            if state is None:
                state = flag(users.get(object_id(member)), "accountEnabled")
            if state is True:
                enabled.append(member)
        return enabled

    def enabled_users_of(self, principal_id: str) -> list[GraphObject]:
        """The enabled users a principal stands for: itself if a user, its members if a group."""
        principal_id = principal_id.lower()
        user = self.read("users").get(principal_id)
        if user is not None:
            return [user] if flag(user, "accountEnabled") is True else []
        if self.read("groups").get(principal_id) is not None:
            return self.enabled_group_users(principal_id)
        return []

    def consent_roles_of(self, user: GraphObject) -> list[str]:
        """Names of the consent-capable roles a user holds actively and tenant-wide ("/")."""
        return sorted(self._consent_roles_by_user.get(object_id(user), ()))

    @cached_property
    def _consent_roles_by_user(self) -> dict[str, set[str]]:
        held: dict[str, set[str]] = {}
        for assignment in self.read("role_assignments"):
            role_id = text(assignment, "roleDefinitionId").lower()
            if role_id not in self.consent_role_ids or text(assignment, "directoryScopeId") != "/":
                continue
            for holder in self.enabled_users_of(text(assignment, "principalId")):
                held.setdefault(object_id(holder), set()).add(self.role_names[role_id])
        return held

    # -- user consent -------------------------------------------------------------------------

    @cached_property
    def user_consent_policies(self) -> list[str]:
        policy = self.read("authorization_policy") or {}
        defaults = policy.get("defaultUserRolePermissions")
        return strings(defaults if isinstance(defaults, dict) else None, "permissionGrantPoliciesAssigned")

    # -- the app and its service principal ----------------------------------------------------

    @cached_property
    def service_principals(self) -> list[GraphObject]:
        return self.read("service_principals")

    def sp_by_app_id(self, app_id: str) -> GraphObject | None:
        return _first(self._sps_by_app_id.get(app_id.lower()))

    def sp_by_id(self, sp_id: str) -> GraphObject | None:
        return _first(self._sps_by_id.get(sp_id.lower()))

    @cached_property
    def _sps_by_app_id(self) -> dict[str, list[GraphObject]]:
        return _index(self.service_principals, "appId")

    @cached_property
    def _sps_by_id(self) -> dict[str, list[GraphObject]]:
        return _index(self.service_principals, "id")

    @cached_property
    def app_candidates(self) -> list[GraphObject]:
        """The app's service principal(s): by app id when known, else by exact display name."""
        if self.given_app_id:
            found = self.sp_by_app_id(self.given_app_id)
            return [found] if found else []
        name = self.params.app_display_name.casefold()
        return [sp for sp in self.service_principals if text(sp, "displayName").casefold() == name]

    @property
    def app(self) -> GraphObject | None:
        """The app's service principal when exactly one was found."""
        return self.app_candidates[0] if len(self.app_candidates) == 1 else None

    @property
    def app_id(self) -> str | None:
        return self.given_app_id or (text(self.app, "appId") or None if self.app else None)

    @cached_property
    def leftovers(self) -> list[tuple[GraphObject, str]]:
        """Service principals left from the old integration or named like the app, with why."""
        legacy_ids = {app_id.lower() for app_id in self.params.legacy_app_ids}
        prefix = self.params.app_display_name.casefold()
        candidate_ids = {object_id(sp) for sp in self.app_candidates}
        found = []
        for sp in self.service_principals:
            if object_id(sp) in candidate_ids:
                continue
            if text(sp, "appId").lower() in legacy_ids:
                found.append((sp, "legacy app id"))
            elif text(sp, "displayName").casefold().startswith(prefix):
                found.append((sp, f"name starts with '{self.params.app_display_name}'"))
        return found

    # -- grants and permissions ---------------------------------------------------------------

    def delegated_grants_of(self, sp: GraphObject) -> list[GraphObject]:
        return list(self._grants_by_client.get(object_id(sp), ()))

    def app_role_assignments_of(self, sp: GraphObject) -> list[GraphObject]:
        return list(self._assignments_by_holder.get(object_id(sp), ()))

    def assignments_to(self, sp: GraphObject) -> list[GraphObject]:
        return list(self._assignments_by_resource.get(object_id(sp), ()))

    @cached_property
    def _grants_by_client(self) -> dict[str, list[GraphObject]]:
        return _index(self.read("delegated_grants"), "clientId")

    @cached_property
    def _assignments_by_holder(self) -> dict[str, list[GraphObject]]:
        return _index(self.read("app_role_assignments"), "principalId")

    @cached_property
    def _assignments_by_resource(self) -> dict[str, list[GraphObject]]:
        return _index(self.read("app_role_assigned_to"), "resourceId")

    @cached_property
    def graph_sp(self) -> GraphObject | None:
        return self.sp_by_app_id(MICROSOFT_GRAPH_APP_ID)

    @cached_property
    def exchange_sp(self) -> GraphObject | None:
        return self.sp_by_app_id(EXCHANGE_ONLINE_APP_ID)

    def is_graph(self, resource_id: str) -> bool:
        return self.graph_sp is not None and same_id(resource_id, text(self.graph_sp, "id"))

    def resource_name(self, resource_id: str) -> str:
        resource = self.sp_by_id(resource_id)
        return text(resource, "displayName") or resource_id if resource else resource_id

    def app_role_name(self, assignment: GraphObject) -> str:
        """The permission (app role value) an assignment grants, else its id."""
        role_id = text(assignment, "appRoleId").lower()
        resource = self.sp_by_id(text(assignment, "resourceId"))
        for role in objects(resource, "appRoles"):
            if object_id(role) == role_id and text(role, "value"):
                return text(role, "value")
        return _WELL_KNOWN_APP_ROLES.get(role_id, role_id)

    def legacy_permissions_of(self, sp: GraphObject) -> list[str]:
        """The legacy Exchange permissions (EWS delegated, full_access_as_app) an SP holds."""
        legacy = self.params.legacy_exchange_permissions
        delegated = {scope.lower() for scope in legacy.delegated}
        application = {perm.lower() for perm in legacy.application}
        held = [
            f"{scope} (delegated, {self.resource_name(text(grant, 'resourceId'))})"
            for grant in self.delegated_grants_of(sp)
            for scope in scopes(grant)
            if scope.lower() in delegated
        ]
        held += [
            f"{name} (application, {self.resource_name(text(assignment, 'resourceId'))})"
            for assignment in self.app_role_assignments_of(sp)
            if (name := self.app_role_name(assignment)).lower() in application
        ]
        return held

    # -- consent requests ---------------------------------------------------------------------

    @cached_property
    def app_consent_requests(self) -> list[GraphObject]:
        requests = self.read("consent_requests")
        if self.given_app_id:
            app_id: str | None = self.given_app_id
        else:
            self.read("service_principals")  # the app id comes from the SP: it must have been read
            app_id = self.app_id
        if app_id:
            return [r for r in requests if same_id(text(r, "appId"), app_id)]
        name = self.params.app_display_name.casefold()
        return [r for r in requests if text(r, "appDisplayName").casefold() == name]

    def user_requests(self, app_requests: Iterable[GraphObject]) -> list[PendingRequest]:
        collected_at = self.snapshot.collected_at
        rows = []
        for app_request in app_requests:
            for request in objects(app_request, "userConsentRequests"):
                created = timestamp(request, "createdDateTime")
                age = (collected_at - created).total_seconds() / 86400 if created else None
                rows.append(PendingRequest(app_request, request, created, age))
        return rows

    # -- links --------------------------------------------------------------------------------

    @property
    def login_host(self) -> str:
        host = (urlsplit(self.snapshot.graph_url).hostname or "").lower()
        return _LOGIN_HOSTS.get(host, "login.microsoftonline.com")

    @property
    def admin_consent_url(self) -> str | None:
        """The one-click tenant-wide admin consent link, when the app id is known."""
        try:
            app_id = self.app_id
        except SourceUnavailable:  # no app id given, and the service principals could not be read
            return None
        if not app_id:
            return None
        tenant = quote(self.snapshot.tenant.id, safe="")
        return f"https://{self.login_host}/{tenant}/adminconsent?client_id={quote(app_id, safe='')}"


def requester_label(request: GraphObject) -> str:
    created_by = request.get("createdBy")
    user = created_by.get("user") if isinstance(created_by, dict) else None
    return user_label(user) if isinstance(user, dict) else ""


def _index(items: Iterable[GraphObject], key: str) -> dict[str, list[GraphObject]]:
    """Objects by a lower-cased id field, in source order; those without it match no id and are left out."""
    grouped: dict[str, list[GraphObject]] = {}
    for item in items:
        if value := text(item, key).lower():
            grouped.setdefault(value, []).append(item)
    return grouped


def _first(found: list[GraphObject] | None) -> GraphObject | None:
    return found[0] if found else None


def _unique(users: Iterable[GraphObject]) -> list[GraphObject]:
    seen: dict[str, GraphObject] = {}
    for user in users:
        seen.setdefault(object_id(user), user)
    return list(seen.values())
