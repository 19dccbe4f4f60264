"""Issue 12, points 1 and 5: a run publishes one coherent set of files, named by a manifest written last; a run
killed midway is finished or removed by the next one; only files a run of this tool wrote (and that still
hold what it wrote) are ever removed; the folders the tool creates are 0700 whatever the umask."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor.model.resources import DEMO_SNAPSHOT
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph

Cli = Callable[..., Run]
MANIFEST = "auditor-manifest.json"  # the documented name (docs/output.md)
StartGraph = Callable[..., FakeGraph]


class Killed(BaseException):
    """The process dying at that point: nothing of the auditor's own handling runs (it catches Exception)."""


def _other_snapshot(tmp_path: Path) -> Path:
    data = json.loads(DEMO_SNAPSHOT.read_text())
    data["tenant"]["display_name"] = "Run B's tenant"
    path = tmp_path / "b.snapshot.json"
    path.write_text(json.dumps(data))
    return path


def _manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def _assert_coherent(folder: Path) -> None:
    """What a reader may rely on: when the manifest is there, every file it names holds what that run wrote."""
    manifest = _manifest(folder)
    if manifest is None:
        return
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["name"]).read_bytes()).hexdigest() == entry["sha256"], entry["name"]


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_run_publishes_its_files_with_a_manifest_naming_them_and_its_id(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = cli("scan", "--demo", "--out", str(out), "--format", "html,json")
    second = cli("scan", "--demo", "--out", str(out), "--format", "html,json")

    assert (first.code, second.code) == (1, 1)
    manifest = _manifest(out)
    assert manifest is not None
    assert (manifest["format"], manifest["schema_version"]) == ("auditor-output", 1)
    assert [entry["name"] for entry in manifest["files"]] == ["report.html", "result.json"]
    assert len(manifest["run_id"]) == 32 and manifest["written_at"].endswith("Z")
    _assert_coherent(out)
    assert _names(out) == [MANIFEST, "report.html", "result.json"]
    assert stat.S_IMODE((out / MANIFEST).stat().st_mode) == 0o600


def test_a_narrower_rerun_keeps_the_users_own_files_of_report_names(cli: Cli, tmp_path: Path) -> None:
    """The user's result.json and report.junit.xml were never written by the tool: they stay."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text('{"mine": true}')
    (out / "report.junit.xml").write_text("<mine/>")

    run = cli("scan", "--demo", "--out", str(out), "--format", "html")

    assert run.code == 1
    assert _names(out) == [MANIFEST, "report.html", "report.junit.xml", "result.json"]
    assert (out / "result.json").read_text() == '{"mine": true}'
    assert (out / "report.junit.xml").read_text() == "<mine/>"


def test_a_report_the_user_changed_since_is_not_removed(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cli("scan", "--demo", "--out", str(out), "--format", "html,json,junit")
    (out / "report.junit.xml").write_text("<edited by the user/>")

    cli("scan", "--demo", "--out", str(out), "--format", "json")

    assert _names(out) == [MANIFEST, "report.junit.xml", "result.json"]  # the unchanged report.html: removed
    assert (out / "report.junit.xml").read_text() == "<edited by the user/>"


def test_a_run_killed_between_its_renames_is_never_seen_mixed_and_the_next_run_finishes_it(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    cli("scan", "--demo", "--out", str(out), "--format", "html,xlsx,json")  # run A
    run_a = (out / "result.json").read_bytes()
    real_replace = os.replace
    renames: list[str] = []

    def replace_then_die_at_the_second(source: str | Path, target: str | Path) -> None:
        _assert_coherent(out)  # at every step of publishing
        renames.append(Path(target).name)
        if len(renames) == 2:
            raise Killed
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_then_die_at_the_second)
    with pytest.raises(Killed):
        cli("scan", "--snapshot", str(_other_snapshot(tmp_path)), "--out", str(out), "--format", "html,json")  # B
    monkeypatch.setattr(os, "replace", real_replace)

    assert renames == ["report.html", "result.json"]
    assert (out / "result.json").read_bytes() == run_a  # A's result beside B's report.html ...
    assert _manifest(out) is None  # ... and no manifest claims them to be one run
    run_c = cli("scan", "--demo", "--out", str(out), "--format", "json")

    assert run_c.code == 1
    assert _names(out) == [MANIFEST, "result.json"]  # B finished, then replaced: no leftover of A, B or staging
    assert [entry["name"] for entry in _manifest(out)["files"]] == ["result.json"]
    _assert_coherent(out)


def test_a_run_killed_while_writing_leaves_the_earlier_run_whole_and_the_next_run_removes_its_leftovers(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    cli("scan", "--demo", "--out", str(out), "--format", "html,json")
    before = {name: (out / name).read_bytes() for name in _names(out)}
    real_fsync = os.fsync
    calls: list[int] = []

    def die_on_the_second_file(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise Killed
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", die_on_the_second_file)
    with pytest.raises(Killed):
        cli("scan", "--snapshot", str(_other_snapshot(tmp_path)), "--out", str(out), "--format", "html,json")
    monkeypatch.setattr(os, "fsync", real_fsync)

    assert {name: (out / name).read_bytes() for name in before} == before
    leftovers = [name for name in _names(out) if name not in before]
    assert len(leftovers) == 1 and leftovers[0].startswith(".auditor-run-")  # one private staging folder
    assert stat.S_IMODE((out / leftovers[0]).stat().st_mode) == 0o700
    cli("scan", "--demo", "--out", str(out), "--format", "json")
    assert _names(out) == [MANIFEST, "result.json"]


@pytest.fixture(params=[0o000, 0o277], ids=["umask-000", "umask-277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_folders_the_tool_creates_are_0700_and_files_0600_whatever_the_umask(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, umask: int
) -> None:
    server = fake_graph(scenarios.fully_consented())
    (tmp_path / "tenants.csv").write_text(f"name,graph_url,auth\nfabrikam,{server.base_url},token\n")
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)

    runs = [
        cli("scan", "--demo", "--out", str(tmp_path / "a" / "b" / "out"), "--history", str(tmp_path / "h" / "x.db")),
        cli("collect", *cli_args(server), "--out", str(tmp_path / "c" / "d" / "snapshot.json")),
        cli("fleet", str(tmp_path / "tenants.csv"), "--out", str(tmp_path / "fleet" / "out"), "--quiet"),
        cli("scan", "--demo", "--out", str(existing)),
    ]

    assert [run.code for run in runs] == [1, 0, 1, 1], [run.stderr for run in runs]
    created = ["a", "a/b", "a/b/out", "h", "c", "c/d", "fleet", "fleet/out", "fleet/out/fabrikam"]
    assert {name: _mode(tmp_path / name) for name in created} == dict.fromkeys(created, 0o700)
    files = [path for path in tmp_path.rglob("*") if path.is_file() and path.name != "tenants.csv"]
    assert len(files) > 12
    assert {str(path): _mode(path) for path in files} == dict.fromkeys(map(str, files), 0o600)
    assert _mode(existing) == 0o755  # a folder the user made is left as it is


def test_a_snapshot_write_that_died_leaves_a_temporary_file_the_next_write_removes(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.fully_consented())
    snapshot = tmp_path / "snapshot.json"
    (tmp_path / ".snapshot.json.keep.tmp").write_text("the user's")
    real_replace = os.replace

    def die(source: str | Path, target: str | Path) -> None:
        raise Killed

    monkeypatch.setattr(os, "replace", die)
    with pytest.raises(Killed):
        cli("collect", *cli_args(server), "--out", str(snapshot))
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(list(tmp_path.glob(".snapshot.json.*.tmp"))) == 2

    assert cli("collect", *cli_args(server), "--out", str(snapshot)).code == 0
    assert _names(tmp_path) == [".snapshot.json.keep.tmp", "snapshot.json"]


def test_an_out_folder_below_a_file_is_one_line_naming_the_file_in_the_way(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("the user's")
    run = cli("scan", "--demo", "--out", str(tmp_path / "afile" / "sub"), "--format", "json")
    assert run.code == 2
    assert run.stderr.strip().splitlines()[-1].endswith(
        "cannot create output folder (a file is in the way: it or a folder above it is a file, not a folder)")
    assert (tmp_path / "afile").read_text() == "the user's"
