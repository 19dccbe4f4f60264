"""Approvers: the reviewers who can actually grant HD Meeting's consent (DESIGN §4, contract).

An approver is an enabled reviewer user who holds, tenant-wide (`directoryScopeId` "/"), a
consent-capable role through an active or a PIM-eligible assignment, directly or through a
role-assignable group the user is a member of or PIM-eligible to join. Consent-capable roles are the
pack's built-in ones plus every enabled custom role whose `managePermissionGrantsForAll.{policyId}`
permission names a policy that admits every required scope for HD Meeting.

Sources: `role_assignments` (active, request 11), `role_eligibilities` (PIM, 15),
`group_eligibilities` (PIM for Groups, 19), `role_definitions` (custom roles, 16),
`permission_grant_policies` (17), and the directory behind the reviewers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from auditor.evaluate.consent import ConsentFacts
from auditor.evaluate.logic import Tri, all_of, any_of
from auditor.evaluate.policy import admin_consent_policy_ids
from auditor.evaluate.reviewers import Reviewers, reviewers_of
from auditor.facts import SourceUnavailable, TenantFacts
from auditor.graph_objects import GraphObject, expanded_principal_type, flag, is_user, object_id, text, user_label

GROUP_TYPE = "#microsoft.graph.group"

Assignment = Literal["active", "eligible"]
_ASSIGNMENT_SOURCES: tuple[tuple[str, Assignment], ...] = (
    ("role_assignments", "active"),
    ("role_eligibilities", "eligible"),
)


@dataclass(frozen=True)
class Approver:
    user: str  # "Display Name (upn)"
    id: str
    role: str
    assignment: Assignment  # eligible: must activate the role in PIM first
    via: str  # "direct", or the display name of the group that holds the role

    def as_dict(self) -> dict[str, str]:
        return {"user": self.user, "id": self.id, "role": self.role, "assignment": self.assignment, "via": self.via}


@dataclass(frozen=True)
class ConsentRole:
    id: str
    name: str
    capable: Tri  # custom roles: whether their policy admits every required scope
    reason: str = ""


@dataclass
class ApproverSearch:
    """The approvers found, and why more may exist that could not be confirmed."""

    approvers: list[Approver] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    missing: list[SourceUnavailable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "no Entra ID P2: no PIM eligibility"

    @property
    def state(self) -> Tri:
        return True if self.approvers else None if self.unknown or self.missing else False

    @property
    def active(self) -> list[Approver]:
        return [a for a in self.approvers if a.assignment == "active"]

    @property
    def eligible_only(self) -> list[Approver]:
        """Approvers who must activate a role in PIM first (no active path for the same user)."""
        now = {a.id for a in self.active}
        return [a for a in self.approvers if a.assignment == "eligible" and a.id not in now]


def person(user: GraphObject) -> str:
    """How a report names a person: "Display Name (upn)", or whichever of the two is known."""
    name, upn = text(user, "displayName"), text(user, "userPrincipalName")
    return f"{name} ({upn})" if name and upn and name != upn else upn or name or user_label(user)


def consent_roles(facts: TenantFacts, consent: ConsentFacts, search: ApproverSearch) -> dict[str, ConsentRole]:
    """Built-in consent-capable roles and the custom roles that may grant HD Meeting's consent."""
    built_in = facts.params.consent_capable_roles
    roles = {role.id.lower(): ConsentRole(role.id.lower(), role.name, True) for role in built_in}
    try:
        definitions = facts.read("role_definitions")
    except SourceUnavailable as missing:
        search.missing.append(missing)
        return roles
    for definition in definitions:
        policy_ids = admin_consent_policy_ids(definition)
        enabled = flag(definition, "isEnabled")
        if not policy_ids or enabled is False or flag(definition, "isBuiltIn") is True:
            continue
        answers = [consent.answer(policy_id) for policy_id in policy_ids]
        capable = all_of([enabled, any_of(a.admits for a in answers)])
        reason = "; ".join(a.reason for a in answers)
        search.missing += [a.missing for a in answers if a.missing and capable is None]
        name = text(definition, "displayName") or object_id(definition)
        roles[object_id(definition)] = ConsentRole(object_id(definition), name, capable, reason)
    return roles


def find_approvers(facts: TenantFacts) -> ApproverSearch:
    """Every approver among the reviewers, built once per TenantFacts."""
    def search() -> ApproverSearch:
        try:
            reviewers = reviewers_of(facts)
        except SourceUnavailable as missing:  # the admin consent request policy itself was not read
            return ApproverSearch(missing=[missing])
        return _search(facts, reviewers, ConsentFacts.of(facts))

    return facts.derived("approvers", search)


def _search(facts: TenantFacts, reviewers: Reviewers, consent: ConsentFacts) -> ApproverSearch:
    search = ApproverSearch()
    reviewer_users = {object_id(user): user for user in reviewers.users()}
    for reviewer in reviewers.all:
        if reviewer.state is None:
            search.unknown.append(f"reviewer {reviewer.principal or reviewer.query}: {reviewer.reason}")
            if reviewer.members.missing:
                search.missing.append(reviewer.members.missing)
    roles = consent_roles(facts, consent, search)
    group_eligibility = _GroupEligibility(facts, search)
    for source, assignment in _ASSIGNMENT_SOURCES:
        try:
            held = facts.read(source)
        except SourceUnavailable as missing:
            search.missing.append(missing)
            continue
        if facts.snapshot.source(source).note:
            search.notes.append(facts.snapshot.source(source).note or "")
        for grant in held:
            role = roles.get(text(grant, "roleDefinitionId").lower())
            if role is None or role.capable is False or text(grant, "directoryScopeId") != "/":
                continue
            for user_id, kind, via in _holders(facts, grant, assignment, reviewer_users, group_eligibility, search):
                if role.capable is None:
                    search.unknown.append(f"{role.name} (held by a reviewer): {role.reason}")
                    continue
                user = reviewer_users[user_id]
                search.approvers.append(Approver(person(user), object_id(user), role.name, kind, via))
    search.approvers = sorted(set(search.approvers), key=lambda a: (a.assignment, a.user.lower(), a.role, a.via))
    return search


def _holders(
    facts: TenantFacts,
    grant: GraphObject,
    assignment: Assignment,
    reviewer_users: dict[str, GraphObject],
    group_eligibility: _GroupEligibility,
    search: ApproverSearch,
) -> list[tuple[str, Assignment, str]]:
    """The reviewer users a role holder stands for: (user id, active/eligible, via)."""
    principal_id = text(grant, "principalId").lower()
    if principal_id in reviewer_users:
        return [(principal_id, assignment, "direct")]
    if expanded_principal_type(grant) not in ("", GROUP_TYPE):
        return []  # a user who is no reviewer, or a service principal
    try:
        groups, users = facts.read("groups"), facts.read("users")
        group = groups.get(principal_id)
        members = facts.read("group_members").get(principal_id) if group is not None else None
    except SourceUnavailable as missing:
        search.missing.append(missing)
        return []
    if group is None:
        if principal_id not in groups and principal_id not in users:
            search.unknown.append(f"role holder {principal_id} was not collected")
        return []
    name = text(group, "displayName") or principal_id
    if members is None:
        search.unknown.append(f"members of {name} were not collected")
        members = []
    found = [(object_id(m), assignment, name) for m in members if is_user(m) and object_id(m) in reviewer_users]
    found += [(user_id, "eligible", name) for user_id in group_eligibility.members(principal_id, name)
              if user_id in reviewer_users]
    return found


class _GroupEligibility:
    """Users PIM-eligible to become members of a group (PIM for Groups, request 19)."""

    def __init__(self, facts: TenantFacts, search: ApproverSearch) -> None:
        self._facts = facts
        self._search = search

    def members(self, group_id: str, group_name: str) -> list[str]:
        try:
            instances = self._facts.read("group_eligibilities")
        except SourceUnavailable as missing:
            self._search.missing.append(missing)
            self._search.unknown.append(f"who is eligible to join {group_name} could not be read")
            return []
        return [
            text(i, "principalId").lower()
            for i in instances
            if text(i, "groupId").lower() == group_id and text(i, "accessId").lower() == "member"
        ]
