"""What a fleet keeps of each tenant once its reports are written: a few hundred bytes, never its findings.

A fleet of 10,000 tenants must not hold 10,000 results (each with its findings, evidence and
remediation texts) until the end: only what fleet.json, fleet.html, fleet.xlsx, the progress bar and
the exit code need. Outcomes cross from worker processes to the parent, so they are plain picklable
data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from auditor.fleet.tenants_file import TenantRow
from auditor.model.errors import ExitCode
from auditor.model.result import Result, Summary, Verdict


class Counts(NamedTuple):
    """A result's Summary as a tuple (~100 bytes; the pydantic model is ~800)."""

    passed: int
    fail: int
    error: int
    not_applicable: int
    score: float

    @classmethod
    def of(cls, summary: Summary) -> Counts:
        return cls(summary.passed, summary.fail, summary.error, summary.not_applicable, summary.score)

    def summary(self) -> Summary:
        return Summary(**self._asdict())


@dataclass(frozen=True, slots=True)
class AuditedTenant:
    """The evaluated tenant as the fleet pages show it (from its Result)."""

    tenant_id: str  # the id Graph reported (`unknown` when it reported none)
    display_name: str
    verdict: Verdict
    summary: Counts

    @classmethod
    def of(cls, result: Result) -> AuditedTenant:
        return cls(result.tenant.id, result.tenant.display_name, result.verdict, Counts.of(result.summary))


@dataclass(frozen=True, slots=True)
class TenantOutcome:
    tenant: TenantRow
    exit_code: ExitCode
    audited: AuditedTenant | None = None  # None when the tenant failed before evaluation
    error: str | None = None  # one line: why it failed or what could not be read
    files: tuple[str, ...] = ()  # report files written into the tenant's folder
    scanned: bool = True  # False: an interrupted fleet stopped before this tenant's outcome came in

    @property
    def failed(self) -> bool:
        """Not fully audited: bad input for this tenant, collection incomplete, or the run not in the history."""
        return self.exit_code in (ExitCode.USAGE, ExitCode.INCOMPLETE, ExitCode.NOT_RECORDED)

    @property
    def tenant_id(self) -> str | None:
        """The row's tenant_id, else the id Graph reported."""
        return self.tenant.tenant_id or (self.audited.tenant_id if self.audited else None)
