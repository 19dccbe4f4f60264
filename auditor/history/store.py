"""Store runs and read them back: the runs of a tenant for `auditor history`, the last two for `auditor diff`.

Every database error becomes one line naming the history by its safe label: `HistoryError` (exit 2) while
opening or reading it, before anything is written; `HistoryNotRecorded` (exit 4) when storing a run fails
after its reports were written.

Concurrency: many scans may open one history at once, even a new one. Creating the schema is serialized
(PostgreSQL: a transaction-scoped advisory lock; SQLite: `BEGIN IMMEDIATE`, which takes the write lock
before the schema is looked at), and so is storing a run. A store locked by someone else is waited for at
most `LOCK_TIMEOUT_SECONDS`, then reported as locked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, Row, create_engine, event, func, insert, inspect, or_, select
from sqlalchemy.exc import SQLAlchemyError

from auditor.evaluate.rulepack import Severity
from auditor.evaluate.tenant_identity import is_identified
from auditor.history.drift import RuleState, RunState
from auditor.history.fleet_records import FleetRecord, record_of, row_of
from auditor.history.location import HistoryError, HistoryLocation, HistoryNotRecorded, HistoryRefused, locate
from auditor.history.schema import SCHEMA_VERSION, findings, fleet_tenants, metadata, runs, schema_info, storable
from auditor.model.errors import InputError, redact, redact_data
from auditor.model.output import make_private_dirs
from auditor.model.result import Result, Status, Verdict

CONNECT_TIMEOUT_SECONDS = 10
LOCK_TIMEOUT_SECONDS = 30.0  # the longest wait for a lock another scan (or anyone) holds on the history
# Any constant will do: it only has to be the same in every auditor process (pg_advisory_xact_lock's key).
_SCHEMA_LOCK_KEY = 0x6175646974
_LOCKED_SQLSTATE = "55P03"  # PostgreSQL lock_not_available (lock_timeout)


@dataclass(frozen=True)
class RunSummary:
    """One stored run without its findings: a row of `auditor history`."""

    id: int
    tenant_id: str
    tenant_name: str
    generated_at: datetime
    collected_at: datetime
    verdict: Verdict
    score: float
    passed: int
    failed: int
    errors: int
    not_applicable: int
    rule_pack: str


def _utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite gives them back without a time zone."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _first_line(exc: SQLAlchemyError) -> str:
    detail = str(getattr(exc, "orig", None) or exc)
    return next((line.strip() for line in detail.splitlines() if line.strip()), type(exc).__name__)


def _locked(exc: SQLAlchemyError) -> bool:
    cause = getattr(exc, "orig", None)
    return getattr(cause, "sqlstate", None) == _LOCKED_SQLSTATE or "database is locked" in str(cause)


class HistoryStore:
    def __init__(self, engine: Engine, location: HistoryLocation) -> None:
        self._engine = engine
        self._location = location
        self._ready = False
        self._version_found = 0

    @property
    def label(self) -> str:
        return self._location.label

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _errors(self, doing: str, error: type[InputError] = HistoryError) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            if _locked(exc):
                reason = f"locked by another process; gave up after {LOCK_TIMEOUT_SECONDS:g} s"
            else:
                reason = _first_line(exc)  # redacted of the database password by the error class
            raise error(f"history {self.label}: cannot {doing} ({reason})") from None

    @contextmanager
    def _writing(self, conn: Connection) -> Iterator[Connection]:
        """A transaction that holds the history's write lock from its start (see the module docstring)."""
        with conn.execution_options(sqlite_begin="IMMEDIATE").begin():
            yield conn

    def prepare(self, create: bool) -> None:
        """Check the schema version; create the schema on first use when `create`."""
        with (self._errors("open the history"), self._engine.connect() as connection,
              self._writing(connection) if create else connection.begin()):
            if create and self._location.is_postgres:
                connection.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
            version = self._version(connection, create)
        if version == 0:
            return  # an empty database, read: it has no runs
        if version is None:
            raise HistoryError(f"history {self.label}: no schema version recorded (not an auditor history?)")
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"history {self.label}: schema version {version} is newer than this auditor supports "
                f"({SCHEMA_VERSION}); upgrade auditor"
            )
        self._ready = True
        self._version_found = version

    @staticmethod
    def _version(conn: Connection, create: bool) -> int | None:
        """The schema version (None when the table holds none); 0 for a database without the schema, which
        is created first with `create`."""
        if inspect(conn).has_table(schema_info.name):
            version: int | None = conn.execute(select(func.max(schema_info.c.version))).scalar()
            if create and version == 1:  # version 2 added the fleet's table: the others are as they were
                metadata.create_all(conn, tables=[fleet_tenants])
                conn.execute(insert(schema_info).values(version=SCHEMA_VERSION))
                return SCHEMA_VERSION
            return version
        if not create:
            return 0
        metadata.create_all(conn)
        conn.execute(insert(schema_info).values(version=SCHEMA_VERSION))
        return SCHEMA_VERSION

    def record(self, result: Result) -> int:
        """Store one run with its findings (redacted of every secret the process holds); returns the run's id.

        A run whose tenant identity is unknown is refused: stored under a guessed id, it would mix with
        another tenant's runs."""
        if not is_identified(result.tenant.id):
            raise HistoryRefused(f"history {self.label}: run not stored: the tenant's id is unknown (/organization "
                                 "could not be read; give --tenant-id, the tenant's GUID or domain)")
        summary = result.summary
        row = {
            "tenant_id": result.tenant.id,
            "tenant_name": storable(result.tenant.display_name),
            "collected_at": _utc(result.collected_at),
            "generated_at": _utc(result.generated_at),
            "verdict": result.verdict.value,
            "score": summary.score,
            "passed": summary.passed,
            "failed": summary.fail,
            "errors": summary.error,
            "not_applicable": summary.not_applicable,
            "rule_pack_id": result.rule_pack.id,
            "rule_pack_version": result.rule_pack.version,
            "tool_version": result.tool.version,
            "app_id": result.app.app_id,
        }
        documents = redact_data(result.to_dict()["findings"])  # evidence and acceptance as plain JSON
        row = redact_data(row)
        with (self._errors("store the run", HistoryNotRecorded), self._engine.connect() as connection,
              self._writing(connection) as conn):
            run_id = conn.execute(insert(runs).values(row)).inserted_primary_key[0]
            conn.execute(
                insert(findings),
                [
                    {
                        "run_id": run_id,
                        "position": position,
                        "rule_id": finding.rule_id,
                        "title": storable(redact(finding.title)),
                        "category": storable(redact(finding.category)),
                        "severity": finding.severity.value,
                        "status": finding.status.value,
                        "message": storable(redact(finding.message)),
                        "evidence": document["evidence"],
                        "accepted": document.get("accepted"),
                    }
                    for position, (finding, document) in enumerate(zip(result.findings, documents, strict=True))
                ],
            )
        return int(run_id)

    def summaries(self, tenant: str | None = None) -> list[RunSummary]:
        """Runs (all tenants, or those matching `tenant` by id or name), per tenant, newest first."""
        if not self._ready:
            return []
        query = select(runs).order_by(runs.c.tenant_name, runs.c.tenant_id, runs.c.generated_at.desc(),
                                      runs.c.id.desc())
        if tenant:
            key = tenant.lower()
            query = query.where(or_(func.lower(runs.c.tenant_id) == key, func.lower(runs.c.tenant_name) == key))
        with self._errors("read the history"), self._engine.connect() as conn:
            return [_summary(row) for row in conn.execute(query)]

    def latest(self, tenant_id: str, count: int = 1) -> list[RunState]:
        """The tenant's `count` most recent runs with their findings, oldest first (none for an unknown tenant)."""
        if not self._ready or not is_identified(tenant_id):
            return []
        newest = (
            select(runs)
            .where(runs.c.tenant_id == tenant_id)
            .order_by(runs.c.generated_at.desc(), runs.c.id.desc())
            .limit(count)
        )
        states = []
        with self._errors("read the history"), self._engine.connect() as conn:
            for run in reversed(list(conn.execute(newest))):
                rows = conn.execute(select(findings).where(findings.c.run_id == run.id).order_by(findings.c.position))
                states.append(_state(run, rows))
        return states


    def record_fleet(self, records: Sequence[FleetRecord]) -> None:
        """Store what one fleet run (or shard) says of each of its tenants, all or none."""
        if not records:
            return
        rows = [redact_data(row_of(record)) for record in records]
        with (self._errors("store the fleet's tenants", HistoryNotRecorded), self._engine.connect() as connection,
              self._writing(connection) as conn):
            conn.execute(insert(fleet_tenants), rows)

    def fleet_latest(self) -> list[FleetRecord]:
        """The latest fleet record of every tenant any fleet run stored, in tenants file order (empty for a
        history without fleet runs, or written before version 2)."""
        if self._version_found < 2:
            return []
        newest = func.row_number().over(partition_by=fleet_tenants.c.key,
                                        order_by=(fleet_tenants.c.started_at.desc(), fleet_tenants.c.id.desc()))
        ranked = select(fleet_tenants, newest.label("newest")).subquery()
        query = select(ranked).where(ranked.c.newest == 1).order_by(ranked.c.row, ranked.c.key)
        with self._errors("read the history"), self._engine.connect() as conn:
            return [record_of(row, _utc(row.started_at)) for row in conn.execute(query)]


def _summary(row: Row[Any]) -> RunSummary:
    return RunSummary(
        id=row.id,
        tenant_id=row.tenant_id,
        tenant_name=row.tenant_name,
        generated_at=_utc(row.generated_at),
        collected_at=_utc(row.collected_at),
        verdict=Verdict(row.verdict),
        score=row.score,
        passed=row.passed,
        failed=row.failed,
        errors=row.errors,
        not_applicable=row.not_applicable,
        rule_pack=f"{row.rule_pack_id} {row.rule_pack_version}",
    )


def _state(run: Row[Any], rows: Iterable[Row[Any]]) -> RunState:
    rules = []
    for row in rows:
        accepted = row.accepted or {}
        status = Status(row.status)
        waived = status is Status.FAIL and bool(accepted) and not accepted.get("expired", True)
        rules.append(RuleState(row.rule_id, row.title, Severity(row.severity), status, row.evidence, waived))
    return RunState(
        tenant_id=run.tenant_id,
        tenant_name=run.tenant_name,
        generated_at=_utc(run.generated_at),
        collected_at=_utc(run.collected_at),
        verdict=Verdict(run.verdict),
        score=run.score,
        rules=tuple(rules),
    )


def _engine(location: HistoryLocation) -> Engine:
    if location.is_postgres:
        lock_timeout = f"-c lock_timeout={int(LOCK_TIMEOUT_SECONDS * 1000)}"
        return create_engine(location.url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                                         "options": lock_timeout})
    engine = create_engine(location.url, connect_args={"timeout": LOCK_TIMEOUT_SECONDS})
    # pysqlite would begin transactions itself, lazily and always DEFERRED: let SQLAlchemy say BEGIN, and
    # BEGIN IMMEDIATE where the transaction writes (SQLAlchemy's documented recipe).
    event.listen(engine, "connect", _sqlite_autocommit)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_autocommit(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def _create_private_file(location: HistoryLocation) -> None:
    """Create the SQLite file with mode 0600 first: the history describes tenants' security."""
    path = location.sqlite_file
    if path is None or path.exists():
        return
    try:
        make_private_dirs(path.parent)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.fchmod(fd, 0o600)
        os.close(fd)
    except OSError as exc:
        raise HistoryError(f"history {location.label}: cannot create the file ({exc.strerror or exc})") from None


def open_history(value: str, *, create: bool) -> HistoryStore:
    """Open the history at `value` (a path or a database URL) and check its schema.

    With `create` (storing runs) the schema is created on first use; without it (reading), a missing
    SQLite file is an error and an empty database simply has no runs.
    """
    location = locate(value)
    if create:
        _create_private_file(location)
    elif location.sqlite_file is not None and not location.sqlite_file.is_file():
        raise HistoryError(f"history {location.label}: file not found")
    store = HistoryStore(_engine(location), location)
    try:
        store.prepare(create)
    except HistoryError:
        store.close()
        raise
    return store
