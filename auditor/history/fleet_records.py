"""What the history keeps of each tenant of an `auditor fleet` run: its fleet.json row and where it ran.

The runs table holds only evaluated, identified tenants (and not the tenants file's name, the row's
tenant_id or the exit code); a fleet row also exists for a tenant whose sign-in failed. So every
fleet run (each shard) stores one `FleetRecord` per tenant, and `auditor fleet-report` merges the
latest record of each tenant into one fleet.json as the unsharded run would have written it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from auditor.history.schema import storable
from auditor.model.result import Summary, Verdict


@dataclass(frozen=True)
class AuditedRecord:
    """The evaluated tenant: the id and name Graph reported, its verdict and summary."""

    tenant_id: str
    tenant_name: str
    verdict: Verdict
    summary: Summary


@dataclass(frozen=True)
class FleetRecord:
    key: str  # hex SHA-256 of the row's shard key (auditor.fleet.shard)
    started_at: datetime  # UTC: when the fleet run (shard) started
    shard: str  # "K/N"
    row: int
    name: str | None
    row_tenant_id: str | None
    folder: str
    exit_code: int
    error: str | None
    audited: AuditedRecord | None


def _text(value: str | None) -> str | None:
    return storable(value) if value is not None else None


def row_of(record: FleetRecord) -> dict[str, Any]:
    audited = record.audited
    summary = audited.summary if audited else None
    return {
        "key": record.key, "started_at": record.started_at, "shard": record.shard, "row": record.row,
        "name": _text(record.name), "row_tenant_id": _text(record.row_tenant_id), "folder": record.folder,
        "exit_code": record.exit_code, "error": _text(record.error),
        "tenant_id": _text(audited.tenant_id) if audited else None,
        "tenant_name": _text(audited.tenant_name) if audited else None,
        "verdict": audited.verdict.value if audited else None,
        "score": summary.score if summary else None,
        "passed": summary.passed if summary else None,
        "failed": summary.fail if summary else None,
        "errors": summary.error if summary else None,
        "not_applicable": summary.not_applicable if summary else None,
    }


def record_of(row: Row[Any], started_at: datetime) -> FleetRecord:
    audited = None
    if row.verdict is not None:
        summary = Summary(passed=row.passed, fail=row.failed, error=row.errors, not_applicable=row.not_applicable,
                          score=row.score)
        audited = AuditedRecord(row.tenant_id, row.tenant_name, Verdict(row.verdict), summary)
    return FleetRecord(row.key, started_at, row.shard, row.row, row.name, row.row_tenant_id, row.folder,
                       row.exit_code, row.error, audited)
