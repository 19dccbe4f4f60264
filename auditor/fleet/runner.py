"""Run a fleet: each tenant collected, evaluated and written exactly as `auditor scan` does, a bounded number at once.

Each tenant runs in a worker thread of its own, and `collect_snapshot` builds a new credential, Graph
client and event loop for every call: no token, token cache or data can cross from one tenant to
another. Threads rather than one shared event loop, because azure-identity's credentials block
while they fetch a token, which would stall every other tenant in that loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.collect import collect_for_pack
from auditor.collect.progress import SilentProgress
from auditor.evaluate.acceptance import Acceptance
from auditor.evaluate.rulepack import RulePack, Severity
from auditor.fleet.tenants_file import TenantRow
from auditor.model.errors import AuditorError, CollectionError, ExitCode, worst_exit
from auditor.model.output import write_all
from auditor.model.result import Result, Status
from auditor.report.report_model import ReportContext
from auditor.report.reporting import Branding, ReportFormat, build_report, render, run_exit_code

if TYPE_CHECKING:
    from auditor.history.store import HistoryStore


@dataclass(frozen=True)
class FleetJob:
    """What every tenant of the fleet shares: the rule pack, the report formats, the exit threshold, the folder,
    the branding, the accepted risks and the history."""

    pack: RulePack
    formats: Sequence[ReportFormat]
    fail_on: Severity
    out: Path
    branding: Branding = field(default_factory=Branding)
    acceptances: Sequence[Acceptance] = ()
    history: HistoryStore | None = None


@dataclass(frozen=True)
class TenantOutcome:
    tenant: TenantRow
    exit_code: ExitCode
    result: Result | None = None  # None when the tenant failed before evaluation
    error: str | None = None  # one line: why it failed or what could not be read
    files: tuple[str, ...] = ()  # report files written into the tenant's folder

    @property
    def failed(self) -> bool:
        """Not fully audited: bad input for this tenant, collection incomplete, or the run not in the history."""
        return self.exit_code in (ExitCode.USAGE, ExitCode.INCOMPLETE, ExitCode.NOT_RECORDED)


def incomplete_note(context: ReportContext) -> str:
    """One line for a tenant with `error` findings: which rules, and which sources could not be read, and why."""
    rules = [f.rule_id for f in context.result.findings if f.status is Status.ERROR]
    unread = [f"{row.source} ({row.error}; needs {row.permission})" for row in context.tables.sources
              if row.status != "ok"]
    note = f"{len(rules)} rule(s) could not be evaluated ({', '.join(rules)})"
    # Graph's error messages are not ours: the error class makes them one printable line.
    return str(CollectionError(note + (f"; not read: {'; '.join(unread)}" if unread else "")))


def scan_tenant(tenant: TenantRow, job: FleetJob) -> TenantOutcome:
    """`auditor scan` for one tenant; its failures become its outcome instead of ending the fleet."""
    try:
        snapshot = collect_for_pack(tenant.live, job.pack, tenant.app_id, progress=SilentProgress())
        previous = job.history.latest(snapshot.tenant.id) if job.history else []
        context = build_report(snapshot, job.pack, tenant.app_id, job.branding, acceptances=job.acceptances,
                               previous=previous[-1] if previous else None)
        files = render(context, job.formats)
    except AuditorError as exc:
        return TenantOutcome(tenant, exc.exit_code, error=str(exc))
    except Exception as exc:  # a bug or an unforeseen fault in one tenant must not end the others
        error = CollectionError(f"unexpected {type(exc).__name__}: {exc}")
        return TenantOutcome(tenant, error.exit_code, error=str(error))
    result = context.result
    try:
        write_all(job.out / tenant.folder, files)
    except AuditorError as exc:
        return TenantOutcome(tenant, exc.exit_code, result, str(exc))
    code = run_exit_code(result, job.fail_on)
    note = incomplete_note(context) if code is ExitCode.INCOMPLETE else None
    try:
        if job.history:
            job.history.record(result)
    except AuditorError as exc:  # the reports are written: the tenant keeps them, its outcome says why
        code, note = worst_exit((code, exc.exit_code)), "; ".join(filter(None, (note, str(exc))))
    return TenantOutcome(tenant, code, result, note, tuple(files))


def run_fleet(
    tenants: Sequence[TenantRow],
    job: FleetJob,
    concurrency: int,
    on_done: Callable[[TenantOutcome], None] = lambda outcome: None,
) -> list[TenantOutcome]:
    """Scan every tenant, at most `concurrency` at once; outcomes in the tenants' order, `on_done` as each ends."""
    outcomes: dict[int, TenantOutcome] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(tenants))), thread_name_prefix="tenant")
    try:
        futures: dict[Future[TenantOutcome], int] = {
            pool.submit(scan_tenant, tenant, job): index for index, tenant in enumerate(tenants)
        }
        for future in as_completed(futures):
            outcome = outcomes[futures[future]] = future.result()
            on_done(outcome)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # on Ctrl-C: start no further tenant
    return [outcomes[index] for index in range(len(tenants))]
