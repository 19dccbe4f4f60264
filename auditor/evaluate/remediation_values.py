"""Remediation with the tenant's own values: the rule pack writes `{appId}`, `{grantId}`… and each
finding's text is filled from the snapshot, so that a command copied from a report runs as is.

A placeholder stays only where a person must choose (a reviewer to add, a user or group to assign);
the text then says what to put there. A placeholder with several values (three leftover service
principals) repeats its line once per value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auditor.evaluate.consent_requests import app_consent_requests
from auditor.evaluate.facts import SourceUnavailable, TenantFacts
from auditor.model.graph_objects import GraphObject, object_id, scopes, text

PLACEHOLDER = re.compile(r"\{([A-Za-z]+)\}")

# Placeholders a person fills in, and what to choose.
CHOICES = {
    "reviewerUserId": "the object id of the user who should review HD Meeting's requests",
    "reviewerGroupId": "the object id of the group whose members should review",
    "userOrGroupId": "the object id of the user or group to assign to HD Meeting",
    "now": "the start time, ISO 8601 UTC (e.g. 2026-01-31T09:00:00Z)",
}

Values = dict[str, list[str]]


def fill(text_: str, values: Mapping[str, Sequence[str]]) -> str:
    """`text_` with each known placeholder replaced; a line naming a placeholder with several values is
    repeated once per value. Placeholders left for a person are explained in a closing note."""
    lines: list[str] = []
    for line in text_.splitlines():
        known = [name for name in dict.fromkeys(PLACEHOLDER.findall(line)) if values.get(name)]
        several = next((name for name in known if len(values[name]) > 1), None)
        for value in values[several] if several else [""]:
            filled = line.replace(f"{{{several}}}", value) if several else line
            for name in known:
                filled = filled.replace(f"{{{name}}}", values[name][0])
            lines.append(filled)
    result = "\n".join(lines)
    chosen = [name for name in dict.fromkeys(PLACEHOLDER.findall(result)) if name in CHOICES]
    if chosen:
        result += "\n\nTo choose: " + "; ".join(f"{{{name}}} is {CHOICES[name]}" for name in chosen) + "."
    return result


def _safely(read: Callable[[], list[str]]) -> list[str]:
    """Values from a source that may not have been read: none then (the placeholder stays)."""
    try:
        return [value for value in read() if value]
    except SourceUnavailable:
        return []


def _ids(objects_: Sequence[GraphObject]) -> list[str]:
    return list(dict.fromkeys(text(obj, "id") for obj in objects_ if text(obj, "id")))


class _Rule:
    """Per-rule values: which grants or assignments a rule's `{grantId}` means."""

    def __init__(self, facts: TenantFacts) -> None:
        self.facts = facts

    def _grants(self, keep: Callable[[GraphObject], bool]) -> list[str]:
        app = self.facts.app
        return _ids([g for g in self.facts.delegated_grants_of(app) if keep(g)]) if app else []

    def _on_exchange(self, resource_id: str) -> bool:
        exchange = self.facts.exchange_sp
        return bool(exchange) and object_id(exchange) == resource_id.lower()

    def grants(self, rule_id: str) -> list[str]:
        facts = self.facts
        if rule_id == "HDM-GR-01":
            return self._grants(lambda g: text(g, "consentType") == "AllPrincipals"
                                and facts.is_graph(text(g, "resourceId")))
        if rule_id == "HDM-GR-02":
            allowed = {scope.lower() for scope in facts.params.allowed_graph_scopes}
            return self._grants(lambda g: not facts.is_graph(text(g, "resourceId"))
                                or any(s.lower() not in allowed for s in scopes(g)))
        if rule_id == "HDM-GR-04":
            return self._grants(lambda g: text(g, "consentType") == "Principal")
        if rule_id == "HDM-LEG-01":
            return self._grants(lambda g: self._on_exchange(text(g, "resourceId")))
        return []

    def assignments(self, rule_id: str) -> list[str]:
        app = self.facts.app
        if not app or rule_id not in ("HDM-GR-03", "HDM-LEG-01"):
            return []
        held = self.facts.app_role_assignments_of(app)
        if rule_id == "HDM-LEG-01":
            held = [a for a in held if self._on_exchange(text(a, "resourceId"))]
        return _ids(held)


def _evidence_ids(
    evidence: Mapping[str, Any], key: str, field: str, keep: Callable[[dict[str, Any]], bool]
) -> list[str]:
    rows = evidence.get(key)
    if not isinstance(rows, list):
        return []
    return [str(row[field]) for row in rows if isinstance(row, dict) and row.get(field) and keep(row)]


def known_values(rule_id: str, facts: TenantFacts, evidence: Mapping[str, Any]) -> Values:
    """Every placeholder value the snapshot holds for this rule's remediation."""
    rule = _Rule(facts)
    app = _safely(lambda: [text(facts.app, "id")])
    return {
        "tenant": [facts.snapshot.tenant.id] if facts.snapshot.tenant.id else [],
        "appId": _safely(lambda: [facts.app_id or ""]),
        "servicePrincipalId": app,
        "graphServicePrincipalId": _safely(lambda: [text(facts.graph_sp, "id")]),
        "grantId": _safely(lambda: rule.grants(rule_id)),
        "appRoleAssignmentId": _safely(lambda: rule.assignments(rule_id)),
        "leftoverServicePrincipalId": _evidence_ids(evidence, "leftovers", "id", lambda _: True),
        "appConsentRequestId": _safely(lambda: _ids(app_consent_requests(facts))),
        "staleReviewerUserId": _evidence_ids(
            evidence, "reviewers", "id", lambda row: row.get("kind") == "user" and row.get("resolved") is False),
    }
