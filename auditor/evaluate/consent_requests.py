"""HD Meeting's consent requests and who asked, when (DESIGN §4: the app's consent requests are those
whose `appId` is the app's — given, or from its service principal — or, with neither known, whose
`appDisplayName` is the display name). Source: `consent_requests` (requests 13 and 14)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from auditor.evaluate.facts import TenantFacts
from auditor.model.graph_objects import GraphObject, name_key, objects, same_id, text, timestamp, user_label


@dataclass(frozen=True)
class PendingRequest:
    app: GraphObject  # the appConsentRequest
    request: GraphObject  # one of its userConsentRequests
    created: datetime | None
    age_days: float | None


def app_consent_requests(facts: TenantFacts) -> list[GraphObject]:
    """The app's appConsentRequest objects; raises SourceUnavailable when what decides them was not read."""

    def find() -> list[GraphObject]:
        requests = facts.read("consent_requests")
        if facts.given_app_id:
            app_id: str | None = facts.given_app_id
        else:
            facts.read("service_principals")  # the app id comes from the SP: it must have been read
            app_id = facts.app_id
        if app_id:
            return [r for r in requests if same_id(text(r, "appId"), app_id)]
        name = name_key(facts.params.app_display_name)
        return [r for r in requests if name_key(text(r, "appDisplayName")) == name]

    return facts.derived("app_consent_requests", find)


def user_requests(facts: TenantFacts, app_requests: Iterable[GraphObject]) -> list[PendingRequest]:
    """Each userConsentRequest of the given appConsentRequests, with its age in days at `collected_at`."""
    collected_at = facts.snapshot.collected_at
    rows = []
    for app_request in app_requests:
        for request in objects(app_request, "userConsentRequests"):
            created = timestamp(request, "createdDateTime")
            age = (collected_at - created).total_seconds() / 86400 if created else None
            rows.append(PendingRequest(app_request, request, created, age))
    return rows


def requester_label(request: GraphObject) -> str:
    created_by = request.get("createdBy")
    user = created_by.get("user") if isinstance(created_by, dict) else None
    return user_label(user) if isinstance(user, dict) else ""
