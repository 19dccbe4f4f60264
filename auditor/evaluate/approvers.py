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
from datetime import datetime
from typing import Literal

from auditor.evaluate.consent import ConsentFacts
from auditor.evaluate.facts import SourceUnavailable, TenantFacts
from auditor.evaluate.logic import Tri, all_of, any_of
from auditor.evaluate.policy import admin_consent_policy_ids
from auditor.evaluate.reviewers import Reviewers, reviewers_of
from auditor.model.graph_objects import (
    GraphObject,
    expanded_principal_type,
    flag,
    is_user,
    object_id,
    text,
    timestamp,
    user_label,
)

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
    short: list[str] = field(default_factory=list)  # reviewers holding a custom role that cannot grant HD Meeting

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
    read = {role_id.lower() for role_id in facts.snapshot.target.consent_role_ids or ()}
    for role in built_in:
        if role.id.lower() not in read:
            search.unknown.append(f"the holders of {role.name} were not collected in this snapshot (collect again "
                                  "with this rule pack)")
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
        if enabled is None:
            reason = f"the role was read without isEnabled ({reason})"
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
        # What was read counts even when another request of the same source failed: one approver found
        # decides ACW-04 (DESIGN §5, "Deciding with partial data").
        held, missing = facts.read_partial(source)
        if missing:
            search.missing.append(missing)
        if facts.snapshot.source(source).note:
            search.notes.append(facts.snapshot.source(source).note or "")
        for grant in held:
            role = roles.get(text(grant, "roleDefinitionId").lower())
            if role is None or not _counts(grant, role, facts.snapshot.collected_at, search):
                continue
            for user_id, kind, via in _holders(facts, grant, assignment, reviewer_users, group_eligibility, search):
                user = reviewer_users[user_id]
                if role.capable is True:
                    search.approvers.append(Approver(person(user), object_id(user), role.name, kind, via))
                elif role.capable is None:
                    search.unknown.append(f"{person(user)} holds {role.name}, but {role.reason}")
                else:
                    search.short.append(f"{person(user)} holds {role.name}, but {role.reason}")
    search.approvers = sorted(set(search.approvers), key=lambda a: (a.assignment, a.user.lower(), a.role, a.via))
    return search


def _counts(grant: GraphObject, role: ConsentRole, at: datetime, search: ApproverSearch) -> bool:
    """Whether a (possibly eligible) assignment of a consent role can matter: tenant-wide and in effect at
    `at`; what cannot be told is noted as unknown."""
    scope = grant.get("directoryScopeId")
    if not isinstance(scope, str):
        search.unknown.append(f"an assignment of {role.name} was read without its directoryScopeId")
        return False
    if scope != "/":
        return False
    effect = in_effect(grant, at)
    if effect is None:
        search.unknown.append(f"when an eligibility for {role.name} is in effect could not be read")
    return effect is True


def in_effect(instance: GraphObject, at: datetime) -> bool | None:
    """A PIM schedule instance is in effect at `at` between its startDateTime and its endDateTime (null:
    no end). An active role assignment carries neither: always in effect. None when a date is unreadable."""
    start, end = instance.get("startDateTime"), instance.get("endDateTime")
    begins = timestamp(instance, "startDateTime") if start is not None else None
    ends = timestamp(instance, "endDateTime") if end is not None else None
    if (start is not None and begins is None) or (end is not None and ends is None):
        return None
    return (begins is None or begins <= at) and (ends is None or at < ends)


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
    eligible = group_eligibility.members(principal_id, name, facts.snapshot.collected_at)
    found += [(user_id, "eligible", name) for user_id in eligible if user_id in reviewer_users]
    return found


class _GroupEligibility:
    """Users PIM-eligible to become members of a group (PIM for Groups, request 19)."""

    def __init__(self, facts: TenantFacts, search: ApproverSearch) -> None:
        self._facts = facts
        self._search = search

    def members(self, group_id: str, group_name: str, at: datetime) -> list[str]:
        instances, missing = self._facts.read_partial("group_eligibilities")
        if missing:
            self._search.missing.append(missing)
            self._search.unknown.append(f"who is eligible to join {group_name} could not be read")
        found = []
        for instance in instances:
            if text(instance, "groupId").lower() != group_id:
                continue
            access, effect = instance.get("accessId"), in_effect(instance, at)
            if not isinstance(access, str) or effect is None:
                self._search.unknown.append(f"an eligibility to join {group_name} could not be read whole")
            elif access.lower() == "member" and effect:
                found.append(text(instance, "principalId").lower())
        return found
