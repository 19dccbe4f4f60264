"""Drift between two runs of a tenant: which rules got worse, which got better, whose evidence changed.

Statuses are ranked from best to worst: pass > not_applicable > fail > error. A rule whose status
moved down that order `regressed`, up `improved`. `not_applicable` ranks below `pass` because the
rule no longer assures anything (a prerequisite went away); `error` ranks below `fail` because nothing
was seen at all, as in the exit codes (3 over 1). A rule with the same status but different evidence
(other objects, scopes or ages behind it) is `evidence-changed`; a rule only in the newer run is
`new`, one only in the older run `removed`.

The drift gate (`auditor diff`, exit 1) trips on a regression at or above a severity, unless the
newer finding is a failure under an unexpired risk acceptance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from auditor.evaluate.rulepack import Severity
from auditor.model.result import Result, Status, Verdict
from auditor.model.tenant_text import printable

STATUS_RANK = {Status.PASS: 0, Status.NOT_APPLICABLE: 1, Status.FAIL: 2, Status.ERROR: 3}


class ChangeKind(str, Enum):
    """How one rule changed; listed in the order a reader should look at them."""

    REGRESSED = "regressed"
    NEW = "new"
    REMOVED = "removed"
    IMPROVED = "improved"
    EVIDENCE_CHANGED = "evidence-changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RuleState:
    """One rule's finding as far as drift is concerned."""

    rule_id: str
    title: str
    severity: Severity
    status: Status
    evidence: dict[str, Any]  # plain JSON values
    waived: bool = False  # a failure under an unexpired risk acceptance


@dataclass(frozen=True)
class RunState:
    """One run of one tenant: from a result.json or from the history."""

    tenant_id: str
    tenant_name: str
    generated_at: datetime
    collected_at: datetime
    verdict: Verdict
    score: float
    rules: tuple[RuleState, ...]

    @classmethod
    def of(cls, result: Result) -> RunState:
        findings = result.to_dict()["findings"]  # evidence as plain JSON, as the history stores it
        return cls(
            tenant_id=result.tenant.id,
            tenant_name=result.tenant.display_name,
            generated_at=result.generated_at,
            collected_at=result.collected_at,
            verdict=result.verdict,
            score=result.summary.score,
            rules=tuple(
                RuleState(f.rule_id, f.title, f.severity, f.status, data["evidence"], f.waived)
                for f, data in zip(result.findings, findings, strict=True)
            ),
        )


@dataclass(frozen=True)
class RuleChange:
    rule_id: str
    title: str
    severity: Severity
    kind: ChangeKind
    old_status: Status | None  # None: the rule is new
    new_status: Status | None  # None: the rule was removed
    evidence_keys: tuple[str, ...] = ()  # top-level evidence keys whose values differ
    accepted: bool = False  # the newer finding is a failure under an unexpired risk acceptance

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "severity": self.severity.value,
            "kind": self.kind.value,
            "old_status": self.old_status.value if self.old_status else None,
            "new_status": self.new_status.value if self.new_status else None,
            "evidence_keys": list(self.evidence_keys),
            "accepted": self.accepted,
        }


@dataclass(frozen=True)
class Drift:
    """What changed from the `old` run to the `new` one, rule by rule (in the newer run's order)."""

    old: RunState
    new: RunState
    changes: tuple[RuleChange, ...]

    def of_kind(self, kind: ChangeKind) -> list[RuleChange]:
        return [change for change in self.changes if change.kind is kind]

    @property
    def counts(self) -> dict[ChangeKind, int]:
        return {kind: len(self.of_kind(kind)) for kind in ChangeKind}

    @property
    def verdict_changed(self) -> bool:
        return self.old.verdict is not self.new.verdict

    @property
    def score_delta(self) -> float:
        return round(self.new.score - self.old.score, 1)

    def gate_failures(self, fail_on: Severity = Severity.INFO) -> list[RuleChange]:
        """The regressions that fail the drift gate: at or above `fail_on`, and not accepted."""
        return [
            change for change in self.of_kind(ChangeKind.REGRESSED)
            if not change.accepted and change.severity.rank >= fail_on.rank
        ]

    def to_dict(self) -> dict[str, Any]:
        def run(state: RunState) -> dict[str, Any]:
            return {
                "tenant": {"id": state.tenant_id, "display_name": state.tenant_name},
                "generated_at": _iso(state.generated_at),
                "collected_at": _iso(state.collected_at),
                "verdict": state.verdict.value,
                "score": state.score,
            }

        return {
            "old": run(self.old),
            "new": run(self.new),
            "verdict_changed": self.verdict_changed,
            "score_delta": self.score_delta,
            "counts": {kind.value: count for kind, count in self.counts.items()},
            "changes": [change.to_dict() for change in self.changes],
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_MISSING = object()


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(key for key in old.keys() | new.keys() if old.get(key, _MISSING) != new.get(key, _MISSING)))


def _change(old: RuleState | None, new: RuleState | None) -> RuleChange:
    shown = new or old
    assert shown is not None
    keys: tuple[str, ...] = ()
    if old is None:
        kind = ChangeKind.NEW
    elif new is None:
        kind = ChangeKind.REMOVED
    elif STATUS_RANK[new.status] > STATUS_RANK[old.status]:
        kind = ChangeKind.REGRESSED
    elif STATUS_RANK[new.status] < STATUS_RANK[old.status]:
        kind = ChangeKind.IMPROVED
    else:
        keys = _changed_keys(old.evidence, new.evidence)
        kind = ChangeKind.EVIDENCE_CHANGED if keys else ChangeKind.UNCHANGED
    return RuleChange(
        rule_id=shown.rule_id,
        title=shown.title,
        severity=shown.severity,
        kind=kind,
        old_status=old.status if old else None,
        new_status=new.status if new else None,
        evidence_keys=keys,
        accepted=bool(new and new.waived),
    )


def diff(old: RunState, new: RunState) -> Drift:
    """Classify every rule of either run; rules of the newer run first, in its order, then removed ones."""
    before = {rule.rule_id: rule for rule in old.rules}
    after = {rule.rule_id: rule for rule in new.rules}
    order = [*after, *(rule_id for rule_id in before if rule_id not in after)]
    return Drift(old, new, tuple(_change(before.get(rule_id), after.get(rule_id)) for rule_id in order))


# --- text ---------------------------------------------------------------------------------------

_HEADINGS = {
    ChangeKind.REGRESSED: "Regressed",
    ChangeKind.NEW: "New rules",
    ChangeKind.REMOVED: "Removed rules",
    ChangeKind.IMPROVED: "Improved",
    ChangeKind.EVIDENCE_CHANGED: "Evidence changed",
}


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _status(status: Status | None) -> str:
    return status.value if status else "—"


def _lines(change: RuleChange) -> list[str]:
    if change.kind is ChangeKind.EVIDENCE_CHANGED:
        what = _status(change.new_status)
    else:
        what = f"{_status(change.old_status)} → {_status(change.new_status)}"
    accepted = " (accepted risk)" if change.accepted else ""
    lines = [f"  {change.rule_id:<12} {change.severity.value:<8} {what:<24} {change.title}{accepted}"]
    if change.evidence_keys:
        lines.append(f"  {'':<12} {'':<8} changed: {', '.join(change.evidence_keys)}")
    return lines


def summary_line(drift: Drift) -> str:
    """One line for the scan's console summary."""
    changed = {kind: n for kind, n in drift.counts.items() if n and kind is not ChangeKind.UNCHANGED}
    counts = ", ".join(f"{n} {kind.value}" for kind, n in changed.items())
    verdict = f"; verdict {drift.old.verdict.value} → {drift.new.verdict.value}" if drift.verdict_changed else ""
    return f"Since the previous scan ({_when(drift.old.generated_at)}): {counts or 'no change'}{verdict}"


def format_text(drift: Drift) -> str:
    """The drift as readable text: header, then the changed rules grouped by kind, most severe first."""
    old, new = drift.old, drift.new
    lines = [printable(f"Tenant {new.tenant_name or new.tenant_id} ({new.tenant_id})")]
    if old.tenant_id.lower() != new.tenant_id.lower():
        lines.append(printable(f"Note: the older run is of another tenant: {old.tenant_name} ({old.tenant_id})"))
    lines += [
        f"Runs:    {_when(old.generated_at)} → {_when(new.generated_at)}",
        f"Verdict: {old.verdict.value} → {new.verdict.value}" if drift.verdict_changed
        else f"Verdict: {new.verdict.value} (unchanged)",
        f"Score:   {old.score:g} → {new.score:g} ({drift.score_delta:+g})",
    ]
    for kind, heading in _HEADINGS.items():
        changes = sorted(drift.of_kind(kind), key=lambda change: -change.severity.rank)  # most severe first
        if changes:
            lines += ["", f"{heading} ({len(changes)}):"]
            lines += [line for change in changes for line in _lines(change)]
    lines += ["", f"Unchanged: {drift.counts[ChangeKind.UNCHANGED]} rule(s)"]
    return "\n".join(lines) + "\n"

