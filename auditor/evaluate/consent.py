"""What a permission grant policy is evaluated on: HD Meeting's required Microsoft Graph scopes (ids,
`type`, the tenant's classification) and HD Meeting as a client app (DESIGN §5).

Sources: Microsoft Graph's service principal (`oauth2PermissionScopes`, request 4), its
`delegatedPermissionClassifications` (request 18), HD Meeting's service principal (`appId`,
`appOwnerOrganizationId`, `verifiedPublisher`), or, before HD Meeting was ever consented, the rule
pack's publisher facts; and the policies themselves (request 17).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from auditor.evaluate.facts import SourceUnavailable, TenantFacts
from auditor.evaluate.logic import Tri, all_of
from auditor.evaluate.policy import UNKNOWN, ClientApp, MalformedPolicy, Scope, admits_all
from auditor.model.graph_objects import MICROSOFT_GRAPH_APP_ID, GraphObject, flag, object_id, objects, text


@dataclass(frozen=True)
class PolicyAnswer:
    """Whether one policy admits every required scope for HD Meeting, and why not when it does not."""

    policy_id: str
    admits: Tri
    reason: str
    missing: SourceUnavailable | None = None  # the unreadable source behind an unknown answer
    certified_visible: bool = True
    each: tuple[Tri, ...] = ()  # per required scope (policies that only together admit all of them)


class ConsentFacts:
    """HD Meeting's required scopes and client facts, and policy answers, for one snapshot."""

    def __init__(self, facts: TenantFacts) -> None:
        self.facts = facts
        self._answers: dict[str, PolicyAnswer] = {}

    @classmethod
    def of(cls, facts: TenantFacts) -> ConsentFacts:
        """The consent facts of a snapshot, built once per TenantFacts."""
        return facts.derived("consent", lambda: cls(facts))

    # -- the scopes --------------------------------------------------------------------------

    @cached_property
    def scopes(self) -> list[Scope]:
        """The required Graph scopes as policy evaluation sees them; unknown facts are None/UNKNOWN."""
        graph = self._graph_service_principal()
        declared = {text(s, "value").lower(): s for s in objects(graph, "oauth2PermissionScopes")}
        classes = self._classifications()
        found = []
        for value in self.facts.params.required_graph_scopes:
            scope = declared.get(value.lower())
            scope_id = object_id(scope) or None
            kind = text(scope, "type").lower()
            consentable = {"user": True, "admin": False}.get(kind) if scope else None
            classification = classes if classes is UNKNOWN else classes.get(scope_id or "", None)
            found.append(Scope(value, MICROSOFT_GRAPH_APP_ID, scope_id, consentable, classification))
        return found

    @cached_property
    def scopes_missing(self) -> SourceUnavailable | None:
        """The unreadable source behind unknown scope facts, if any."""
        for name in ("service_principals", "permission_classifications"):
            if not self.facts.snapshot.source(name).ok:
                return SourceUnavailable(name, self.facts.snapshot.source(name))
        return None

    def _graph_service_principal(self) -> GraphObject | None:
        try:
            return self.facts.graph_sp
        except SourceUnavailable:
            return None

    def _classifications(self) -> object:
        try:
            listed = self.facts.read("permission_classifications")
        except SourceUnavailable:
            return UNKNOWN
        return {text(c, "permissionId").lower(): text(c, "classification") or None for c in listed}

    @cached_property
    def user_consentable(self) -> Tri:
        """Every required scope is user-consentable (`type` `User` in Graph's oauth2PermissionScopes)."""
        return all_of(scope.user_consentable for scope in self.scopes)

    # -- the client app ----------------------------------------------------------------------

    @cached_property
    def client(self) -> ClientApp:
        """HD Meeting as a client app: from its service principal, else (never consented) the pack."""
        facts, params = self.facts, self.facts.params
        try:
            candidates = facts.app_candidates
        except SourceUnavailable:
            return ClientApp(facts.given_app_id, None, None, None)
        if len(candidates) > 1:
            return ClientApp(facts.given_app_id, None, None, None)
        if not candidates:
            return ClientApp(facts.given_app_id, params.owner_tenant_id, params.publisher_verified,
                             params.verified_publisher_id)
        app = candidates[0]
        publisher = app.get("verifiedPublisher")
        publisher_id = text(publisher, "verifiedPublisherId") or None if isinstance(publisher, dict) else None
        verified = (publisher_id is not None) if isinstance(publisher, dict) else None
        return ClientApp(text(app, "appId") or None, text(app, "appOwnerOrganizationId") or None, verified,
                         publisher_id)

    @property
    def allows_risky_user_consent(self) -> bool:
        """`allowUserConsentForRiskyApps` (null counts as false, Graph's default); raises when unread."""
        return flag(self.facts.read("authorization_policy"), "allowUserConsentForRiskyApps") is True

    # -- policies ----------------------------------------------------------------------------

    def answer(self, policy_id: str) -> PolicyAnswer:
        """Whether the permission grant policy `policy_id` admits every required scope for HD Meeting."""
        key = policy_id.lower()
        if key not in self._answers:
            self._answers[key] = self._answer(policy_id)
        return self._answers[key]

    def _answer(self, policy_id: str) -> PolicyAnswer:
        unknown, refused = (None,) * len(self.scopes), (False,) * len(self.scopes)
        try:
            policies = self.facts.read("permission_grant_policies")
        except SourceUnavailable as missing:
            return PolicyAnswer(policy_id, None, f"policy '{policy_id}' could not be read ({missing.describe()})",
                                missing, each=unknown)
        if policy_id.lower() not in policies:
            return PolicyAnswer(policy_id, None, f"policy '{policy_id}' was not collected (an id other than letters, "
                                "digits, '.', '_' and '-' is never sent to Graph)", each=unknown)
        policy = policies[policy_id.lower()]
        if policy is None:
            return PolicyAnswer(policy_id, False, f"policy '{policy_id}' does not exist in the tenant", each=refused)
        certified_visible = text(policy, "apiVersion") == "beta"
        try:
            each = tuple(admits_all(policy, [scope], self.client) for scope in self.scopes)
        except MalformedPolicy as problem:
            return PolicyAnswer(policy_id, None, f"policy '{policy_id}' is malformed: {problem}", each=unknown)
        result = all_of(each)
        scopes = " ".join(self.facts.params.required_graph_scopes)
        if result is True:
            reason = f"policy '{policy_id}' admits {scopes} for HD Meeting"
        elif result is False:
            not_admitted = [scope.value for scope, ok in zip(self.scopes, each, strict=True) if ok is False]
            reason = f"policy '{policy_id}' does not admit {' '.join(not_admitted)} for HD Meeting"
        else:
            unread = f" ({self.scopes_missing.describe()})" if self.scopes_missing else ""
            reason = f"whether policy '{policy_id}' admits {scopes} depends on facts that could not be read{unread}"
            return PolicyAnswer(policy_id, None, reason, self.scopes_missing, certified_visible, each)
        return PolicyAnswer(policy_id, result, reason, None, certified_visible, each)

