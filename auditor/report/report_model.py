"""What the renderers receive: the result plus the tenant tables and collection facts behind it.

The result (`result.json`) is the contract; the tables are the detail a consultant's workbook and
the HTML report show beside the findings (every granted scope, every reviewer, every request).
All strings in here may come from the tenant and are untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.history.drift import Drift
from auditor.model.result import Result


@dataclass(frozen=True, slots=True)
class GrantRow:
    """One delegated scope granted to the app tenant-wide, or to a leftover (one row per scope)."""

    client: str  # display name of the app holding the grant
    client_id: str  # its service principal id
    consent_type: str  # "AllPrincipals" (tenant-wide) or "Principal" (one user)
    principal_id: str | None  # the user, for "Principal" grants
    resource: str  # display name of the resource API, e.g. "Microsoft Graph"
    resource_id: str
    scope: str
    allowed: bool  # within the pack's allowed scopes (Graph) — False also for any other resource


@dataclass(frozen=True, slots=True)
class PerUserGrantRow:
    """One user's own consent to the app (a "Principal" grant): one row per grant, its scopes together."""

    client: str  # display name of the app holding the grant
    principal_id: str  # the user
    resource: str  # display name of the resource API
    scopes: list[str]
    outside_allowed: list[str]  # the scopes not among the pack's allowed Graph scopes (all, on another API)


@dataclass(frozen=True, slots=True)
class AppPermissionRow:
    """One application permission (app role assignment) held by the app or a leftover."""

    client: str
    client_id: str
    resource: str
    resource_id: str
    app_role_id: str
    permission: str  # the app role's value when known, else its id
    created: str | None


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    query: str
    kind: str  # user | group | role | unknown
    target_id: str | None
    principal: str | None  # display name of the user / group / role
    resolved: bool
    reason: str  # why not resolved, or "" when resolved
    enabled_users: list[str]  # display names (UPN) of the enabled users behind the reviewer
    consent_capable_users: list[str]  # of those, the ones holding a tenant-wide consent-capable role
    consent_capable_roles: list[str]  # names of those roles


@dataclass(frozen=True, slots=True)
class ConsentRequestRow:
    app: str
    app_id: str
    requester: str  # UPN or display name of the user who asked
    created: str | None  # ISO 8601
    age_days: float | None  # at collected_at
    status: str  # InProgress, Completed, Expired, ...
    reason: str
    overdue: bool  # InProgress and older than the pack's max age


@dataclass(frozen=True, slots=True)
class LeftoverRow:
    display_name: str
    app_id: str
    service_principal_id: str
    enabled: bool | None
    why: str  # "legacy app id" or "name starts with 'HD Meeting'"


@dataclass(frozen=True, slots=True)
class SourceRow:
    """How one Graph source fared during collection."""

    source: str
    status: str  # ok | forbidden | error
    error: str  # Graph error code and message, "" when ok
    permission: str  # the Graph permission that reads it (what to grant when forbidden)


@dataclass(frozen=True)
class ReportTables:
    grants: list[GrantRow] = field(default_factory=list)
    per_user_grants: list[PerUserGrantRow] = field(default_factory=list)  # the app's, not the leftovers'
    app_permissions: list[AppPermissionRow] = field(default_factory=list)
    reviewers: list[ReviewerRow] = field(default_factory=list)
    consent_requests: list[ConsentRequestRow] = field(default_factory=list)
    leftovers: list[LeftoverRow] = field(default_factory=list)
    sources: list[SourceRow] = field(default_factory=list)


@dataclass(frozen=True)
class ReportContext:
    result: Result
    tables: ReportTables
    graph_url: str
    admin_consent_url: str | None  # one-click tenant-wide consent link, when the app id is known
    title: str = "HD Meeting readiness report"
    prepared_by: str | None = None
    drift: Drift | None = None  # changes since the tenant's previous scan (`scan --history`), if any
