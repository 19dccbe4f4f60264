"""The check registry and the types a check works with.

A check is a pure function of `TenantFacts` returning an `Outcome`. It is registered under its
rule id with the sources it reads (for documentation: which permission each rule needs) and the
rules that must pass before it applies (otherwise its finding is `not_applicable`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.evaluate.facts import SourceUnavailable, TenantFacts
from auditor.model.result import Status


@dataclass(frozen=True)
class Outcome:
    status: Status
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


def passed(message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.PASS, message, evidence)


def failed(message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.FAIL, message, evidence)


def errored(message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.ERROR, message, evidence)


def undecided(message: str, missing: Iterable[SourceUnavailable] = (), **evidence: Any) -> Outcome:
    """`error`: what was read does not decide the rule; names the Graph error of each unread source."""
    unread = {m.name: m.source for m in missing}
    if unread:
        details = "; ".join(
            f"{name}: {source.error.describe() if source.error else source.status.value}"
            for name, source in unread.items()
        )
        message = f"{message} Source(s) not read — {details.rstrip('.')}."
        evidence["unread_sources"] = {
            name: source.error.code if source.error else source.status.value for name, source in unread.items()
        }
    return Outcome(Status.ERROR, message, evidence)


def pass_if(ok: bool, if_pass: str, if_fail: str, **evidence: Any) -> Outcome:
    return passed(if_pass, **evidence) if ok else failed(if_fail, **evidence)


CheckFunction = Callable[[TenantFacts], Outcome]


@dataclass(frozen=True)
class Check:
    rule_id: str
    function: CheckFunction
    sources: tuple[str, ...]
    requires: tuple[str, ...] = ()


CHECKS: dict[str, Check] = {}


def check(rule_id: str, *, sources: tuple[str, ...], requires: tuple[str, ...] = ()) -> Callable[
    [CheckFunction], CheckFunction
]:
    """Register a check function for `rule_id`."""

    def register(function: CheckFunction) -> CheckFunction:
        if rule_id in CHECKS:
            raise RuntimeError(f"two checks for {rule_id}")
        CHECKS[rule_id] = Check(rule_id, function, sources, requires)
        return function

    return register
