"""Admin consent workflow: enabled, reviewers who exist and may approve, notifications, lifetime."""

from __future__ import annotations

from auditor.checks.registry import Outcome, check, pass_if
from auditor.facts import ResolvedReviewer, TenantFacts
from auditor.graph_objects import flag, number, object_id, user_label

POLICY = ("admin_consent_request_policy",)
DIRECTORY = ("users", "groups", "group_members", "role_assignments")
WORKFLOW_ON = ("HDM-ACW-01",)
HAS_REVIEWERS = ("HDM-ACW-01", "HDM-ACW-02")


def _describe(reviewer: ResolvedReviewer) -> dict[str, object]:
    return {
        "query": reviewer.query,
        "kind": reviewer.kind.value,
        "id": reviewer.target_id,
        "name": reviewer.principal,
        "resolved": reviewer.resolved,
        "reason": reviewer.reason or None,
        "enabled_users": [user_label(user) for user in reviewer.enabled_users],
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
    queries = [reviewer.query for reviewer in facts.reviewers]
    return pass_if(
        bool(queries),
        f"{len(queries)} reviewer(s) configured.",
        "The workflow is enabled but has no reviewers: requests reach nobody.",
        reviewers=queries,
    )


@check("HDM-ACW-03", sources=POLICY + DIRECTORY, requires=HAS_REVIEWERS)
def reviewers_resolve(facts: TenantFacts) -> Outcome:
    reviewers = facts.reviewers
    broken = [reviewer for reviewer in reviewers if not reviewer.resolved]
    problems = "; ".join(f"{r.principal or r.target_id or r.query}: {r.reason}" for r in broken)
    return pass_if(
        not broken,
        f"All {len(reviewers)} reviewer(s) resolve to enabled users.",
        f"{len(broken)} of {len(reviewers)} reviewer(s) cannot act — {problems}.",
        reviewers=[_describe(reviewer) for reviewer in reviewers],
    )


@check("HDM-ACW-04", sources=POLICY + DIRECTORY, requires=HAS_REVIEWERS)
def reviewer_can_grant_consent(facts: TenantFacts) -> Outcome:
    users = {object_id(user): user for r in facts.reviewers if r.resolved for user in r.enabled_users}
    capable = {user_label(user): roles for user in users.values() if (roles := facts.consent_roles_of(user))}
    roles = ", ".join(role.name for role in facts.params.consent_capable_roles)
    return pass_if(
        bool(capable),
        f"{len(capable)} reviewer(s) hold a consent-capable role tenant-wide and can approve: "
        f"{', '.join(sorted(capable))}.",
        f"None of the {len(users)} enabled reviewer user(s) holds an active tenant-wide assignment of a "
        f"role that may grant consent ({roles}): reviewers can only deny or forward requests.",
        capable_reviewers=capable,
        reviewer_users=sorted(user_label(user) for user in users.values()),
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
