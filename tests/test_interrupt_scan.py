"""Ctrl-C during `auditor scan`: one line on stderr and exit 130 (typer alone exits 130 silently), and the
output folder is left as it was: the reports of a run are published as one set, or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakegraph import scenarios
from tests.test_fleet import StartGraph
from tests.test_fleet_interrupt import _wait_until


def test_ctrl_c_during_a_scan_says_so_and_exits_130_leaving_the_previous_reports(
    fake_graph: StartGraph, tmp_path: Path
) -> None:
    graph = fake_graph(scenarios.fully_consented())
    graph.fail(r"organization", hang=True, times=None)  # answered only when the test ends
    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file\n")
    auditor = Path(sys.executable).with_name("auditor")
    scan = subprocess.Popen(
        [str(auditor), "scan", "--auth", "token", "--graph-url", graph.base_url, "--out", str(out), "--quiet",
         "--timeout", "600", "--deadline", "900"],
        env={**os.environ, "AUDITOR_ACCESS_TOKEN": graph.token}, stderr=subprocess.PIPE, start_new_session=True)
    _wait_until(lambda: graph.http_requests > 0, scan, "the scan sent its first request")
    os.killpg(scan.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    _, stderr = scan.communicate(timeout=60)
    assert scan.returncode == 130
    assert stderr.decode() == ("auditor: interrupted (SIGINT); an output folder being written keeps its previous "
                               "complete set of files\n")
    assert sorted(path.name for path in out.iterdir()) == ["notes.txt"]
