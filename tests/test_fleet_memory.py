"""A fleet keeps only a small outcome per tenant once its reports are written (issue 14): its peak memory
grows by less than 2 KB per tenant, i.e. under 2 MB per extra 1,000 tenants.

Measured in this process with tracemalloc (allocations, not timing) over one fleet — tenants file read,
every tenant collected over HTTP from the fake Graph, evaluated and its reports written — in one worker,
one tenant at a time: the peak while each tenant runs is that tenant's own work (alike for tenants of
the same shape) plus what the fleet holds by then, so how the peak rises from the early tenants to the
late ones is what the fleet accumulates per tenant (~1.2 KB when this test was written: the tenant's row
of the tenants file and its outcome). The fake Graph runs in a process of its own, so its allocations
are not traced. The tenants share one token, as an MSP's
multi-tenant app does: a token per row is input the redaction pass holds (~1.5 KB per token).
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from auditor.collect.options import AuthMode, LiveOptions
from auditor.evaluate.engine import load_rule_pack
from auditor.evaluate.rulepack import Severity
from auditor.fleet.outcome import TenantOutcome
from auditor.fleet.runner import fleet_runner
from auditor.fleet.scan import FleetJob
from auditor.fleet.tenants_file import load_tenants
from auditor.model.result import Verdict
from auditor.report.reporting import ReportFormat
from tests.fakegraph import scenarios
from tests.fakegraph.server import FakeGraph, FakeGraphHost
from tests.fakegraph.tenant import HDM_APP_ID

PER_TENANT_LIMIT = 2048  # bytes: < 2 MB per extra 1,000 tenants
SIZE = 150
# Peaks compared: the highest while tenants 11-40 ran and while tenants 121-150 ran (each window holds every
# scenario ten times, so one tenant's own work peaks alike in both).
EARLY, LATE = slice(10, 40), slice(120, 150)
TOKEN = "fake-fleet-memory-token-0123456789"


def _serve(size: int, connection: Connection) -> None:
    """In a process of its own, so that the fake Graph's allocations (a thread per connection) are not
    traced with the fleet's: `size` tenants on one FakeGraphHost until the connection says stop."""
    builds = (scenarios.fully_consented, scenarios.workflow_only, scenarios.legacy_user_consent)
    graphs = [FakeGraph(builds[n % len(builds)](), page_size=999, token=TOKEN) for n in range(size)]
    with FakeGraphHost(graphs) as host:
        connection.send([graph.base_url for graph in host.graphs])
        connection.recv()


@contextmanager
def _fleet_of(size: int, tmp_path: Path) -> Iterator[Path]:
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(size, theirs), daemon=True)
    server.start()
    try:
        urls = ours.recv()
        tenants = tmp_path / f"tenants-{size}.csv"
        with tenants.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["name", "graph_url"])
            writer.writerows([f"tenant-{number:04}", url] for number, url in enumerate(urls))
        yield tenants
    finally:
        ours.send("stop")
        server.join(timeout=30)


def _peaks_of_fleet(size: int, tmp_path: Path) -> tuple[list[int], list[TenantOutcome]]:
    """The traced peak while each tenant ran (bytes), in the tenants' order, and the outcomes."""
    pack = load_rule_pack(None)
    job = FleetJob(pack, [ReportFormat.JSON], Severity.HIGH, tmp_path / f"out-{size}")
    peaks: list[int] = []

    def tenant_done(outcome: TenantOutcome) -> None:
        # Cyclic garbage (clients, event-loop callbacks) waits for the collector's own timing, which would
        # make the peak noise; collected after each tenant, a peak is one tenant's work plus what the fleet
        # keeps.
        gc.collect()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.reset_peak()

    with _fleet_of(size, tmp_path) as tenants:
        gc.collect()
        tracemalloc.start()
        try:
            rows = load_tenants(tenants, LiveOptions(auth=AuthMode.TOKEN, quiet=True), HDM_APP_ID)
            with fleet_runner(rows, job, concurrency=1, workers=1) as run:
                outcomes = run(tenant_done)
        finally:
            tracemalloc.stop()
    return peaks, outcomes


def test_fleet_memory_per_extra_tenant_stays_under_2_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", TOKEN)
    _peaks_of_fleet(3, tmp_path)  # modules imported, caches filled
    peaks, outcomes = _peaks_of_fleet(SIZE, tmp_path)

    assert all(outcome.audited and outcome.error is None for outcome in outcomes)
    assert {outcome.audited.verdict for outcome in outcomes if outcome.audited} == {
        Verdict.READY, Verdict.READY_VIA_WORKFLOW, Verdict.READY_VIA_USER_CONSENT}
    early, late = max(peaks[EARLY]), max(peaks[LATE])
    per_tenant = (late - early) / (LATE.start - EARLY.start)
    print(f"fleet peak: {early / 1e6:.2f} MB around tenant {EARLY.start}, {late / 1e6:.2f} MB around tenant "
          f"{LATE.start}: {per_tenant:.0f} bytes per extra tenant")
    assert per_tenant < PER_TENANT_LIMIT
