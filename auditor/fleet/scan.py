"""One tenant of a fleet: `auditor scan` on the worker's event loop; its failures become its outcome.

The tenant's waits for Graph are awaited on the loop the worker's other tenants share; evaluating,
rendering, writing and recording run inline once its snapshot is in (CPU work that threads would
only fight over). What the fleet keeps of it afterwards is a `TenantOutcome`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from auditor.collect import collect_for_pack_async
from auditor.collect.progress import SilentProgress
from auditor.evaluate.acceptance import Acceptance
from auditor.evaluate.rulepack import RulePack, Severity
from auditor.fleet.outcome import AuditedTenant, TenantOutcome
from auditor.fleet.tenants_file import TenantRow
from auditor.model.errors import AuditorError, CollectionError, ExitCode, worst_exit
from auditor.model.output import write_all
from auditor.model.result import Status
from auditor.model.snapshot import Snapshot
from auditor.report.report_model import ReportContext
from auditor.report.reporting import Branding, ReportFormat, build_report, render, run_exit_code

if TYPE_CHECKING:
    from auditor.history.drift import RunState
    from auditor.model.result import Result


class RunHistory(Protocol):
    """Where a fleet's runs are stored (a HistoryStore): the previous run of a tenant, and recording one."""

    def latest(self, tenant_id: str, count: int = 1) -> list[RunState]: ...

    def record(self, result: Result) -> int: ...


@dataclass(frozen=True)
class FleetJob:
    """What every tenant of the fleet shares: the rule pack, the report formats, the exit threshold, the folder,
    the branding, the accepted risks and where the history is (each worker process opens its own store)."""

    pack: RulePack
    formats: Sequence[ReportFormat]
    fail_on: Severity
    out: Path
    branding: Branding = field(default_factory=Branding)
    acceptances: Sequence[Acceptance] = ()
    history_url: str | None = None


def incomplete_note(context: ReportContext) -> str:
    """One line for a tenant with `error` findings: which rules, and which sources could not be read, and why."""
    rules = [f.rule_id for f in context.result.findings if f.status is Status.ERROR]
    # The permission is named where Graph refused it; a timeout or an outage is no permissions problem.
    unread = [f"{row.source} ({row.error}" + (f"; needs {row.permission})" if row.status == "forbidden" else ")")
              for row in context.tables.sources if row.status != "ok"]
    note = f"{len(rules)} rule(s) could not be evaluated ({', '.join(rules)})"
    # Graph's error messages are not ours: the error class makes them one printable line.
    return str(CollectionError(note + (f"; not read: {'; '.join(unread)}" if unread else "")))


def _unexpected(exc: Exception) -> CollectionError:
    return CollectionError(f"unexpected {type(exc).__name__}: {exc}")


async def scan_tenant(tenant: TenantRow, job: FleetJob, history: RunHistory | None) -> TenantOutcome:
    """Collect, evaluate, write and record one tenant; never raises (but for cancellation)."""
    try:
        snapshot = await collect_for_pack_async(tenant.live, job.pack, tenant.app_id, progress=SilentProgress())
    except AuditorError as exc:
        return TenantOutcome(tenant, exc.exit_code, error=str(exc))
    except Exception as exc:  # a bug or an unforeseen fault in one tenant must not end the others
        error = _unexpected(exc)
        return TenantOutcome(tenant, error.exit_code, error=str(error))
    return await _report(tenant, snapshot, job, history)


def _previous_run(history: RunHistory | None, tenant_id: str) -> tuple[RunState | None, str | None]:
    """The tenant's previous run for "changes since"; a history that cannot be read now (locked, gone away)
    costs the report its changes, not its findings: the tenant is still scanned and written, with a note."""
    if history is None:
        return None, None
    try:
        runs = history.latest(tenant_id)
    except AuditorError as exc:
        return None, f"previous run not read, so no changes are shown ({exc})"
    return (runs[-1] if runs else None), None


async def _report(tenant: TenantRow, snapshot: Snapshot, job: FleetJob, history: RunHistory | None) -> TenantOutcome:
    """Evaluate the tenant's snapshot, write its reports as one set (in a thread: waiting for the disk to
    sync them must not stall the other tenants' collection), record the run."""
    previous, unread = _previous_run(history, snapshot.tenant.id)
    try:
        context = build_report(snapshot, job.pack, tenant.app_id, job.branding, acceptances=job.acceptances,
                               previous=previous)
        files = render(context, job.formats)
    except AuditorError as exc:
        return TenantOutcome(tenant, exc.exit_code, error=str(exc))
    except Exception as exc:
        error = _unexpected(exc)
        return TenantOutcome(tenant, error.exit_code, error=str(error))
    result = context.result
    audited = AuditedTenant.of(result)
    try:
        await asyncio.to_thread(write_all, job.out / tenant.folder, files)
    except AuditorError as exc:
        return TenantOutcome(tenant, exc.exit_code, audited, str(exc))
    code = run_exit_code(result, job.fail_on)
    note = "; ".join(filter(None, (incomplete_note(context) if code is ExitCode.INCOMPLETE else None, unread))) or None
    try:
        if history:
            history.record(result)
    except AuditorError as exc:  # the reports are written: the tenant keeps them, its outcome says why
        code, note = worst_exit((code, exc.exit_code)), "; ".join(filter(None, (note, str(exc))))
    return TenantOutcome(tenant, code, audited, note, tuple(files))
