"""Facts derived from a snapshot and the pack's parameters, shared by checks and report tables.

Every fact reads its sources through `TenantFacts.read`, which raises `SourceUnavailable` when a
source was not read: the engine turns that into an `error` finding for the rule that needed it, so
a fact is either built from complete data or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import quote

from auditor.evaluate.cloud import HOSTS
from auditor.evaluate.rulepack import Parameters
from auditor.model.graph_objects import (
    EXCHANGE_ONLINE_APP_ID,
    MICROSOFT_GRAPH_APP_ID,
    GraphObject,
    name_key,
    object_id,
    objects,
    same_id,
    scopes,
    strings,
    text,
)
from auditor.model.snapshot import Snapshot, Source, empty_data

# Well-known app role ids, for when the resource's service principal is not in the snapshot.
_WELL_KNOWN_APP_ROLES = {"dc890d15-9560-4a4c-9b7f-a736ec74ec40": "full_access_as_app"}

T = TypeVar("T")

LEGACY_USER_CONSENT_POLICY = "managepermissiongrantsforself.microsoft-user-default-legacy"


class SourceUnavailable(Exception):
    """A rule needed a source that could not be read."""

    def __init__(self, name: str, source: Source) -> None:
        super().__init__(name)
        self.name = name
        self.source = source

    def describe(self) -> str:
        """`source: HTTP 403 Authorization_RequestDenied: …`, for reasons and messages."""
        error = self.source.error
        return f"{self.name}: {error.describe() if error else self.source.status.value}"


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
        self._derived: dict[str, Any] = {}

    def read(self, name: str) -> Any:
        source = self.snapshot.source(name)
        if not source.ok:
            raise SourceUnavailable(name, source)
        return self.snapshot.data(name)

    def read_partial(self, name: str) -> tuple[Any, SourceUnavailable | None]:
        """What was read of a source that several requests fill (e.g. role assignments of each role), and
        why the rest is missing: a source that failed keeps the complete answers of its other requests."""
        source = self.snapshot.source(name)
        if source.ok:
            return self.snapshot.data(name), None
        return (source.data if source.data is not None else empty_data(name)), SourceUnavailable(name, source)

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """A value derived from these facts by the evaluation layer, built once (e.g. the reviewers)."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    # -- admin consent workflow ---------------------------------------------------------------

    @cached_property
    def policy(self) -> GraphObject:
        return self.read("admin_consent_request_policy") or {}

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
        name = name_key(self.params.app_display_name)
        return [sp for sp in self.service_principals if name_key(text(sp, "displayName")) == name]

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
        prefix = name_key(self.params.app_display_name)
        candidate_ids = {object_id(sp) for sp in self.app_candidates}
        found = []
        for sp in self.service_principals:
            if object_id(sp) in candidate_ids:
                continue
            if text(sp, "appId").lower() in legacy_ids:
                found.append((sp, "legacy app id"))
            elif name_key(text(sp, "displayName")).startswith(prefix):
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

    # -- links --------------------------------------------------------------------------------

    @property
    def login_host(self) -> str:
        return HOSTS[self.snapshot.cloud].login

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


def _index(items: Iterable[GraphObject], key: str) -> dict[str, list[GraphObject]]:
    """Objects by a lower-cased id field, in source order; those without it match no id and are left out."""
    grouped: dict[str, list[GraphObject]] = {}
    for item in items:
        if value := text(item, key).lower():
            grouped.setdefault(value, []).append(item)
    return grouped


def _first(found: list[GraphObject] | None) -> GraphObject | None:
    return found[0] if found else None
