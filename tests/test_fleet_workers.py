"""Fleet worker processes (issue 14): a worker that dies fails only the tenant it held, the others go on
in the surviving worker; outcomes stay in the tenants file's order whichever worker ran them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from auditor.fleet import runner
from auditor.model.errors import ExitCode
from tests.fakegraph import scenarios
from tests.test_fleet import Cli, StartGraph, by_name, fleet_json, write_tenants

TOKEN = "fake-fleet-workers-token"


def test_a_worker_that_dies_fails_only_the_tenant_it_held(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.fully_consented(), token=TOKEN)
    scan = runner.scan_tenant

    async def dies_on_crash(tenant: Any, *args: Any) -> Any:
        if tenant.name == "crash":
            os._exit(9)  # the worker process is killed (out of memory, a signal) while scanning this tenant
        return await scan(tenant, *args)

    monkeypatch.setattr(runner, "scan_tenant", dies_on_crash)  # forked workers inherit it
    names = ["a", "b", "crash", "c", "d", "e"]
    tenants = write_tenants(tmp_path / "t.csv", [{"name": name, "graph_url": server.base_url} for name in names])

    # One tenant at a time per worker: the dying worker holds only "crash".
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--format", "json",
              "--workers", "2", "--concurrency", "2", "--quiet")

    assert run.code == ExitCode.INCOMPLETE, run.stderr
    fleet = fleet_json(tmp_path / "out")
    assert [tenant["name"] for tenant in fleet["tenants"]] == names
    outcome = by_name(fleet)
    assert outcome["crash"]["exit_code"] == ExitCode.INCOMPLETE and outcome["crash"]["verdict"] is None
    assert "worker process scanning this tenant ended unexpectedly" in outcome["crash"]["error"]
    assert "(exit code [9])" in outcome["crash"]["error"]
    for name in ("a", "b", "c", "d", "e"):
        row = outcome[name]
        assert (row["verdict"], row["exit_code"], row["error"]) == ("ready", ExitCode.FINDINGS, None)
        assert (tmp_path / "out" / name / "result.json").is_file()


def test_spawned_workers_scan_as_forked_ones_do(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where workers cannot be forked (macOS, Windows) they are spawned: the job reaches them pickled."""
    monkeypatch.setattr(runner, "START_METHOD", "spawn")
    server = fake_graph(scenarios.workflow_only(), token=TOKEN)
    tenants = write_tenants(tmp_path / "t.csv", [{"name": f"t{n}", "graph_url": server.base_url} for n in range(4)])

    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--format", "json,html",
              "--workers", "2", "--quiet")

    assert run.code == ExitCode.FINDINGS, run.stderr
    rows = fleet_json(tmp_path / "out")["tenants"]
    assert [(row["name"], row["verdict"], row["error"]) for row in rows] == [
        (f"t{n}", "ready-via-workflow", None) for n in range(4)]
    assert all((tmp_path / "out" / f"t{n}" / "report.html").is_file() for n in range(4))


def test_a_worker_that_cannot_open_the_history_writes_reports_and_says_why_each_run_is_not_recorded(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent opened the history; a worker's own connection fails (the database went away): its tenants
    are scanned and written, each exit 4 with the reason, and no traceback."""
    from auditor.history import store
    from auditor.history.location import HistoryError

    opened = store.open_history

    def parent_only(value: str, *, create: bool) -> Any:
        if not create:  # a worker's own connection
            raise HistoryError("history db.sqlite: database is locked")
        return opened(value, create=create)

    monkeypatch.setattr(store, "open_history", parent_only)
    server = fake_graph(scenarios.fully_consented(), token=TOKEN)
    tenants = write_tenants(tmp_path / "t.csv", [{"name": f"t{n}", "graph_url": server.base_url} for n in range(3)])

    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--format", "json",
              "--workers", "2", "--history", str(tmp_path / "db.sqlite"), "--quiet")

    assert run.code == ExitCode.NOT_RECORDED, run.stderr
    assert "Traceback" not in run.stderr
    for row in fleet_json(tmp_path / "out")["tenants"]:
        assert (row["verdict"], row["exit_code"]) == ("ready", ExitCode.NOT_RECORDED)
        assert "run not recorded: history db.sqlite: database is locked" in row["error"]
        assert (tmp_path / "out" / row["name"] / "result.json").is_file()


def test_sigterm_to_the_fleet_stops_its_workers_too(fake_graph: StartGraph, tmp_path: Path) -> None:
    """A supervisor (systemd, Kubernetes, `kill`) signals only the main process: its workers must stop with
    it rather than go on scanning as orphans."""
    import signal
    import subprocess
    import sys
    import time

    server = fake_graph(scenarios.fully_consented(), token=TOKEN, latency=0.2)
    tenants = write_tenants(tmp_path / "t.csv", [{"name": f"t{n}", "graph_url": server.base_url} for n in range(200)])
    auditor = Path(sys.executable).with_name("auditor")
    fleet = subprocess.Popen([str(auditor), "fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token",
                              "--format", "json", "--workers", "2", "--quiet"],
                             env={**os.environ, "AUDITOR_ACCESS_TOKEN": TOKEN}, stderr=subprocess.PIPE)
    children = Path(f"/proc/{fleet.pid}/task/{fleet.pid}/children")
    deadline = time.monotonic() + 30
    while not (tmp_path / "out").is_dir() or len(children.read_text().split()) < 2:  # workers at work
        assert time.monotonic() < deadline and fleet.poll() is None, "the fleet never started its workers"
        time.sleep(0.05)
    workers = [int(pid) for pid in children.read_text().split()]

    fleet.send_signal(signal.SIGTERM)
    _, stderr = fleet.communicate(timeout=30)

    assert fleet.returncode == 128 + signal.SIGTERM, stderr
    assert b"Traceback" not in stderr
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers):
        assert time.monotonic() < deadline, "workers outlived the fleet"
        time.sleep(0.05)
