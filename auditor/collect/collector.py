"""What to read from a tenant, in which order, and how the answers fill the snapshot's sources.

Reading goes in rounds; each round holds every request whose inputs are known, so a typical
tenant takes three round trips:

1. organization, both policies, the service principals (the app by id and by name prefix,
   Microsoft Graph, Exchange Online, legacy app ids), the holders of the consent-capable roles,
   and the consent requests;
2. what those name: grants and assignments of each candidate or leftover service principal,
   the reviewers (users, groups and their members, holders of reviewer roles), the principals
   of the role assignments, and the user consent requests of the app's consent requests;
3. the principals of reviewer roles, and role-holding groups with their members (a principal
   is looked up as a user first; on 404, as a group).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.collect import graph_requests as req
from auditor.collect.batch import BatchRunner, Outcome
from auditor.collect.graph_requests import GraphRequest, Kind
from auditor.collect.progress import CollectionProgress
from auditor.graph_objects import name_key
from auditor.reviewer_query import ReviewerKind, is_guid, parse_reviewer_query
from auditor.snapshot import SOURCE_NAMES, CollectionTarget, GraphError, Source, SourceStatus, Tenant

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"

# Sources read per service principal found: unknown when the service principals are unknown.
_PER_SERVICE_PRINCIPAL = ("delegated_grants", "app_role_assignments", "app_role_assigned_to")
_SP_KINDS = (Kind.SP_BY_APP_ID, Kind.SP_BY_NAME)


class TenantCollector:
    def __init__(
        self,
        runner: BatchRunner,
        target: CollectionTarget,
        consent_capable_role_ids: Sequence[str],
        progress: CollectionProgress,
    ) -> None:
        self._runner = runner
        self._target = target
        self._role_ids = [role_id.lower() for role_id in consent_capable_role_ids]
        self._progress = progress
        self._app_ids = {app_id.lower() for app_id in [target.app_id or "", *target.legacy_app_ids] if app_id}
        self._requested: set[GraphRequest] = set()
        self._principals: set[str] = set()  # role assignment principals: a user, else a group
        self._failures: dict[str, Source] = {}
        self._objects: dict[str, Any] = {}  # organization and the policies
        self._service_principals: dict[str, dict[str, Any]] = {}
        self._per_sp: dict[str, list[Any]] = {name: [] for name in _PER_SERVICE_PRINCIPAL}
        self._users: dict[str, Any] = {}
        self._groups: dict[str, Any] = {}
        self._members: dict[str, list[Any]] = {}
        self._direct_members: dict[str, list[Any]] = {}
        self._role_assignments: dict[str, Any] = {}
        self._consent_requests: dict[str, dict[str, Any]] = {}

    async def collect(self) -> dict[str, Source]:
        pending = self._new(self._first_round())
        number = 0
        while pending:
            number += 1
            self._progress.round(number, ", ".join(dict.fromkeys(r.kind.source.replace("_", " ") for r in pending)))
            outcomes = await self._runner.run(pending)
            # Service principals first: the consent requests worth reading depend on them.
            ordered = sorted(outcomes.items(), key=lambda pair: pair[0].kind not in _SP_KINDS)
            pending = self._new([follow for request, outcome in ordered for follow in self._absorb(request, outcome)])
        return self._sources()

    def tenant(self, fallback_id: str | None) -> Tenant:
        organizations = self._objects.get("organization") or [{}]
        first = organizations[0] if isinstance(organizations[0], dict) else {}
        tenant_id = str(first.get("id") or fallback_id or "unknown")
        return Tenant(id=tenant_id, display_name=str(first.get("displayName") or ""))

    def _first_round(self) -> list[GraphRequest]:
        app_ids = [self._target.app_id, MICROSOFT_GRAPH_APP_ID, EXCHANGE_ONLINE_APP_ID, *self._target.legacy_app_ids]
        return [
            req.organization(),
            req.admin_consent_request_policy(),
            req.authorization_policy(),
            *(req.service_principals_by_app_id(app_id) for app_id in dict.fromkeys(a.lower() for a in app_ids if a)),
            *([req.service_principals_by_name(self._target.app_display_name)] if self._target.app_display_name else []),
            *(req.role_assignments(role_id) for role_id in self._role_ids),
            req.consent_requests(),
        ]

    def _new(self, requests: list[GraphRequest]) -> list[GraphRequest]:
        fresh = [r for r in dict.fromkeys(requests) if r not in self._requested]
        self._requested.update(fresh)
        return fresh

    # -- answers -------------------------------------------------------------------------------

    def _absorb(self, request: GraphRequest, outcome: Outcome) -> list[GraphRequest]:
        """Store one request's outcome; the requests it leads to."""
        if outcome.error is not None:
            return self._absorb_error(request, outcome.error)
        value = outcome.value
        kind, key = request.kind, request.key
        if kind in (Kind.ORGANIZATION, Kind.AUTHORIZATION_POLICY):
            self._objects[kind.source] = value
        elif kind is Kind.CONSENT_POLICY:
            self._objects[kind.source] = value
            return self._reviewer_requests(value)
        elif kind in _SP_KINDS:
            return self._absorb_service_principals(request, value)
        elif kind.source in self._per_sp:
            self._per_sp[kind.source].extend(value)
        elif kind is Kind.USER:
            self._users[key] = value
        elif kind is Kind.GROUP:
            self._groups[key] = value
        elif kind is Kind.GROUP_MEMBERS:
            self._members[key] = value
        elif kind is Kind.DIRECT_MEMBERS:
            self._direct_members[key] = value
        elif kind is Kind.ROLE_ASSIGNMENTS:
            return self._absorb_role_assignments(value)
        elif kind is Kind.CONSENT_REQUESTS:
            return self._absorb_consent_requests(value)
        elif kind is Kind.USER_CONSENT_REQUESTS:
            self._consent_requests[key]["userConsentRequests"] = value
        return []

    def _absorb_error(self, request: GraphRequest, error: GraphError) -> list[GraphRequest]:
        kind, key = request.kind, request.key
        if error.http_status == 404 and kind in (Kind.USER, Kind.GROUP, Kind.GROUP_MEMBERS, Kind.DIRECT_MEMBERS):
            # A deleted reviewer, or a principal that is no user: recorded as null, not as a failure.
            if kind is Kind.USER:
                self._users[key] = None
                if key in self._principals:
                    return [req.group(key), req.group_members(key)]
            elif kind is Kind.GROUP:
                self._groups[key] = None
            return []
        status = SourceStatus.FORBIDDEN if error.http_status == 403 else SourceStatus.ERROR
        self._failures.setdefault(kind.source, Source(status=status, error=error))
        return []

    def _reviewer_requests(self, policy: Any) -> list[GraphRequest]:
        reviewers = policy.get("reviewers") if isinstance(policy, dict) else None
        follow: list[GraphRequest] = []
        for reviewer in reviewers or []:
            query = parse_reviewer_query(reviewer.get("query") if isinstance(reviewer, dict) else None)
            if query.id is None:
                continue  # unknown form: the engine reports it as unresolvable
            if query.kind is ReviewerKind.USER:
                follow.append(req.user(query.id))
            elif query.kind is ReviewerKind.GROUP:
                follow += [req.group(query.id), req.group_members(query.id, transitive=query.transitive)]
            elif query.kind is ReviewerKind.ROLE:
                follow.append(req.role_assignments(query.id))
        return follow

    def _absorb_service_principals(self, request: GraphRequest, found: list[Any]) -> list[GraphRequest]:
        resource_only = request.kind is Kind.SP_BY_APP_ID and request.key not in self._app_ids
        follow: list[GraphRequest] = []
        for sp in found:
            sp_id = sp.get("id") if isinstance(sp, dict) else None
            if not is_guid(sp_id):
                continue
            self._service_principals.setdefault(sp_id.lower(), sp)
            if not resource_only:  # a candidate, look-alike or leftover of the app
                follow += req.service_principal_lists(sp_id)
        return follow

    def _absorb_role_assignments(self, assignments: list[Any]) -> list[GraphRequest]:
        follow: list[GraphRequest] = []
        for assignment in assignments:
            if not isinstance(assignment, dict) or not assignment.get("id"):
                continue
            self._role_assignments.setdefault(str(assignment["id"]), assignment)
            principal = assignment.get("principalId")
            if not is_guid(principal):
                continue
            principal = principal.lower()
            self._principals.add(principal)
            known_not_user = principal in self._users and self._users[principal] is None
            follow += [req.group(principal), req.group_members(principal)] if known_not_user else [req.user(principal)]
        return follow

    def _absorb_consent_requests(self, requests: list[Any]) -> list[GraphRequest]:
        """Keep the consent requests that may be the app's; read who asked for each."""
        name = name_key(self._target.app_display_name)
        app_ids = self._app_ids | {
            str(sp.get("appId", "")).lower()
            for sp in self._service_principals.values()
            if name_key(str(sp.get("displayName", ""))) == name
        }
        follow: list[GraphRequest] = []
        for consent_request in requests:
            if not isinstance(consent_request, dict) or not is_guid(consent_request.get("id")):
                continue
            by_id = str(consent_request.get("appId", "")).lower() in app_ids
            by_name = name_key(str(consent_request.get("appDisplayName", ""))) == name
            if by_id or by_name:
                self._consent_requests[consent_request["id"].lower()] = dict(consent_request)
                follow.append(req.user_consent_requests(consent_request["id"]))
        return follow

    # -- the snapshot's sources ------------------------------------------------------------------

    def _sources(self) -> dict[str, Source]:
        data: dict[str, Any] = {
            "organization": self._objects.get("organization", []),
            "admin_consent_request_policy": self._objects.get("admin_consent_request_policy"),
            "authorization_policy": self._objects.get("authorization_policy"),
            "service_principals": list(self._service_principals.values()),
            **self._per_sp,
            "users": self._users,
            "groups": self._groups,
            "group_members": {**self._direct_members, **self._members},  # transitive wins
            "role_assignments": list(self._role_assignments.values()),
            "consent_requests": list(self._consent_requests.values()),
        }
        sp_failure = self._failures.get("service_principals")
        sources: dict[str, Source] = {}
        for name in SOURCE_NAMES:
            if name in self._failures:
                sources[name] = self._failures[name]
            elif sp_failure is not None and sp_failure.error is not None and name in _PER_SERVICE_PRINCIPAL:
                cause = sp_failure.error
                message = f"not read: the service principals could not be read ({cause.describe()})"
                sources[name] = Source(status=sp_failure.status, error=cause.model_copy(update={"message": message}))
            else:
                sources[name] = Source(status=SourceStatus.OK, data=data[name])
        return sources
