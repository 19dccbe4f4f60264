"""Remediation with the tenant's own values: the rule pack writes `{appId}`, `{grantId}`… and each
finding's text is filled from the snapshot, so that a command copied from a report runs as is.

A placeholder stays only where a person must choose (a reviewer to add, a user or group to assign);
the text then says what to put there. A placeholder with several values (three leftover service
principals) repeats its line once per value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
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
# A line is repeated for at most this many values; the rest are counted (a tenant with 100,000 per-user
# grants would otherwise get a 100,000-line remediation in every report).
MAX_REPEATED = 25


@lru_cache(maxsize=256)
def _lines(text_: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each line of a rule's text with the placeholders it names: parsed once per text, not per finding."""
    return tuple((line, tuple(dict.fromkeys(PLACEHOLDER.findall(line)))) for line in text_.splitlines())


def fill(text_: str, values: Mapping[str, Sequence[str]]) -> str:
    """`text_` with each known placeholder replaced; a line naming a placeholder with several values is
    repeated once per value. Placeholders left for a person are explained in a closing note."""
    if "{" not in text_:
        return text_
    lines: list[str] = []
    left: dict[str, None] = {}
    for line, names in _lines(text_):
        if not names:
            lines.append(line)
            continue
        known = [name for name in names if values.get(name)]
        left.update((name, None) for name in names if name in CHOICES and not values.get(name))
        several = next((name for name in known if len(values[name]) > 1), None)
        for value in values[several][:MAX_REPEATED] if several else [""]:
            filled = line.replace(f"{{{several}}}", value) if several else line
            for name in known:
                filled = filled.replace(f"{{{name}}}", values[name][0])
            lines.append(filled)
        if several and len(values[several]) > MAX_REPEATED:
            more = len(values[several]) - MAX_REPEATED
            lines.append(f"# and the same for {more} more {{{several}}} values: every one is in the snapshot "
                         "and in the Excel report's tables")
    result = "\n".join(lines)
    if left:
        result += "\n\nTo choose: " + "; ".join(f"{{{name}}} is {CHOICES[name]}" for name in left) + "."
    return result


def _safely(read: Callable[[], list[str]]) -> list[str]:
    """A reader's non-empty values; none when its source was not read (the placeholder then stays)."""
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


def placeholders(text_: str) -> list[str]:
    """The placeholders `text_` names, in order of first appearance."""
    return list(dict.fromkeys(name for _, names in _lines(text_) for name in names)) if "{" in text_ else []


def known_values(rule_id: str, facts: TenantFacts, evidence: Mapping[str, Any], names: Iterable[str]) -> Values:
    """The values the snapshot holds for the placeholders `names` of this rule's remediation (only those:
    most rules name two or three, and a fleet fills 17 rules per tenant)."""
    rule = _Rule(facts)
    readers: dict[str, Callable[[], list[str]]] = {
        "tenant": lambda: [facts.snapshot.tenant.id or ""],
        "appId": lambda: [facts.app_id or ""],
        "servicePrincipalId": lambda: [text(facts.app, "id")],
        "graphServicePrincipalId": lambda: [text(facts.graph_sp, "id")],
        "grantId": lambda: rule.grants(rule_id),
        "appRoleAssignmentId": lambda: rule.assignments(rule_id),
        "leftoverServicePrincipalId": lambda: _evidence_ids(evidence, "leftovers", "id", lambda _: True),
        "appConsentRequestId": lambda: _ids(app_consent_requests(facts)),
        "staleReviewerUserId": lambda: _evidence_ids(
            evidence, "reviewers", "id", lambda row: row.get("kind") == "user" and row.get("resolved") is False),
    }
    return {name: _safely(readers[name]) for name in names if name in readers}
