"""What to read from a tenant, in which order, and how the answers fill the snapshot's sources.

Reading goes in rounds; each round holds every request whose inputs are known, so a typical
tenant takes two round trips:

1. organization, both policies, the service principals (the app by id and by name prefix,
   Microsoft Graph, Exchange Online, legacy app ids), the active and PIM-eligible holders of the
   consent-capable roles (principals expanded, so users and groups are told apart at once), the
   custom role definitions, and the consent requests;
2. what those name: grants and assignments of each candidate or leftover service principal,
   Microsoft Graph's permission classifications, the reviewers (users, groups and their members,
   holders of reviewer roles), role-holding groups with their members and PIM-for-Groups
   eligibility, the user consent policies and the policies of custom consent roles (includes and
   excludes), the holders of those custom roles, and the user consent requests;
3. only when needed: what round 2 named (groups holding a custom consent role or a reviewer role,
   principals that came without an expansion) and the fallbacks below.

A role holder's expanded `principal` tells user from group. A user expanded whole (Graph expands
every property, `accountEnabled` included) is the user record of a reviewer role's holder, trimmed to
request 9's `$select`; one expanded partly, or for limited information, is read by id in the next round.
A principal without an expansion is looked up as a user first; on 404, as a group.

Request 17 is read from /beta only (v1.0 omits `certifiedClientApplicationsOnly`, /beta returns the
rest too), in round 2 in a `$batch` of its own beside the v1.0 one; v1.0 is read in the next round only
when /beta does not answer (a proxy, 404, 403, an error), and its answer then stands. This costs one more
HTTP request, sent at the same time, for each tenant with a user consent policy assigned (most have one):
~2 ms of CPU through the SDK's pipeline (bench/collect_cpu.py), no round. Reading v1.0 first and /beta
only for the policies that could admit HD Meeting's scopes saved that request for tenants whose policy
admits nothing, but cost the others a third round (issue 14 wants two) and every tenant an evaluation of
the partial snapshot. No contract-conforming way reads both in one HTTP request: a `$batch` goes to one
version, and only request 17 may go to /beta.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from auditor.collect import graph_requests as req
from auditor.collect.answers import expanded_user
from auditor.collect.batch import BatchRunner, Outcome
from auditor.collect.graph_requests import GraphRequest, Kind
from auditor.collect.progress import CollectionProgress
from auditor.evaluate.policy import admin_consent_policy_ids, user_consent_policy_ids
from auditor.evaluate.reviewer_query import ReviewerKind, is_guid, parse_reviewer_query
from auditor.model.graph_objects import expanded_principal_type, name_key
from auditor.model.snapshot import SOURCE_NAMES, CollectionTarget, GraphError, Source, SourceStatus, Tenant

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"

# Sources read per service principal found: unknown when the service principals are unknown.
_PER_SERVICE_PRINCIPAL = ("delegated_grants", "app_role_assignments", "app_role_assigned_to")
_SP_KINDS = (Kind.SP_BY_APP_ID, Kind.SP_BY_NAME)
# Absorbed first in a round: what they say decides which other answers lead to more requests.
_FIRST = (*_SP_KINDS, Kind.CONSENT_POLICY)
# PIM needs Entra ID P2: without it Graph answers 400 with this code, which means "no eligibility".
NO_PREMIUM_LICENSE = "AadPremiumLicenseRequired"
_PIM_KINDS = (Kind.ROLE_ELIGIBILITIES, Kind.GROUP_ELIGIBILITIES)
_PARTIAL_SOURCES = ("role_assignments", "role_eligibilities", "group_eligibilities")
_NOT_FOUND_IS_DATA = (Kind.USER, Kind.GROUP, Kind.GROUP_MEMBERS, Kind.DIRECT_MEMBERS, Kind.POLICY_INCLUDES,
                      Kind.POLICY_EXCLUDES)


class TenantCollector:
    def __init__(
        self,
        runner: BatchRunner,
        target: CollectionTarget,
        consent_capable_role_ids: Sequence[str],
        progress: CollectionProgress,
        beta_runner: BatchRunner | None = None,
    ) -> None:
        self._runner = runner
        self._beta_runner = beta_runner  # the /beta version of the base URL, when there is one
        self._beta_halves: dict[str, set[str]] = {}
        self._policy_ids: dict[str, str] = {}  # permission grant policies asked for: key → id as assigned
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
        self._role_eligibilities: dict[str, Any] = {}
        self._group_eligibilities: dict[str, Any] = {}
        self._role_definitions: list[Any] = []
        self._policies: dict[str, dict[str, Any] | None] = {}
        self._classifications: list[Any] = []
        self._classifications_requested = False  # only once Microsoft Graph's service principal is found
        self._notes: dict[str, str] = {}
        self._reviewer_roles: set[str] = set()  # roles whose holders are reviewers: their users are read
        self._consent_requests: dict[str, dict[str, Any]] = {}

    async def collect(self) -> dict[str, Source]:
        pending = self._new(self._first_round())
        number = 0
        while pending:
            number += 1
            self._progress.round(number, ", ".join(dict.fromkeys(r.kind.source.replace("_", " ") for r in pending)))
            outcomes = await self._run(pending)
            # Service principals and reviewers first: what the rest leads to depends on them.
            ordered = sorted(outcomes.items(), key=lambda pair: pair[0].kind not in _FIRST)
            follows = [follow for request, outcome in ordered for follow in self._absorb(request, outcome)]
            pending = self._new(follows)
        return self._sources()

    async def _run(self, pending: list[GraphRequest]) -> dict[GraphRequest, Outcome]:
        """One round: v1.0 and /beta requests in their own $batch calls, at the same time."""
        beta = [request for request in pending if request.beta]
        if not beta or self._beta_runner is None:
            return await self._runner.run(pending)
        current = [request for request in pending if not request.beta]
        both = await asyncio.gather(self._runner.run(current), self._beta_runner.run(beta))
        return {**both[0], **both[1]}

    def tenant(self, fallback_id: str | None, cloud: str) -> Tenant:
        organizations = self._objects.get("organization") or [{}]
        first = organizations[0] if isinstance(organizations[0], dict) else {}
        tenant_id = str(first.get("id") or fallback_id or "unknown")
        return Tenant(id=tenant_id, display_name=str(first.get("displayName") or ""), cloud=cloud)

    def _first_round(self) -> list[GraphRequest]:
        app_ids = (self._target.app_id, MICROSOFT_GRAPH_APP_ID, EXCHANGE_ONLINE_APP_ID, *self._target.legacy_app_ids)
        return list(req.first_round(app_ids, self._target.app_display_name, tuple(self._role_ids)))

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
        if kind is Kind.ORGANIZATION:
            self._objects[kind.source] = value
        elif kind is Kind.AUTHORIZATION_POLICY:
            self._objects[kind.source] = value
            return self._user_consent_policy_requests(value)
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
            return self._absorb_role_holders(self._role_assignments, value)
        elif kind is Kind.ROLE_ELIGIBILITIES:
            return self._absorb_role_holders(self._role_eligibilities, value)
        elif kind is Kind.GROUP_ELIGIBILITIES:
            self._group_eligibilities.update((str(i.get("id")), i) for i in value if isinstance(i, dict))
        elif kind is Kind.ROLE_DEFINITIONS:
            return self._absorb_role_definitions(value)
        elif kind in (Kind.POLICY_INCLUDES, Kind.POLICY_EXCLUDES):
            self._absorb_policy_part(request, value)
        elif kind is Kind.PERMISSION_CLASSIFICATIONS:
            self._classifications = value
        elif kind is Kind.CONSENT_REQUESTS:
            return self._absorb_consent_requests(value)
        elif kind is Kind.USER_CONSENT_REQUESTS:
            self._consent_requests[key]["userConsentRequests"] = value
        return []

    def _absorb_error(self, request: GraphRequest, error: GraphError) -> list[GraphRequest]:
        kind, key = request.kind, request.key
        if kind in _PIM_KINDS and error.http_status == 400 and error.code == NO_PREMIUM_LICENSE:
            self._notes[kind.source] = (
                "PIM answered that the tenant has no Entra ID P2 (or ID Governance) licence "
                f"({NO_PREMIUM_LICENSE}): there are no eligible assignments"
            )
            return []
        if request.beta:  # /beta not served here (a proxy, a replay), refused or failed: v1.0 answers instead
            return req.permission_grant_policy(self._policy_ids[key], beta=False)
        if error.http_status == 404 and kind in (Kind.POLICY_INCLUDES, Kind.POLICY_EXCLUDES):
            self._policies[key] = None  # the assigned or named policy does not exist
            return []
        if error.http_status == 404 and kind in _NOT_FOUND_IS_DATA:
            # A deleted reviewer, or a principal that is no user: recorded as null, not as a failure.
            if kind is Kind.USER:
                self._users[key] = None
                if key in self._principals:
                    return _group_requests(key)
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
                self._reviewer_roles.add(query.id)
                follow.append(req.role_assignments(query.id))
        return follow

    def _user_consent_policy_requests(self, policy: Any) -> list[GraphRequest]:
        """Request 17 for each `ManagePermissionGrantsForSelf.{policyId}` assigned to users."""
        defaults = policy.get("defaultUserRolePermissions") if isinstance(policy, dict) else None
        assigned = defaults.get("permissionGrantPoliciesAssigned") if isinstance(defaults, dict) else None
        return self._policy_requests(user_consent_policy_ids(assigned if isinstance(assigned, list) else []))

    def _policy_requests(self, policy_ids: Iterable[str]) -> list[GraphRequest]:
        """Request 17 from /beta when there is one (v1.0 omits certifiedClientApplicationsOnly), else v1.0."""
        valid = [policy_id for policy_id in policy_ids if req.is_policy_id(policy_id)]
        for policy_id in valid:
            self._policy_ids.setdefault(policy_id.lower(), policy_id)
        beta = self._beta_runner is not None
        return [request for policy_id in valid for request in req.permission_grant_policy(policy_id, beta=beta)]

    def _absorb_policy_part(self, request: GraphRequest, conditions: list[Any]) -> None:
        """One half of a policy; `apiVersion` is "beta" once both halves came from /beta."""
        policy = self._policies.setdefault(request.key, {"id": request.key, "apiVersion": "v1.0"})
        if policy is None:
            return  # the other half said 404
        part = "includes" if request.kind is Kind.POLICY_INCLUDES else "excludes"
        if request.beta:
            halves = self._beta_halves.setdefault(request.key, set())
            halves.add(part)
            policy[f"beta:{part}"] = conditions
            if halves == {"includes", "excludes"}:  # both from /beta: they replace the v1.0 answer
                policy.update(includes=policy.pop("beta:includes"), excludes=policy.pop("beta:excludes"),
                              apiVersion="beta")
        else:
            policy[part] = conditions

    def _absorb_role_definitions(self, definitions: list[Any]) -> list[GraphRequest]:
        """Custom roles that may grant consent for all users: their holders and their policies."""
        follow: list[GraphRequest] = []
        for definition in definitions:
            if not isinstance(definition, dict):
                continue
            self._role_definitions.append(definition)
            policy_ids = admin_consent_policy_ids(definition)
            if policy_ids and is_guid(definition.get("id")) and definition.get("isEnabled") is not False:
                follow += [req.role_assignments(definition["id"]), req.role_eligibilities(definition["id"])]
                follow += self._policy_requests(policy_ids)
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
            elif request.key == MICROSOFT_GRAPH_APP_ID:  # which of its scopes the tenant classified low
                self._classifications_requested = True
                follow.append(req.permission_classifications(sp_id))
        return follow

    def _absorb_role_holders(self, store: dict[str, Any], assignments: list[Any]) -> list[GraphRequest]:
        """Keep role assignments (active or eligible); read what their principals need.

        Groups: the group, its members and who may join it through PIM (approvers through a group).
        Users: only the holders of reviewer roles (ACW-03 needs them); a consent-capable role's other
        holders matter only as reviewers, who are read as such.
        """
        follow: list[GraphRequest] = []
        for assignment in assignments:
            if not isinstance(assignment, dict) or not assignment.get("id"):
                continue
            store.setdefault(str(assignment["id"]), assignment)
            principal = assignment.get("principalId")
            if not is_guid(principal):
                continue
            follow += self._principal_requests(principal.lower(), assignment)
        return follow

    def _principal_requests(self, principal: str, assignment: dict[str, Any]) -> list[GraphRequest]:
        odata_type = expanded_principal_type(assignment)
        if odata_type == "#microsoft.graph.group":
            return _group_requests(principal)
        if odata_type == "#microsoft.graph.user":
            if str(assignment.get("roleDefinitionId", "")).lower() not in self._reviewer_roles:
                return []
            user = expanded_user(assignment, principal)
            if user is None:  # not the whole user: read it as request 9 does
                return [req.user(principal)]
            self._users.setdefault(principal, user)
            return []
        if odata_type:
            return []  # a service principal or another directory object: never a reviewer
        self._principals.add(principal)  # not expanded: a user, else a group
        known_not_user = principal in self._users and self._users[principal] is None
        if known_not_user:
            return _group_requests(principal)
        return [req.user(principal)]

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
            "role_eligibilities": list(self._role_eligibilities.values()),
            "group_eligibilities": list(self._group_eligibilities.values()),
            "role_definitions": self._role_definitions,
            # A half read from /beta whose other half failed there is left out: the v1.0 answer stands.
            "permission_grant_policies": {
                pid: {k: v for k, v in policy.items() if not k.startswith("beta:")} if policy else policy
                for pid, policy in self._policies.items()
            },
            "permission_classifications": self._classifications,
        }
        sp_failure = self._failures.get("service_principals")
        if not self._classifications_requested and sp_failure is None:
            message = "not read: Microsoft Graph's service principal was not found in the tenant"
            self._failures.setdefault("permission_classifications", Source(
                status=SourceStatus.ERROR, error=GraphError(code="NotCollected", message=message)))
        sources: dict[str, Source] = {}
        for name in SOURCE_NAMES:
            if name in self._failures:
                failed = self._failures[name]
                # Role holders: keep the complete answers of the other roles' requests (an approver they
                # show still decides ACW-04); the failure keeps the source from counting as complete.
                partial = data[name] if name in _PARTIAL_SOURCES and data[name] else None
                sources[name] = failed.model_copy(update={"data": partial}) if partial else failed
            elif sp_failure is not None and sp_failure.error is not None and name in _PER_SERVICE_PRINCIPAL:
                cause = sp_failure.error
                message = f"not read: the service principals could not be read ({cause.describe()})"
                sources[name] = Source(status=sp_failure.status, error=cause.model_copy(update={"message": message}))
            else:
                sources[name] = Source(status=SourceStatus.OK, data=data[name], note=self._notes.get(name))
        return sources


def _group_requests(group_id: str) -> list[GraphRequest]:
    """A role-holding group: the group, its members, and who may join it through PIM (request 19)."""
    return [req.group(group_id), req.group_members(group_id), req.group_eligibilities(group_id)]
