"""Issue 7, point 5: outputs are written all-or-nothing, private (0600), and a re-run replaces the earlier
run's files as a whole without touching anything else; an unexpected failure is one line, never a traceback."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import auditor.report.render.xlsx
from auditor.model.resources import DEMO_SNAPSHOT
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]


def _contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _explode(*args: object) -> bytes:
    raise RuntimeError("renderer bug\nsecond line")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would let everyone read new files: the auditor must not rely on the user's."""
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.parametrize("verbose", [[], ["--verbose"]])
def test_a_renderer_failing_midway_is_one_line_and_leaves_the_earlier_run_intact(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verbose: list[str]
) -> None:
    out = tmp_path / "out"
    cli("scan", "--demo", "--out", str(out), "--format", "html,xlsx,json,junit")
    before = _contents(out)
    monkeypatch.setattr(auditor.report.render.xlsx, "render_xlsx", _explode)

    run = cli("scan", "--snapshot", str(DEMO_SNAPSHOT), "--out", str(out), "--format", "html,xlsx", *verbose)

    assert run.code == 3
    assert run.stderr == "auditor: internal error: RuntimeError: renderer bug\\x0asecond line (please report this)\n"
    assert _contents(out) == before  # nothing new, nothing removed, no temporary file


def test_a_write_failing_midway_leaves_no_temporary_file_and_the_earlier_run_intact(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    cli("scan", "--demo", "--out", str(out))
    before = _contents(out)
    real_fsync = os.fsync
    calls: list[int] = []

    def disk_full_on_the_second_file(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full_on_the_second_file)

    run = cli("scan", "--demo", "--out", str(out), "--format", "json,html")

    assert run.code == 2
    assert run.stderr == f"auditor: {out}: cannot write output (No space left on device)\n"
    assert _contents(out) == before


def test_reports_and_snapshots_are_private_whatever_the_umask(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, open_umask: None
) -> None:
    server = fake_graph(scenarios.fully_consented())
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text("an older snapshot, readable by all")
    snapshot.chmod(0o644)

    collected = cli("collect", *cli_args(server), "--out", str(snapshot))
    scanned = cli("scan", "--snapshot", str(snapshot), "--out", str(tmp_path / "out"), "--format",
                  "html,xlsx,json,junit")

    assert (collected.code, scanned.code) == (0, 1), collected.stderr + scanned.stderr
    assert snapshot.read_text().startswith("{") and _mode(snapshot) == 0o600
    written = sorted((tmp_path / "out").iterdir())
    assert [path.name for path in written] == ["auditor-manifest.json", "report.html", "report.junit.xml",
                                               "report.xlsx", "result.json"]
    assert {_mode(path) for path in written} == {0o600}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out", "snapshot.json"]  # no temporary file


def test_a_collection_that_fails_leaves_the_earlier_snapshot_intact(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = fake_graph(scenarios.fully_consented())
    snapshot = tmp_path / "snapshot.json"
    cli("collect", *cli_args(server), "--out", str(snapshot))
    before = snapshot.read_bytes()
    server.fail(r".", 401, times=None)

    run = cli("collect", *cli_args(server), "--out", str(snapshot))

    assert run.code == 3 and len(run.stderr.splitlines()) == 1
    assert snapshot.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["snapshot.json"]


def test_a_rerun_replaces_the_earlier_run_as_a_whole_and_touches_nothing_else(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cli("scan", "--demo", "--out", str(out), "--format", "html,xlsx,json,junit")
    foreign = {"notes.txt": b"mine", "report.pdf": b"%PDF", ".report.html.keep": b"x"}
    for name, content in foreign.items():
        (out / name).write_bytes(content)
    (out / "archive").mkdir()
    (out / "archive" / "result.json").write_text("{}")
    (out / "result.json").write_text("the first run's")

    run = cli("scan", "--demo", "--out", str(out), "--format", "json")

    assert run.code in (0, 1)
    names = sorted(path.name for path in out.iterdir())
    # html, xlsx and junit of the first run: gone
    assert names == sorted(["auditor-manifest.json", "result.json", "archive", *foreign])
    assert (out / "result.json").read_text().startswith("{")
    assert all((out / name).read_bytes() == content for name, content in foreign.items())
    assert (out / "archive" / "result.json").read_text() == "{}"
