"""The fleet's outcome: `fleet.json` (issue 5, contract), the worst-first order of the reports, the exit code."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from auditor.fleet.outcome import TenantOutcome
from auditor.model.errors import EXIT_PRECEDENCE
from auditor.model.result import Summary, Verdict

FLEET_SCHEMA_VERSION = 1
# Worst first: no verdict at all (failed before evaluation), then not known, then cannot work, then the
# verdicts that need the most from people before HD Meeting works.
VERDICT_ORDER = (
    None, Verdict.UNKNOWN, Verdict.BLOCKED, Verdict.READY_VIA_WORKFLOW, Verdict.READY_VIA_USER_CONSENT, Verdict.READY,
)


class FleetTenant(BaseModel):
    name: str | None  # the row's name
    tenant_id: str | None  # the row's tenant_id, else the id Graph reported
    verdict: Verdict | None  # None when the tenant failed before evaluation
    summary: Summary | None
    exit_code: int
    error: str | None  # one line, or None


class FleetSummary(BaseModel):
    schema_version: int = FLEET_SCHEMA_VERSION
    interrupted: str | None = None  # SIGINT or SIGTERM: the run was stopped, its unscanned tenants say so
    tenants: list[FleetTenant]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True) + "\n"


def worst_first(outcomes: Sequence[TenantOutcome]) -> list[TenantOutcome]:
    """By exit code precedence, then verdict, then score (lowest first); ties by folder name."""

    def badness(outcome: TenantOutcome) -> tuple[int, int, float, str]:
        audited = outcome.audited
        return (
            -EXIT_PRECEDENCE.index(outcome.exit_code),
            VERDICT_ORDER.index(audited.verdict if audited else None),
            audited.summary.score if audited else -1.0,
            outcome.tenant.folder.lower(),
        )

    return sorted(outcomes, key=badness)


def fleet_summary(outcomes: Sequence[TenantOutcome], interrupted: str | None = None) -> FleetSummary:
    """The tenants in the tenants file's order."""
    return FleetSummary(interrupted=interrupted, tenants=[
        FleetTenant(
            name=outcome.tenant.name,
            tenant_id=outcome.tenant_id,
            verdict=outcome.audited.verdict if outcome.audited else None,
            summary=outcome.audited.summary.summary() if outcome.audited else None,
            exit_code=int(outcome.exit_code),
            error=outcome.error,
        )
        for outcome in outcomes
    ])
