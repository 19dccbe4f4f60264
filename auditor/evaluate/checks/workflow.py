"""Admin consent workflow: enabled, reviewers who exist and may approve, notifications, lifetime."""

from __future__ import annotations

from auditor.evaluate.approvers import find_approvers, person
from auditor.evaluate.checks.registry import Outcome, check, failed, pass_if, passed, undecided
from auditor.evaluate.facts import TenantFacts
from auditor.evaluate.reviewer_query import ReviewerKind
from auditor.evaluate.reviewers import ResolvedReviewer, reviewers_of
from auditor.model.graph_objects import flag, number, objects, text

POLICY = ("admin_consent_request_policy",)
DIRECTORY = ("users", "groups", "group_members", "role_assignments")
APPROVER_SOURCES = (*DIRECTORY, "role_eligibilities", "group_eligibilities", "role_definitions",
                    "permission_grant_policies")
WORKFLOW_ON = ("HDM-ACW-01",)
HAS_REVIEWERS = ("HDM-ACW-01", "HDM-ACW-02")
ROLE_REVIEWER_ASSUMPTION = (
    "A role reviewer is taken to cover the role's active holders only (PIM-eligible holders are not "
    "returned by its query); no Microsoft source says either way."
)


def _describe(reviewer: ResolvedReviewer) -> dict[str, object]:
    return {
        "query": reviewer.query,
        "kind": reviewer.kind.value,
        "id": reviewer.target_id,
        "name": reviewer.principal,
        "resolved": reviewer.state,
        "reason": reviewer.reason or None,
        "enabled_users": [person(user) for user in reviewer.enabled_users],
    }


def _policy_flag(facts: TenantFacts, key: str, if_pass: str, if_fail: str) -> Outcome:
    return pass_if(flag(facts.policy, key) is True, if_pass, if_fail, **{key: facts.policy.get(key)})


@check("HDM-ACW-01", sources=POLICY)
def workflow_enabled(facts: TenantFacts) -> Outcome:
    return _policy_flag(
        facts,
        "isEnabled",
        "The admin consent workflow is enabled: users can request HD Meeting and reviewers decide.",
        "The admin consent workflow is disabled: users who are not allowed to consent are simply "
        "refused, with no way to ask an administrator.",
    )


@check("HDM-ACW-02", sources=POLICY, requires=WORKFLOW_ON)
def reviewers_configured(facts: TenantFacts) -> Outcome:
    queries = [text(reviewer, "query") for reviewer in objects(facts.policy, "reviewers")]
    return pass_if(
        bool(queries),
        f"{len(queries)} reviewer(s) configured.",
        "The workflow is enabled but has no reviewers: requests reach nobody.",
        reviewers=queries,
    )


@check("HDM-ACW-03", sources=POLICY + DIRECTORY, requires=HAS_REVIEWERS)
def reviewers_resolve(facts: TenantFacts) -> Outcome:
    reviewers = reviewers_of(facts).all
    evidence = {"reviewers": [_describe(reviewer) for reviewer in reviewers]}
    broken = [r for r in reviewers if r.state is False]
    unknown = [r for r in reviewers if r.state is None]

    def listed(found: list[ResolvedReviewer]) -> str:
        return "; ".join(f"{r.principal or r.target_id or r.query}: {r.reason}" for r in found)

    if broken:
        return failed(f"{len(broken)} of {len(reviewers)} reviewer(s) cannot act — {listed(broken)}.", **evidence)
    if unknown:
        missing = [r.members.missing for r in unknown if r.members.missing]
        return undecided(f"Whether {len(unknown)} of {len(reviewers)} reviewer(s) can act could not be read — "
                         f"{listed(unknown)}.", missing, **evidence)
    return passed(f"All {len(reviewers)} reviewer(s) resolve to enabled users.", **evidence)


@check("HDM-ACW-04", sources=POLICY + APPROVER_SOURCES, requires=HAS_REVIEWERS)
def reviewer_can_grant_consent(facts: TenantFacts) -> Outcome:
    search = find_approvers(facts)
    users = reviewers_of(facts).users()
    evidence: dict[str, object] = {
        "approvers": [approver.as_dict() for approver in search.approvers],
        "reviewer_users": sorted(person(user) for user in users),
    }
    if any(r.kind is ReviewerKind.ROLE for r in reviewers_of(facts).all):
        evidence["assumption"] = ROLE_REVIEWER_ASSUMPTION
    if search.notes:
        evidence["notes"] = sorted(set(search.notes))
    if search.approvers:
        now = sorted({a.user for a in search.active})
        later = sorted({a.user for a in search.eligible_only})
        return passed(
            f"{len(now)} reviewer(s) can approve now ({', '.join(now) or 'none'}) and {len(later)} after "
            f"activating a role in PIM ({', '.join(later) or 'none'}).",
            **evidence,
        )
    if search.state is None:
        evidence["could_not_tell"] = search.unknown
        return undecided(
            f"No approver was found among the {len(users)} enabled reviewer user(s), but what could show one "
            "was not read" + (": " + "; ".join(search.unknown[:5]) + "." if search.unknown else "."),
            search.missing,
            **evidence,
        )
    roles = ", ".join(role.name for role in facts.params.consent_capable_roles)
    named = ", ".join(sorted(person(user) for user in users)) or "none"
    short = f" {'; '.join(search.short)}." if search.short else ""
    return failed(
        f"None of the {len(users)} enabled reviewer user(s) ({named}) holds, actively or as a PIM-eligible "
        f"assignment, a tenant-wide role that may grant consent ({roles}, or a custom role allowed to grant HD "
        f"Meeting's permissions): reviewers can only deny or forward requests.{short}",
        **evidence,
    )


@check("HDM-ACW-05", sources=POLICY, requires=WORKFLOW_ON)
def reviewers_notified(facts: TenantFacts) -> Outcome:
    return _policy_flag(
        facts,
        "notifyReviewers",
        "Reviewers are emailed when a request arrives.",
        "Reviewers are not emailed about new requests: requests wait until someone looks.",
    )


@check("HDM-ACW-06", sources=POLICY, requires=WORKFLOW_ON)
def reminders_enabled(facts: TenantFacts) -> Outcome:
    return _policy_flag(
        facts,
        "remindersEnabled",
        "Reviewers get a reminder before a request expires.",
        "Reminders are off: a request that is overlooked expires silently.",
    )


@check("HDM-ACW-07", sources=POLICY, requires=WORKFLOW_ON)
def request_lifetime(facts: TenantFacts) -> Outcome:
    days = number(facts.policy, "requestDurationInDays")
    window = facts.params.request_duration_days
    within = days is not None and window.min <= days <= window.max
    return pass_if(
        within,
        f"Requests stay open {days} days (allowed {window.min}–{window.max}).",
        f"Requests stay open {days if days is not None else 'an unknown number of'} days; "
        f"the pack requires {window.min}–{window.max}.",
        requestDurationInDays=facts.policy.get("requestDurationInDays"),
        allowed_min=window.min,
        allowed_max=window.max,
    )
