"""Evaluation: a pure function of (snapshot, rule pack) → Result. No network, no clock.

Each rule's finding is decided in this order:
1. a prerequisite rule failed or does not apply → `not_applicable` (the rule has nothing to judge);
2. a prerequisite rule is itself `error` → `error` if a source the rule reads was not collected,
   else `not_applicable` (DESIGN §4: "not_applicable when SP-01 not pass");
3. otherwise the check decides, and reading a source that was not collected makes it `error`,
   naming the Graph error: never a pass or not_applicable on data that is not there.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from auditor import __version__
from auditor.evaluate.approvers import find_approvers
from auditor.evaluate.checks import CHECKS
from auditor.evaluate.checks.registry import Outcome
from auditor.evaluate.cloud import localize
from auditor.evaluate.facts import SourceUnavailable, TenantFacts
from auditor.evaluate.paths import GRANTED_RULES, WORKFLOW_RULES, consent_paths, decide_verdict
from auditor.evaluate.remediation_values import fill, known_values, placeholders
from auditor.evaluate.rulepack import Remediation, Rule, RulePack, Severity, read_rule_pack
from auditor.model.errors import ExitCode, InputError, read_input
from auditor.model.graph_objects import text
from auditor.model.resources import DEFAULT_RULE_PACK
from auditor.model.result import (
    AppRef,
    Finding,
    Result,
    RulePackRef,
    Status,
    Summary,
    TenantRef,
    ToolRef,
)
from auditor.model.snapshot import Snapshot, Source

# Score weights: a high-severity rule counts three times a low one; `info` does not count.
SEVERITY_WEIGHTS = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


def _unavailable(name: str, source: Source) -> Outcome:
    error = source.error
    detail = error.describe() if error else source.status.value
    return Outcome(
        Status.ERROR,
        f"Could not evaluate: source '{name}' was not read ({detail}).",
        {"source": name, "status": source.status.value, "error_code": error.code if error else None},
    )


def _decide(rule_id: str, facts: TenantFacts, decided: dict[str, Status]) -> Outcome:
    spec = CHECKS[rule_id]
    prerequisites = {req: decided.get(req) for req in spec.requires}
    unmet = [req for req, status in prerequisites.items() if status in (Status.FAIL, Status.NOT_APPLICABLE)]
    if unmet:
        return Outcome(Status.NOT_APPLICABLE, f"Not applicable: {', '.join(unmet)} did not pass.")
    errored = [req for req, status in prerequisites.items() if status is Status.ERROR]
    if errored:
        for name in spec.sources:
            if not (source := facts.snapshot.source(name)).ok:
                return _unavailable(name, source)
        return Outcome(Status.NOT_APPLICABLE, f"Not applicable: {', '.join(errored)} could not be decided.")
    try:
        return spec.function(facts)
    except SourceUnavailable as missing:
        return _unavailable(missing.name, missing.source)


@lru_cache(maxsize=1024)
def _remediation_text(remediation: Remediation, cloud: str) -> str:
    """A rule's remediation for a cloud, built once: every finding without values of its own shares it."""
    return localize(remediation.as_text(), cloud)


def _finding(rule: Rule, outcome: Outcome, facts: TenantFacts) -> Finding:
    remediation = _remediation_text(rule.remediation, facts.snapshot.cloud)
    names = placeholders(remediation)
    if names:
        remediation = fill(remediation, known_values(rule.id, facts, outcome.evidence, names))
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        category=rule.category,
        severity=rule.severity,
        status=outcome.status,
        message=outcome.message,
        evidence=outcome.evidence,
        remediation=remediation,
        references=list(rule.references),
        frameworks=dict(rule.frameworks),
    )


def _with_every_rule(decided: dict[str, Status]) -> dict[str, Status]:
    """Statuses of every rule a path reads; a rule a custom pack left out counts as not decided."""
    return {rule: decided.get(rule, Status.NOT_APPLICABLE) for rule in (*GRANTED_RULES, *WORKFLOW_RULES)} | decided


def parse_rule_pack(text: str, origin: str) -> RulePack:
    """Parse and validate a rule pack, including that every rule has a check and every check a rule."""
    pack = read_rule_pack(text, origin)
    ids = [rule.id for rule in pack.rules]
    without_check = [rule_id for rule_id in ids if rule_id not in CHECKS]
    if without_check:
        raise InputError(f"{origin}: rule(s) without a check: {', '.join(without_check)}")
    without_rule = [rule_id for rule_id in CHECKS if rule_id not in ids]
    if without_rule:
        raise InputError(f"{origin}: check(s) without a rule: {', '.join(without_rule)}")
    return pack


def load_rule_pack(path: Path | None = None) -> RulePack:
    """The rule pack at `path` (default: the shipped hd-meeting pack), validated against the checks."""
    path = path or DEFAULT_RULE_PACK
    return parse_rule_pack(read_input(path, "rule pack"), origin=str(path))


def summarize(findings: list[Finding]) -> Summary:
    """Counts by status and a 0–100 score: the severity-weighted share of evaluated rules that pass.

    Not-applicable rules are left out; an `error` counts against the score, since nothing was shown.
    """
    counts = {status: sum(f.status is status for f in findings) for status in Status}
    judged = [f for f in findings if f.status is not Status.NOT_APPLICABLE]
    total = sum(SEVERITY_WEIGHTS[f.severity] for f in judged)
    earned = sum(SEVERITY_WEIGHTS[f.severity] for f in judged if f.status is Status.PASS)
    score = round(100 * earned / total, 1) if total else 100.0
    return Summary(
        passed=counts[Status.PASS],
        fail=counts[Status.FAIL],
        error=counts[Status.ERROR],
        not_applicable=counts[Status.NOT_APPLICABLE],
        score=score,
    )


def evaluate(
    snapshot: Snapshot,
    pack: RulePack,
    *,
    app_id: str | None = None,
    generated_at: datetime | None = None,
) -> Result:
    """Evaluate every rule of the pack, in pack order, against the snapshot."""
    return evaluate_facts(TenantFacts(snapshot, pack.parameters, app_id), pack, generated_at=generated_at)


def evaluate_facts(facts: TenantFacts, pack: RulePack, *, generated_at: datetime | None = None) -> Result:
    """Like `evaluate`, on facts the caller keeps (the report tables are built from the same facts)."""
    snapshot = facts.snapshot
    decided: dict[str, Status] = {}
    findings = []
    for rule in pack.rules:
        outcome = _decide(rule.id, facts, decided)
        decided[rule.id] = outcome.status
        findings.append(_finding(rule, outcome, facts))
    app = facts.app if snapshot.source("service_principals").ok else None
    messages = {finding.rule_id: finding.message for finding in findings}
    paths = consent_paths(facts, _with_every_rule(decided), messages, find_approvers(facts))
    return Result(
        generated_at=generated_at or datetime.now(timezone.utc).replace(microsecond=0),
        collected_at=snapshot.collected_at,
        tool=ToolRef(version=__version__),
        tenant=TenantRef(id=snapshot.tenant.id, display_name=snapshot.tenant.display_name, cloud=snapshot.cloud),
        rule_pack=RulePackRef(id=pack.id, version=pack.version),
        app=AppRef(
            app_id=facts.given_app_id or text(app, "appId") or None,
            display_name=text(app, "displayName") or pack.parameters.app_display_name,
            service_principal_id=text(app, "id") or None,
        ),
        verdict=decide_verdict(decided, paths),
        paths=paths,
        summary=summarize(findings),
        findings=findings,
    )


def exit_code(result: Result, fail_on: Severity) -> ExitCode:
    """DESIGN §6: an `error` finding → 3; a failure at or above `fail_on` → 1; otherwise 0.

    A failure under an unexpired risk acceptance (`--exceptions`) does not count.
    """
    if any(f.status is Status.ERROR for f in result.findings):
        return ExitCode.INCOMPLETE
    if any(f.status is Status.FAIL and not f.waived and f.severity.rank >= fail_on.rank for f in result.findings):
        return ExitCode.FINDINGS
    return ExitCode.OK
