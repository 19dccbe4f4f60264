"""Benchmark of issue 6: round trips, fleet, large tenant, start-up — one table of medians.

    python bench/run.py --quick     # under a minute: smaller fleet and tenant, fewer repeats
    python bench/run.py             # the issue's sizes, under ten minutes

The fake Graph (tests/fakegraph) runs in this process with injected latency; every measurement
runs the real `auditor` console script in a child process, whose wall time, CPU time (user + sys)
and peak RSS come from `os.wait4`. Each measurement is repeated and its median reported.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tenants import LargeShape, fleet_tenants, large_tenant, scenario_builders  # noqa: E402
from tests.fakegraph.server import FakeGraph, FakeGraphHost  # noqa: E402
from tests.fakegraph.tenant import HDM_APP_ID  # noqa: E402

AUDITOR = Path(sys.executable).with_name("auditor")
ONE_PAGE = 999
# Imported only by the commands that need them: none of them may load for `auditor --help`.
HEAVY_MODULES = ("msgraph", "azure.identity", "pandas", "openpyxl", "xlsxwriter", "jinja2", "sqlalchemy")
# Scenarios of the test suite that are not a typical tenant, and why they need more requests.
ATYPICAL = {"many_objects": "26 service principals: 93 requests in round 2, at most 20 per $batch"}


@dataclass(frozen=True)
class Mode:
    repeats: int
    fleet_size: int
    large: LargeShape
    big_fleet: int  # tenants of the `fleet-10k` part
    latency: float = 0.05
    concurrency: int = 32
    workers: int | None = None  # fleet worker processes; None: the auditor's default (the cores)


QUICK = Mode(repeats=2, fleet_size=50, large=LargeShape(10_000, 2_000, 4, 200), big_fleet=1_000)
FULL = Mode(repeats=3, fleet_size=500, large=LargeShape(), big_fleet=10_000)


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + sys seconds of the auditor process and its worker processes
    rss_mb: float  # peak resident set size of the auditor and its workers together (sampled)
    http: int = 0  # HTTP requests the fake Graph answered
    graph_cpu: float = 0.0  # CPU seconds of this process meanwhile: the fake Graph, on the same cores


class TreeMemory(threading.Thread):
    """Samples, every 50 ms, the resident memory of a process plus its children (a fleet's worker processes)
    from /proc, and keeps the peak of the sum (`wait4`'s ru_maxrss is one process's, and not even that: see below)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb = pid, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.05):
            pids = [self.pid, *_children(self.pid)]
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in pids))

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak_kb / 1024


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


@dataclass
class Row:
    target: str
    what: str
    runs: list[Run]
    goal: str = ""
    passed: bool | None = None
    note: str = ""

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)


def run_auditor(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    count: Callable[[], int] = lambda: 0,
    expected: Sequence[int] = (0, 1),  # 1: findings failed, as expected of these tenants
) -> Run:
    """Run `auditor ARGS` in a child process: its wall time, CPU time, peak RSS, and the HTTP requests
    `count` saw; any exit code but the `expected` ones is an error."""
    before = count()
    started, graph_started = time.perf_counter(), time.process_time()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen([str(AUDITOR), *args], stdout=subprocess.DEVNULL, stderr=err,
                                 env={**os.environ, **(env or {})})
        memory = TreeMemory(child.pid)
        memory.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        tree_rss = memory.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in expected:
            err.seek(0)
            raise RuntimeError(f"auditor {' '.join(args)} exited {child.returncode}: {err.read().decode()[-2000:]}")
    # Not usage.ru_maxrss: Linux carries it over fork and exec, so a child of a benchmark process holding
    # 10,000 fake tenants reported the benchmark's own 389 MB.
    return Run(wall, usage.ru_utime + usage.ru_stime, tree_rss, count() - before, time.process_time() - graph_started)


def repeat(times: int, measure: Callable[[], Run]) -> list[Run]:
    return [measure() for _ in range(times)]


# -- target 4: start-up ----------------------------------------------------------------------------


def startup(mode: Mode, workdir: Path) -> list[Row]:
    repeats = max(5, mode.repeats)
    demo = ["scan", "--demo", "--format", "json", "--quiet", "--out", str(workdir / "demo")]
    rows = [
        Row("4 start-up", "auditor --help", repeat(repeats, lambda: run_auditor(["--help"]))),
        Row("4 start-up", "auditor rules", repeat(repeats, lambda: run_auditor(["rules"]))),
        Row("4 start-up", "auditor scan --demo --format json", repeat(repeats, lambda: run_auditor(demo))),
    ]
    for row, limit in zip(rows, (0.25, 1.0, 0.5), strict=True):
        row.goal, row.passed = f"≤ {limit} s", row.median("wall") <= limit
    probe = "import sys; from auditor.cli.app import app; print(','.join(m for m in sys.argv[1:] if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe, *HEAVY_MODULES], capture_output=True, text=True, check=True)
    rows[0].note = f"heavy modules at import: {loaded.stdout.strip() or 'none'}"
    return rows


# -- target 1: round trips -------------------------------------------------------------------------


def round_trips(mode: Mode, workdir: Path) -> list[Row]:
    """One scan per scenario: its request count is deterministic (tests/test_round_trips.py asserts it)."""
    rows = []
    for name, build in scenario_builders().items():
        with FakeGraph(build(), page_size=ONE_PAGE, latency=mode.latency) as graph:
            args = ["scan", "--auth", "token", "--graph-url", graph.base_url, "--quiet", "--app-id", HDM_APP_ID,
                    "--format", "json", "--out", str(workdir / name)]
            env = {"AUDITOR_ACCESS_TOKEN": graph.token}
            runs = [run_auditor(args, env, lambda: graph.http_requests)]
        row = Row("1 round trips", f"scan {name}", runs)
        if name in ATYPICAL:
            row.note = f"atypical: {ATYPICAL[name]}"
        else:
            row.goal, row.passed = "≤ 4 HTTP requests", row.median("http") <= 4
        rows.append(row)
    return rows


# -- target 2: fleet -------------------------------------------------------------------------------


def _tenants_csv(host: FakeGraphHost, path: Path) -> dict[str, str]:
    """The fleet's TENANTS.csv (each tenant with its own token variable); the environment holding the tokens."""
    env = {}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "tenant_id", "auth", "graph_url", "token_env"])
        for number, graph in enumerate(host.graphs):
            organization = graph.tenant.organization[0]
            variable = f"AUDITOR_TOKEN_BENCH_{number}"
            env[variable] = graph.token
            writer.writerow([f"tenant-{number:03}", organization["id"], "token", graph.base_url, variable])
    return env


def _fleet_run(host: FakeGraphHost, workdir: Path, formats: str, latency: float, concurrency: int,
               workers: int | None) -> Run:
    for graph in host.graphs:
        graph.latency = latency
    tenants = workdir / "tenants.csv"
    env = _tenants_csv(host, tenants)
    out = workdir / f"fleet-{formats.replace(',', '-')}-{latency:g}-{workers}"
    args = ["fleet", str(tenants), "--out", str(out), "--concurrency", str(concurrency), "--format", formats,
            "--app-id", HDM_APP_ID, "--quiet", *(["--workers", str(workers)] if workers else [])]
    run = run_auditor(args, env, lambda: sum(graph.http_requests for graph in host.graphs), expected=(0, 1, 3))
    failed = [t for t in json.loads((out / "fleet.json").read_text())["tenants"] if t["exit_code"] not in (0, 1)]
    if failed:
        raise RuntimeError(f"{len(failed)} tenants of the fleet failed, e.g. {failed[0]}")
    shutil.rmtree(out)  # 10,000 tenants' folders would fill the disk over the repeats
    return run


def _fleet_host(size: int) -> FakeGraphHost:
    graphs = [FakeGraph(tenant, page_size=ONE_PAGE) for tenant in fleet_tenants(size)]
    for graph in graphs:
        graph.record_requests = False  # the fake Graph's own memory stays flat too
    return FakeGraphHost(graphs)


def _fleet_row(host: FakeGraphHost, mode: Mode, workdir: Path, formats: str, delay: float,
               workers: int | None = None) -> Row:
    size, workers = len(host.graphs), workers or mode.workers
    runs = repeat(mode.repeats, lambda: _fleet_run(host, workdir, formats, delay, mode.concurrency, workers))
    label = (f"{size} tenants, {delay * 1000:g} ms, {formats}, concurrency {mode.concurrency}, "
             f"workers {workers or 'default'}")
    measured = Row("2 fleet", label, runs)
    measured.note = (f"{measured.median('cpu') / size * 1000:.1f} ms CPU/tenant; the fake Graph meanwhile "
                     f"{measured.median('graph_cpu'):.1f} s CPU")
    return measured


def fleet(mode: Mode, workdir: Path) -> list[Row]:
    """The issue's runs: json at 50 ms (wall and CPU per tenant), every format, json without latency, and
    json in one worker process (what the processes bring)."""
    with _fleet_host(mode.fleet_size) as host:
        rows = [_fleet_row(host, mode, workdir, "json", mode.latency),
                _fleet_row(host, mode, workdir, "html,xlsx,json", mode.latency),
                _fleet_row(host, mode, workdir, "json", 0.0),
                _fleet_row(host, mode, workdir, "json", mode.latency, workers=1)]
    if mode.fleet_size >= FULL.fleet_size:
        json_row, all_formats = rows[0], rows[1]
        per_tenant = json_row.median("cpu") / mode.fleet_size * 1000
        json_row.goal, json_row.passed = "≤ 4 s, ≤ 6 ms CPU/tenant", json_row.median("wall") <= 4 and per_tenant <= 6
        all_formats.goal, all_formats.passed = "≤ 20 s", all_formats.median("wall") <= 20
    return rows


def big_fleet(mode: Mode, workdir: Path) -> list[Row]:
    """Ten thousand tenants (a thousand with --quick), json at 50 ms: wall time and memory of every process."""
    with _fleet_host(mode.big_fleet) as host:
        row = _fleet_row(host, mode, workdir, "json", mode.latency)
    if mode.big_fleet >= FULL.big_fleet:
        row.goal = "≤ 70 s, ≤ 300 MB"
        row.passed = row.median("wall") <= 70 and row.median("rss_mb") <= 300
    return [row]


# -- target 3: large tenant ------------------------------------------------------------------------

MILLION = LargeShape(per_user_grants=1_000_000)


def large(mode: Mode, workdir: Path, shape: LargeShape | None = None, formats: Sequence[str] = ()) -> list[Row]:
    """Collect the large tenant from the fake Graph, then scan the snapshot with each of `formats`
    (default: json, html,json, html,xlsx,json)."""
    shape = shape or mode.large
    repeats = mode.repeats if shape.per_user_grants <= LargeShape().per_user_grants else 1
    snapshot = workdir / f"large-{shape.per_user_grants}.snapshot.json"
    collect = _collect_large(shape, snapshot, repeats)  # the fake tenant is gone once this returns
    rows = [collect]
    for chosen in formats or ("json", "html,json", "html,xlsx,json"):
        out = workdir / f"large-{shape.per_user_grants}-{chosen.replace(',', '-')}"
        scan = ["scan", "--snapshot", str(snapshot), "--app-id", HDM_APP_ID, "--quiet", "--format", chosen,
                "--out", str(out)]
        row = Row("3 large tenant", f"scan --snapshot --format {chosen}", repeat(repeats, lambda: run_auditor(scan)))  # noqa: B023
        if "xlsx" in chosen:
            row.note = "sheets: " + ", ".join(_sheet_rows(out / "report.xlsx"))
        rows.append(row)
    goals = {LargeShape(): (5, 300), MILLION: (45, 1536)}
    if shape in goals:
        seconds, megabytes = goals[shape]
        rows[-1].goal = f"≤ {seconds} s, ≤ {megabytes} MB"
        rows[-1].passed = rows[-1].median("wall") <= seconds and rows[-1].median("rss_mb") <= megabytes
    return rows


def _collect_large(shape: LargeShape, snapshot: Path, repeats: int) -> Row:
    started = time.perf_counter()
    tenant = large_tenant(shape)
    built = time.perf_counter() - started
    with FakeGraph(tenant, page_size=ONE_PAGE) as graph:
        args = ["collect", "--auth", "token", "--graph-url", graph.base_url, "--quiet", "--app-id", HDM_APP_ID,
                "--out", str(snapshot)]
        env = {"AUDITOR_ACCESS_TOKEN": graph.token}
        collect = Row("3 large tenant", "collect (page size 999, 0 ms)",
                      repeat(repeats, lambda: run_auditor(args, env, lambda: graph.http_requests)))
    label = (f"{shape.per_user_grants} per-user grants, {shape.reviewer_users} reviewer users, "
             f"{shape.pending_requests} pending requests")
    collect.note = f"{label}; tenant built in {built:.1f} s; snapshot {snapshot.stat().st_size / 1e6:.0f} MB"
    return collect


def _sheet_rows(workbook: Path) -> list[str]:
    """The tenant tables' sheets with more than a few rows, and their row counts (header included)."""
    from openpyxl import load_workbook

    book = load_workbook(workbook, read_only=True)
    sizes = {ws.title: ws.max_row for ws in book.worksheets}
    book.close()
    return [f"{title} {rows:,}" for title, rows in sizes.items() if rows and rows > 1_000]


# -- the table -------------------------------------------------------------------------------------


def print_table(rows: Sequence[Row]) -> None:
    header = ("target", "measurement", "wall s", "cpu s", "peak RSS MB", "HTTP req", "goal", "met", "note")
    lines = [header] + [
        (
            row.target,
            row.what,
            f"{row.median('wall'):.2f}",
            f"{row.median('cpu'):.2f}",
            f"{row.median('rss_mb'):.0f}",
            f"{row.median('http'):g}" if row.median("http") else "",
            row.goal,
            {True: "yes", False: "NO", None: ""}[row.passed],
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header) - 1)]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller fleet and tenant, fewer repeats (< 1 min).")
    parser.add_argument("--only", choices=("startup", "round-trips", "fleet", "fleet-10k", "large", "large-1m"),
                        action="append", help="Run only these parts (repeatable); large-1m (1,000,000 per-user "
                        "grants, html,xlsx,json) and fleet-10k (10,000 tenants) only when named.")
    parser.add_argument("--concurrency", type=int, help="Tenants at once in the fleet runs (default 32).")
    parser.add_argument("--workers", type=int, help="Fleet worker processes (default: the auditor's, the cores).")
    parser.add_argument("--repeats", type=int, help="Runs of each measurement (default 3, --quick 2).")
    options = parser.parse_args()
    mode = QUICK if options.quick else FULL
    if options.concurrency:
        mode = replace(mode, concurrency=options.concurrency)
    if options.workers:
        mode = replace(mode, workers=options.workers)
    if options.repeats:
        mode = replace(mode, repeats=options.repeats)
    parts: dict[str, Callable[[Path], list[Row]]] = {
        "startup": lambda workdir: startup(mode, workdir),
        "round-trips": lambda workdir: round_trips(mode, workdir),
        "fleet": lambda workdir: fleet(mode, workdir),
        "fleet-10k": lambda workdir: big_fleet(mode, workdir),
        "large": lambda workdir: large(mode, workdir),
        "large-1m": lambda workdir: large(mode, workdir, MILLION, ["html,xlsx,json"]),
    }
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as workdir:
        for name, part in parts.items():
            if name in (options.only or set(parts) - {"large-1m", "fleet-10k"}):  # minutes each: when named
                rows += part(Path(workdir))
    print_table(rows)
    print(f"\n{'quick' if options.quick else 'full'} run, medians of {mode.repeats} repeats (start-up: "
          f"{max(5, mode.repeats)}), {os.cpu_count()} CPUs, load average before exit "
          f"{os.getloadavg()[0]:.1f}; {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
