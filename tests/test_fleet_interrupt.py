"""An interrupted fleet (Ctrl-C: SIGINT to the process group; a scheduler's timeout: SIGTERM) still writes
fleet.json, fleet.html and fleet.xlsx listing every tenant: the finished ones as they are, the others exit 3
"not scanned"; then one line on stderr and exit 128 + the signal (130, 143). Real `auditor` processes.

The fleet below has two tenants that finish (Quick: exit 1, Forbidden: exit 3, a 403) and six whose Graph
never answers (a hung request, far below --timeout). Two slots: once two held tenants have sent a request,
both slots have sent the finished tenants' outcomes to the parent (a slot sends before it takes the next
tenant), so the signal comes at a known point: two tenants scanned, two in flight, four never started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from auditor.model.errors import ExitCode
from tests.fakegraph import scenarios
from tests.fakegraph.server import FakeGraph
from tests.test_fleet import StartGraph, by_name, fleet_json, write_tenants

TOKEN = "fake-fleet-interrupt-token"
HELD = [f"held{n}" for n in range(1, 7)]
NAMES = ["Quick", "Forbidden", *HELD]


def _wait_until(condition: Callable[[], bool], fleet: subprocess.Popen[bytes], what: str) -> None:
    """Wait for an observable state of the fleet (not for time to pass); fail if it ends first."""
    deadline = time.monotonic() + 60
    while not condition():
        assert fleet.poll() is None, f"the fleet ended before {what}: {fleet.communicate()[1].decode()}"
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def _fleet(fake_graph: StartGraph, tmp_path: Path, *options: str) -> tuple[subprocess.Popen[bytes], Path]:
    """The fleet started, once the finished tenants' outcomes have reached the parent."""
    quick = fake_graph(scenarios.fully_consented(), token=TOKEN)
    forbidden = fake_graph(scenarios.legacy_user_consent(), token=TOKEN)
    forbidden.fail(r"authorizationPolicy", 403, times=None)
    held: list[FakeGraph] = []
    for _ in HELD:
        graph = fake_graph(scenarios.fully_consented(), token=TOKEN)
        graph.fail(r"organization", hang=True, times=None)  # answered only when the test ends
        held.append(graph)
    graphs = [quick, forbidden, *held]
    rows = [{"name": name, "graph_url": graph.base_url} for name, graph in zip(NAMES, graphs, strict=True)]
    tenants = write_tenants(tmp_path / "tenants.csv", rows)
    out = tmp_path / "out"
    auditor = Path(sys.executable).with_name("auditor")
    fleet = subprocess.Popen(
        [str(auditor), "fleet", str(tenants), "--out", str(out), "--auth", "token", "--format", "json,html",
         "--concurrency", "2", "--timeout", "600", "--deadline", "900", *options],
        env={**os.environ, "AUDITOR_ACCESS_TOKEN": TOKEN}, stderr=subprocess.PIPE, start_new_session=True)
    _wait_until(lambda: held[0].http_requests > 0 and held[1].http_requests > 0, fleet,
                "both slots moved on to held tenants")
    return fleet, out


def _assert_interrupted(fleet: subprocess.Popen[bytes], out: Path, signum: signal.Signals) -> None:
    _, stderr = fleet.communicate(timeout=60)  # the held requests would wait 600 s: in-flight tenants were stopped
    assert fleet.returncode == 128 + signum, stderr
    assert stderr.decode() == (f"auditor: interrupted ({signum.name}): 2 of 8 tenants scanned; fleet.json lists "
                               "the other 6 as not scanned\n")
    with pytest.raises(ProcessLookupError):
        os.killpg(fleet.pid, 0)  # no worker outlived the fleet
    fleet_doc = fleet_json(out)
    assert fleet_doc["interrupted"] == signum.name and fleet_doc["schema_version"] == 1
    assert [tenant["name"] for tenant in fleet_doc["tenants"]] == NAMES
    rows = by_name(fleet_doc)
    assert (rows["Quick"]["verdict"], rows["Quick"]["exit_code"], rows["Quick"]["error"]) == (
        "ready", ExitCode.FINDINGS, None)
    assert (rows["Forbidden"]["verdict"], rows["Forbidden"]["exit_code"]) == ("unknown", ExitCode.INCOMPLETE)
    assert "not read: authorization_policy (HTTP 403" in rows["Forbidden"]["error"]  # its own error, as scanned
    assert "needs Policy.Read.All" in rows["Forbidden"]["error"]
    for name in HELD:
        assert (rows[name]["verdict"], rows[name]["summary"], rows[name]["exit_code"], rows[name]["error"]) == (
            None, None, ExitCode.INCOMPLETE, f"not scanned: the fleet run was interrupted ({signum.name})")
        assert not (out / name).exists()
    assert json.loads((out / "Quick" / "result.json").read_text())["verdict"] == "ready"
    html = (out / "fleet.html").read_text()
    assert f"This fleet run was interrupted ({signum.name}) after 2 of 8 tenants were scanned" in html
    sheet = load_workbook(out / "fleet.xlsx", read_only=True).worksheets[0]
    problems = [row[10] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert problems.count(f"not scanned: the fleet run was interrupted ({signum.name})") == 6


@pytest.mark.parametrize("workers", ["2", "1"])
def test_ctrl_c_writes_the_fleet_pages_for_every_tenant_and_exits_130(
    fake_graph: StartGraph, tmp_path: Path, workers: str
) -> None:
    fleet, out = _fleet(fake_graph, tmp_path, "--workers", workers)
    os.killpg(fleet.pid, signal.SIGINT)  # as a terminal does: the workers get it too
    _assert_interrupted(fleet, out, signal.SIGINT)


@pytest.mark.parametrize(("workers", "to_group"), [("2", False), ("2", True), ("1", True)])
def test_sigterm_writes_the_fleet_pages_for_every_tenant_and_exits_143(
    fake_graph: StartGraph, tmp_path: Path, workers: str, to_group: bool
) -> None:
    """`kill` or a supervisor signals the main process; systemd's default signals the whole group."""
    fleet, out = _fleet(fake_graph, tmp_path, "--workers", workers)
    if to_group:
        os.killpg(fleet.pid, signal.SIGTERM)
    else:
        fleet.send_signal(signal.SIGTERM)
    _assert_interrupted(fleet, out, signal.SIGTERM)


def test_an_interrupted_fleet_records_only_its_scanned_tenants_in_the_history(
    fake_graph: StartGraph, tmp_path: Path
) -> None:
    history = tmp_path / "history.db"
    fleet, out = _fleet(fake_graph, tmp_path, "--workers", "2", "--history", str(history))
    os.killpg(fleet.pid, signal.SIGINT)
    _assert_interrupted(fleet, out, signal.SIGINT)

    merged = subprocess.run([str(Path(sys.executable).with_name("auditor")), "fleet-report", "--history",
                             str(history), "--out", str(tmp_path / "merged"), "--quiet"], capture_output=True)

    assert merged.returncode == ExitCode.INCOMPLETE, merged.stderr
    rows = fleet_json(tmp_path / "merged")
    assert rows["interrupted"] is None
    assert [(row["name"], row["exit_code"]) for row in rows["tenants"]] == [
        ("Quick", ExitCode.FINDINGS), ("Forbidden", ExitCode.INCOMPLETE)]


def _blocked_on_a_lock(pid: int) -> bool:
    """/proc/locks lists a process waiting for a lock as `N: -> FLOCK ... PID ...`."""
    return any(line.split()[1] == "->" and str(pid) in line.split()
               for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks")
def test_a_second_ctrl_c_while_the_pages_are_written_ends_at_once(fake_graph: StartGraph, tmp_path: Path) -> None:
    """The fleet pages wait for the --out folder's lock (held here), as a slow disk would hold them."""
    import fcntl

    (tmp_path / "out").mkdir(mode=0o700)
    folder = os.open(tmp_path / "out", os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        fleet, out = _fleet(fake_graph, tmp_path, "--workers", "1")
        os.killpg(fleet.pid, signal.SIGINT)
        _wait_until(lambda: _blocked_on_a_lock(fleet.pid), fleet, "the fleet waited to write its pages")

        os.killpg(fleet.pid, signal.SIGINT)
        _, stderr = fleet.communicate(timeout=60)
    finally:
        os.close(folder)

    assert fleet.returncode == 130, stderr
    assert stderr.decode() == ("auditor: interrupted again (SIGINT): stopped at once; the fleet pages may be "
                               "missing\n")
    assert not (out / "fleet.json").exists()
    assert json.loads((out / "Quick" / "result.json").read_text())["verdict"] == "ready"
