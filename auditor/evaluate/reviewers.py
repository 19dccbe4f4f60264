"""Who the admin consent workflow's reviewers are, evaluated as Graph would (DESIGN §4).

A reviewer query returns a user, a group's (transitive) members, or a role's *active* assignments.
Each reviewer resolves to the enabled users it stands for, three-valued: a user whose
`accountEnabled` was not returned (Graph's "limited information" answer when the scanner lacks
`User.Read.All`: only `id` and `@odata.type`), a principal that was not collected, or a source that
could not be read make that part unknown, never "disabled".

Sources: `admin_consent_request_policy` (reviewers), `users` (request 9), `groups` and
`group_members` (10), `role_assignments` (11).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from auditor.evaluate.facts import SourceUnavailable, TenantFacts
from auditor.evaluate.logic import Tri
from auditor.evaluate.reviewer_query import ReviewerKind, parse_reviewer_query
from auditor.model.graph_objects import (
    GraphObject,
    expanded_principal_type,
    flag,
    is_user,
    object_id,
    objects,
    same_id,
    text,
    user_label,
)


@dataclass(frozen=True)
class Members:
    """The enabled users a principal stands for, and what could not be told."""

    enabled: list[GraphObject] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # users whose state could not be read
    missing: SourceUnavailable | None = None  # a source that was not read

    @property
    def state(self) -> Tri:
        """Whether the principal stands for at least one enabled user."""
        return True if self.enabled else None if self.unknown or self.missing else False


@dataclass(frozen=True)
class ResolvedReviewer:
    query: str
    kind: ReviewerKind
    target_id: str | None
    principal: str | None  # display name of the user, group or role
    state: Tri  # resolves to ≥ 1 enabled user / cannot act / cannot be told
    reason: str  # why it cannot act, or why that cannot be told; "" when it resolves
    members: Members = field(default_factory=Members)

    @property
    def resolved(self) -> bool:
        return self.state is True

    @property
    def enabled_users(self) -> list[GraphObject]:
        return self.members.enabled


def account_enabled(user: GraphObject | None) -> Tri:
    """`accountEnabled` of a user object; None when Graph did not return it (limited information)."""
    return flag(user, "accountEnabled")


class Directory:
    """Users, groups and members as collected, with per-snapshot caches."""

    def __init__(self, facts: TenantFacts) -> None:
        self.facts = facts
        self._members: dict[str, Members] = {}

    def group_users(self, group_id: str) -> Members:
        key = group_id.lower()
        if key not in self._members:
            self._members[key] = self._group_users(key)
        return self._members[key]

    def _group_users(self, group_id: str) -> Members:
        try:
            listed = self.facts.read("group_members")
            users = self.facts.read("users")
        except SourceUnavailable as missing:
            return Members(missing=missing)
        if group_id not in listed:
            return Members(unknown=[f"members of group {group_id} (not collected)"])
        enabled, unknown = [], []
        for member in listed[group_id]:
            if not is_user(member):
                continue
            # Members may come without accountEnabled; the user object, when collected, decides.
            state = account_enabled(member)
            if state is None:
                state = account_enabled(users.get(object_id(member)))
            if state is True:
                enabled.append(member)
            elif state is None:
                unknown.append(user_label(member))
        return Members(enabled, unknown)

    def principal_users(self, principal_id: str, odata_type: str = "") -> Members:
        """The enabled users a principal stands for: itself if a user, its members if a group.
        `odata_type`: the principal's type when its role assignment expanded it."""
        key = principal_id.lower()
        if odata_type not in ("", "#microsoft.graph.user", "#microsoft.graph.group"):
            return Members()  # a service principal or another directory object
        try:
            users, groups = self.facts.read("users"), self.facts.read("groups")
        except SourceUnavailable as missing:
            return Members(missing=missing)
        user = users.get(key)
        if user is not None:
            state = account_enabled(user)
            return Members([user]) if state else Members(unknown=[user_label(user)]) if state is None else Members()
        if groups.get(key) is not None:
            return self.group_users(key)
        if key in users and key in groups:  # Graph said 404 to both: a service principal or a deleted object
            return Members()
        return Members(unknown=[f"principal {key} (not collected)"])

    def group(self, group_id: str) -> GraphObject | None:
        return self.facts.read("groups").get(group_id.lower())


class Reviewers:
    """The resolved reviewers of the admin consent request policy."""

    def __init__(self, facts: TenantFacts, directory: Directory) -> None:
        self.facts = facts
        self.directory = directory
        self.all = [self._resolve(reviewer) for reviewer in objects(facts.policy, "reviewers")]

    def _resolve(self, reviewer: GraphObject) -> ResolvedReviewer:
        query_text = text(reviewer, "query")
        query = parse_reviewer_query(reviewer.get("query"))
        if query.kind is ReviewerKind.UNKNOWN or not query.id:
            return ResolvedReviewer(query_text, query.kind, None, None, False, "query form not recognised")
        try:
            if query.kind is ReviewerKind.USER:
                return self._resolve_user(query_text, query.id)
            if query.kind is ReviewerKind.GROUP:
                return self._resolve_group(query_text, query.id)
            return self._resolve_role(query_text, query.id)
        except SourceUnavailable as missing:
            return ResolvedReviewer(query_text, query.kind, query.id, None, None,
                                    f"source '{missing.name}' was not read", Members(missing=missing))

    def _lookup(self, query: str, kind: ReviewerKind, object_id: str, source: str) -> ResolvedReviewer | GraphObject:
        """The user or group a reviewer names, or the reviewer it resolves to when there is none."""
        found = self.facts.read(source)
        noun = kind.value
        if object_id not in found:
            return ResolvedReviewer(query, kind, object_id, None, None, f"{noun} was not collected")
        if found[object_id] is None:
            return ResolvedReviewer(query, kind, object_id, None, False, f"{noun} not found (deleted?)")
        return found[object_id]

    def _resolve_user(self, query: str, user_id: str) -> ResolvedReviewer:
        user = self._lookup(query, ReviewerKind.USER, user_id, "users")
        if isinstance(user, ResolvedReviewer):
            return user
        members = self.directory.principal_users(user_id)
        reasons = {False: "user is disabled", None: "user was returned with limited information (no "
                   "accountEnabled): the scanner lacks User.Read.All or Directory.Read.All", True: ""}
        return ResolvedReviewer(query, ReviewerKind.USER, user_id, user_label(user), members.state,
                                reasons[members.state], members)

    def _resolve_group(self, query: str, group_id: str) -> ResolvedReviewer:
        group = self._lookup(query, ReviewerKind.GROUP, group_id, "groups")
        if isinstance(group, ResolvedReviewer):
            return group
        members = self.directory.group_users(group_id)
        reason = _members_reason(members, "group has no enabled user member")
        return ResolvedReviewer(query, ReviewerKind.GROUP, group_id, text(group, "displayName") or group_id,
                                members.state, reason, members)

    def _resolve_role(self, query: str, role_id: str) -> ResolvedReviewer:
        label = self.facts.role_names.get(role_id, role_id)
        holders = [a for a in self.facts.read("role_assignments") if same_id(text(a, "roleDefinitionId"), role_id)]
        members = merge(self.directory.principal_users(text(a, "principalId"), expanded_principal_type(a))
                        for a in holders)
        reason = _members_reason(members, "no active assignment of the role to an enabled user")
        return ResolvedReviewer(query, ReviewerKind.ROLE, role_id, label, members.state, reason, members)

    def users(self) -> list[GraphObject]:
        """The enabled users among all reviewers, once each."""
        return unique(user for reviewer in self.all for user in reviewer.enabled_users)


def merge(parts: Iterable[Members]) -> Members:
    enabled: list[GraphObject] = []
    unknown: list[str] = []
    missing = None
    for part in parts:
        enabled += part.enabled
        unknown += part.unknown
        missing = missing or part.missing
    return Members(unique(enabled), unknown, missing)


def _members_reason(members: Members, none_enabled: str) -> str:
    if members.state is True:
        return ""
    if members.missing:
        return f"source '{members.missing.name}' was not read"
    if members.unknown:
        return f"whether these users are enabled could not be read: {', '.join(members.unknown[:10])}"
    return none_enabled


def unique(users: Iterable[GraphObject]) -> list[GraphObject]:
    seen: dict[str, GraphObject] = {}
    for user in users:
        seen.setdefault(object_id(user), user)
    return list(seen.values())


def reviewers_of(facts: TenantFacts) -> Reviewers:
    """The reviewers of a snapshot's policy, resolved once per TenantFacts."""
    return facts.derived("reviewers", lambda: Reviewers(facts, Directory(facts)))
