"""Issue 14, point 3: a report format's libraries load only when that format is asked for, and the work done
once per process (templates) is done once, also when threads ask for it at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from auditor.report.render import templates
from auditor.report.reporting import ReportFormat, prepare_renderers

HEAVY = ("pandas", "openpyxl", "xlsxwriter", "jinja2")
# Runs the real console entry point in a fresh interpreter, then names the heavy modules it imported.
PROBE = """
import json, sys
from auditor.cli.app import main
sys.argv = ["auditor", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {heavy} if name in sys.modules)))
"""


def _loaded_by(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("formats", "expected"), [
    ("json", []),
    ("junit,ps1", []),
    ("html,json", ["jinja2"]),
    ("xlsx", ["xlsxwriter"]),
])
def test_a_scan_imports_only_what_its_formats_need(tmp_path: Path, formats: str, expected: list[str]) -> None:
    loaded = _loaded_by("scan", "--demo", "--format", formats, "--quiet", "--out", str(tmp_path))
    assert loaded == expected
    assert (tmp_path / "auditor-manifest.json").exists()  # the scan did run


def test_prepare_renderers_for_json_imports_nothing_heavy() -> None:
    code = ("import sys; from auditor.report.reporting import ReportFormat, prepare_renderers; "
            "prepare_renderers([ReportFormat.JSON, ReportFormat.JUNIT]); "
            f"print([name for name in {HEAVY} if name in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture
def fresh_templates(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A process's template state before any report: nothing compiled; returns the names the loader loads."""
    env = templates._environment()
    monkeypatch.setattr(templates, "_ENV", env)
    monkeypatch.setattr(templates, "_compiled", {})
    loads: list[str] = []
    load = env.loader.load

    def counting_load(environment: object, name: str, globals_: object = None) -> object:
        loads.append(name)
        return load(environment, name, globals_)

    monkeypatch.setattr(env.loader, "load", counting_load)
    return loads


def test_threads_asking_at_once_compile_the_report_template_once(fresh_templates: list[str]) -> None:
    threads, start, got = 8, threading.Barrier(8), []

    def ask() -> None:
        start.wait()
        got.append(templates.template("report.html.j2"))

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert fresh_templates == ["report.html.j2"]
    assert len(got) == threads and len({id(t) for t in got}) == 1


def test_prepare_renderers_compiles_the_html_template_before_any_report(fresh_templates: list[str]) -> None:
    prepare_renderers([ReportFormat.JSON, ReportFormat.HTML, ReportFormat.XLSX])
    assert fresh_templates == ["report.html.j2"]
    from auditor.report.render.html import render_html
    from tests import report_samples as samples

    assert "<!DOCTYPE html>" in render_html(samples.ordinary())[:200]
    assert fresh_templates == ["report.html.j2"]  # the report used the compiled one
