"""Permission grant policy evaluation (DESIGN §5 "Policy evaluation", contract).

A permission grant policy (Graph `permissionGrantPolicy`, read with its `includes` and `excludes`
condition sets through `GET /policies/permissionGrantPolicies/{id}/includes|excludes`) admits scope
S of resource R for client app A when one of its `includes` condition sets matches and none of its
`excludes` does. Entra ID uses the same evaluation for user consent
(`ManagePermissionGrantsForSelf.{policyId}`) and for custom roles that may grant consent for all
users (`managePermissionGrantsForAll.{policyId}`).

Facts about S and A may be unknown (a source not read, an app never consented); a condition that
needs an unknown fact is unknown, and the answer is unknown only when it could change it (Kleene
logic, `auditor.evaluate.logic`). A condition set without `permissionType`, or with a condition of
the wrong type, is malformed: `MalformedPolicy`, which the caller turns into `error`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.evaluate.logic import Tri, all_of, any_of

USER_CONSENT_PREFIX = "managepermissiongrantsforself."
ADMIN_CONSENT_ACTION_PREFIX = "microsoft.directory/serviceprincipals/managepermissiongrantsforall."
UNKNOWN = object()  # a classification that could not be read (request 18 failed)


class MalformedPolicy(ValueError):
    """A condition set Graph would never return: the policy cannot be evaluated."""


@dataclass(frozen=True)
class Scope:
    """One delegated permission S of resource R, with what the tenant says about it.

    `id`: the scope's id in R's `oauth2PermissionScopes` (None: not found or not read).
    `user_consentable`: its `type` is `User` (False for `Admin`, None when unknown).
    `classification`: `low`/`medium`/`high` from R's `delegatedPermissionClassifications`, None when
    unclassified, `UNKNOWN` when the classifications could not be read.
    """

    value: str
    resource_app_id: str
    id: str | None
    user_consentable: bool | None
    classification: object  # str | None | UNKNOWN


@dataclass(frozen=True)
class ClientApp:
    """The client app A (HD Meeting); None on a field means unknown."""

    app_id: str | None
    owner_tenant_id: str | None
    publisher_verified: bool | None
    verified_publisher_id: str | None


def admits(policy: Mapping[str, Any], scope: Scope, client: ClientApp) -> Tri:
    """Whether `policy` (an object with `includes` and `excludes` lists) admits `scope` for `client`."""
    included = any_of(matches(conditions, scope, client) for conditions in _condition_sets(policy, "includes"))
    if included is False:
        return False
    excluded = any_of(matches(conditions, scope, client) for conditions in _condition_sets(policy, "excludes"))
    return all_of([included, None if excluded is None else not excluded])


def admits_all(policy: Mapping[str, Any], scopes: Sequence[Scope], client: ClientApp) -> Tri:
    return all_of(admits(policy, scope, client) for scope in scopes)


def matches(conditions: Mapping[str, Any], scope: Scope, client: ClientApp) -> Tri:
    """Whether one `permissionGrantConditionSet` matches; absent conditions take Graph's defaults."""
    return all_of(
        [
            _permission_type(conditions, scope),
            _one_of(conditions, "resourceApplication", scope.resource_app_id, single=True),
            _one_of(conditions, "permissions", scope.id),
            _classification(conditions, scope),
            _one_of(conditions, "clientApplicationIds", client.app_id),
            _one_of(conditions, "clientApplicationTenantIds", client.owner_tenant_id),
            _one_of(conditions, "clientApplicationPublisherIds", client.verified_publisher_id),
            _only_if(conditions, "clientApplicationsFromVerifiedPublisherOnly", client.publisher_verified),
            # Certification is not visible to the tool: a certified-only set never matches.
            _only_if(conditions, "certifiedClientApplicationsOnly", False),
        ]
    )


def _condition_sets(policy: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = policy.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MalformedPolicy(f"'{key}' is not a list of condition sets")
    return value


def _permission_type(conditions: Mapping[str, Any], scope: Scope) -> Tri:
    kind = conditions.get("permissionType")
    if not isinstance(kind, str):
        raise MalformedPolicy(f"condition set {conditions.get('id')!r} has no permissionType")
    kind = kind.lower()
    if kind == "delegated":
        return True
    if kind == "delegateduserconsentable":
        return scope.user_consentable
    return False  # application permissions (app roles) are not what HD Meeting asks for


def _one_of(conditions: Mapping[str, Any], key: str, fact: str | None, *, single: bool = False) -> Tri:
    """`all` (Graph's default) matches anything; else the fact must be listed (case-insensitive ids)."""
    value = conditions.get(key)
    if value is None:
        return True
    listed = [value] if single and isinstance(value, str) else value
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
        raise MalformedPolicy(f"condition '{key}' is neither 'all' nor a list of ids")
    wanted = {item.lower() for item in listed}
    if wanted & {"all", "any"}:
        return True
    return None if fact is None else fact.lower() in wanted


def _classification(conditions: Mapping[str, Any], scope: Scope) -> Tri:
    value = conditions.get("permissionClassification")
    if value is None or (isinstance(value, str) and value.lower() == "all"):
        return True
    if not isinstance(value, str):
        raise MalformedPolicy("condition 'permissionClassification' is not a string")
    if scope.classification is UNKNOWN:
        return None
    # An unclassified scope matches only `all`.
    return isinstance(scope.classification, str) and scope.classification.lower() == value.lower()


def _only_if(conditions: Mapping[str, Any], key: str, fact: bool | None) -> Tri:
    """A boolean restriction: false or absent (Graph's default) matches; true needs the fact."""
    value = conditions.get(key)
    if value is None or value is False:
        return True
    if value is not True:
        raise MalformedPolicy(f"condition '{key}' is not a boolean")
    return fact


def user_consent_policy_ids(assigned: Iterable[object]) -> list[str]:
    """The policy ids of the `ManagePermissionGrantsForSelf.{policyId}` entries (case-insensitive prefix)."""
    return [entry[len(USER_CONSENT_PREFIX):] for entry in assigned
            if isinstance(entry, str) and entry.lower().startswith(USER_CONSENT_PREFIX)]


def admin_consent_policy_ids(role_definition: Mapping[str, Any]) -> list[str]:
    """The policy ids a role definition's `managePermissionGrantsForAll.{policyId}` actions name."""
    permissions = role_definition.get("rolePermissions")
    actions = [
        action
        for permission in (permissions if isinstance(permissions, list) else [])
        if isinstance(permission, dict)
        for action in permission.get("allowedResourceActions") or []
        if isinstance(action, str)
    ]
    return [action[len(ADMIN_CONSENT_ACTION_PREFIX):] for action in actions
            if action.lower().startswith(ADMIN_CONSENT_ACTION_PREFIX)]
