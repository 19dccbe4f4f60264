"""A fleet in the history: each run (or shard) stores its tenants' rows, `auditor fleet-report` merges the latest.

What a shard stores per tenant is exactly what its fleet.json says (name, tenant_id, verdict,
summary, exit code, error), failed tenants included, plus the row number (the merged order is the
tenants file's), the folder and the shard. So the merged fleet.json of N shards equals the fleet.json
of one unsharded run of the same file. Tenant reports are not in the history: they stay in the
folders the shards wrote, on their machines, and the merged pages do not link them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from auditor.collect.options import LiveOptions
from auditor.fleet.outcome import AuditedTenant, Counts, TenantOutcome
from auditor.fleet.shard import Shard, key_digest, shard_key
from auditor.fleet.tenants_file import TenantRow
from auditor.history.fleet_records import AuditedRecord, FleetRecord
from auditor.history.location import HistoryError
from auditor.model.errors import AuditorError, ExitCode, worst_exit

if TYPE_CHECKING:
    from auditor.history.store import HistoryStore


def record_key(tenant: TenantRow) -> str:
    """Which fleet row a record is the latest of: the tenant (its shard key) and the app checked in it, so
    that two rows checking two app ids in one tenant stay two rows of the merged fleet."""
    return key_digest(f"{shard_key(tenant)}|app:{(tenant.app_id or '').lower()}").hex()


def _record(outcome: TenantOutcome, shard: Shard, started_at: datetime) -> FleetRecord:
    tenant, audited = outcome.tenant, outcome.audited
    return FleetRecord(
        key=record_key(tenant), started_at=started_at, shard=str(shard), row=tenant.row,
        name=tenant.name, row_tenant_id=tenant.tenant_id, folder=tenant.folder, exit_code=int(outcome.exit_code),
        error=outcome.error,
        audited=AuditedRecord(audited.tenant_id, audited.display_name, audited.verdict, audited.summary.summary())
        if audited else None,
    )


def _with_note(outcome: TenantOutcome, code: ExitCode, note: str) -> TenantOutcome:
    return replace(outcome, exit_code=worst_exit((outcome.exit_code, code)),
                   error="; ".join(filter(None, (outcome.error, note))))


def record_fleet(store: HistoryStore, outcomes: Sequence[TenantOutcome], shard: Shard,
                 started_at: datetime) -> list[TenantOutcome]:
    """Store the fleet's rows; when that fails every tenant is "not in history" (exit 4) with the reason:
    its reports are written, but a merged fleet report would not show it."""
    try:
        store.record_fleet([_record(outcome, shard, started_at) for outcome in outcomes])
    except AuditorError as exc:
        return [_with_note(outcome, exc.exit_code, str(exc)) for outcome in outcomes]
    return list(outcomes)


def _outcome(record: FleetRecord, label: str) -> TenantOutcome:
    try:
        code = ExitCode(record.exit_code)
    except ValueError:
        raise HistoryError(f"history {label}: a fleet row holds exit code {record.exit_code}, "
                           "which no auditor writes") from None
    tenant = TenantRow(row=record.row, name=record.name, tenant_id=record.row_tenant_id, folder=record.folder,
                       live=LiveOptions(tenant_id=record.row_tenant_id), app_id=None)  # shown, never scanned again
    audited = record.audited
    return TenantOutcome(
        tenant=tenant, exit_code=code, error=record.error,
        audited=AuditedTenant(tenant_id=audited.tenant_id, display_name=audited.tenant_name, verdict=audited.verdict,
                              summary=Counts.of(audited.summary)) if audited else None,
    )


NOT_RECORDED = ("not scanned: no fleet run of this row in the history (its shard has not run, was interrupted "
                "before reaching it, or ended before recording)")


def merged_outcomes(records: Sequence[FleetRecord], label: str, now: datetime,
                    stale_after: timedelta | None = None) -> list[TenantOutcome]:
    """The outcomes of the latest records; with `stale_after`, a tenant last scanned longer ago than that is
    incomplete (exit 3 at least), saying when: old evidence is not current evidence."""
    return [_merged(record, label, now, stale_after) for record in records]


def merged_for_rows(rows: Sequence[TenantRow], records: Sequence[FleetRecord], label: str, now: datetime,
                    stale_after: timedelta | None = None) -> tuple[list[TenantOutcome], int]:
    """One outcome per row of a tenants file, in its order: the row's latest record, or — when the history
    has none, as when a shard never ran — incomplete (exit 3) with NOT_RECORDED. Also: how many records
    belong to no row (tenants since removed from the file), which are left out."""
    latest = {record.key: record for record in records}
    outcomes = []
    for row in rows:
        record = latest.pop(record_key(row), None)
        outcomes.append(_merged(record, label, now, stale_after) if record
                        else TenantOutcome(row, ExitCode.INCOMPLETE, error=NOT_RECORDED))
    return outcomes, len(latest)


def _merged(record: FleetRecord, label: str, now: datetime, stale_after: timedelta | None) -> TenantOutcome:
    outcome = _outcome(record, label)
    if stale_after is not None and now - record.started_at > stale_after:
        when = record.started_at.strftime("%Y-%m-%d %H:%M UTC")
        outcome = _with_note(outcome, ExitCode.INCOMPLETE,
                             f"stale: last scanned {when} by shard {record.shard}, over {_hours(stale_after)} ago")
    return outcome


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"


def merged_note(records: Sequence[FleetRecord], label: str, left_out: int = 0) -> str:
    """One paragraph for fleet.html: where the rows come from, and why the tenant reports are not linked."""
    first = min(record.started_at for record in records).strftime("%Y-%m-%d %H:%M UTC")
    last = max(record.started_at for record in records).strftime("%Y-%m-%d %H:%M UTC")
    shards = ", ".join(sorted({record.shard for record in records}, key=lambda text: (len(text), text)))
    return (f"Merged from history {label}: the latest fleet run of each tenant, started from {first} to {last}, "
            f"by shard {shards}. Each tenant's reports stay in the folder named after it under the --out folder "
            "of the machine that ran its shard; they are not linked from this page."
            + (f" Left out: {left_out} {'tenant' if left_out == 1 else 'tenants'} of the history not in the "
               "tenants file." if left_out else ""))
