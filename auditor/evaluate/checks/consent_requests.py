"""Pending consent requests for HD Meeting that nobody has answered in time."""

from __future__ import annotations

from auditor.evaluate.checks.grants import EVIDENCE_LIMIT
from auditor.evaluate.checks.registry import Outcome, check, errored, pass_if
from auditor.evaluate.consent_requests import app_consent_requests, requester_label, user_requests
from auditor.evaluate.facts import TenantFacts
from auditor.model.graph_objects import is_value, text


@check("HDM-REQ-01", sources=("consent_requests", "service_principals"))
def no_stale_requests(facts: TenantFacts) -> Outcome:
    max_age = facts.params.pending_request_max_age_days
    pending = [
        row
        for row in user_requests(facts, app_consent_requests(facts))
        if is_value(row.request, "status", "InProgress")
    ]
    undated = [row for row in pending if row.age_days is None]
    if undated:  # an age that cannot be read is unknown, never "not stale"
        named = [{"request_id": text(row.request, "id"), "requester": requester_label(row.request),
                  "created": text(row.request, "createdDateTime")} for row in undated[:EVIDENCE_LIMIT]]
        return errored(
            f"Cannot tell the age of {len(undated)} pending request(s) for HD Meeting: createdDateTime missing or "
            f"unreadable (request {named[0]['request_id'] or '?'} from {named[0]['requester'] or '?'}).",
            undated_requests=named,
        )
    stale = sorted(
        (row for row in pending if row.age_days is not None and row.age_days > max_age),
        key=lambda row: -(row.age_days or 0),
    )
    listed = [
        {
            "requester": requester_label(row.request),
            "created": text(row.request, "createdDateTime"),
            "age_days": round(row.age_days or 0, 1),
            "request_id": text(row.app, "id"),
        }
        for row in stale[:EVIDENCE_LIMIT]
    ]
    oldest = f" (oldest {listed[0]['age_days']} days, from {listed[0]['requester']})" if listed else ""
    return pass_if(
        not stale,
        f"No pending request for HD Meeting is older than {max_age} days ({len(pending)} pending).",
        f"{len(stale)} pending request(s) for HD Meeting are older than {max_age} days{oldest}: "
        "users are waiting on reviewers.",
        pending=len(pending),
        stale=len(stale),
        max_age_days=max_age,
        stale_requests=listed,
    )
