"""Issue 12, point 2: the history under concurrency and faults. Ten scans started together on a new history
all get recorded; a locked store is waited for a bounded time and named as locked; a history that fails
after the reports were written is one line and exit 4 (never 2, which promises nothing was written)."""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

import auditor.history.store
import auditor.model.output
from auditor.cli.app import main
from auditor.history.location import locate
from auditor.history.store import open_history
from auditor.model.resources import DEMO_SNAPSHOT
from tests.conftest import Run

pytest_plugins = ["tests.postgres"]

Cli = Callable[..., Run]
SCANS = 10
_start: Any = None  # the barrier every forked scan waits at, so that all ten open the history together


def _remember_barrier(barrier: Any) -> None:
    global _start
    _start = barrier


def _scan_in_a_process(args: list[str]) -> tuple[int, str]:
    """`auditor ARGS` in a forked process, once all ten are ready; its exit code and stderr."""
    _start.wait(timeout=120)
    sys.argv = ["auditor", *args]
    err = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, err.getvalue()


def test_ten_scans_started_together_on_a_new_history_are_all_recorded(tmp_path: Path, history_url: str) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(SCANS)
    scans = [["scan", "--demo", "--out", str(tmp_path / f"out-{n}"), "--format", "json", "--quiet",
              "--history", history_url] for n in range(SCANS)]
    with context.Pool(SCANS, initializer=_remember_barrier, initargs=(barrier,)) as pool:
        outcomes = pool.map(_scan_in_a_process, scans, chunksize=1)

    assert [code for code, _ in outcomes] == [1] * SCANS, [err for _, err in outcomes]  # the demo fails a rule
    assert [err for _, err in outcomes] == [""] * SCANS
    with open_history(history_url, create=False) as store:
        runs = store.summaries()
    assert len(runs) == SCANS
    assert len({run.id for run in runs}) == SCANS


@contextlib.contextmanager
def _held_lock(history_url: str) -> Iterator[None]:
    """Someone else holding the history: an exclusive SQLite transaction, or a PostgreSQL table lock."""
    location = locate(history_url)
    if location.sqlite_file is not None:
        conn = sqlite3.connect(location.sqlite_file, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    with psycopg.connect(history_url) as conn, conn.transaction():
        conn.execute("LOCK TABLE auditor_runs IN ACCESS EXCLUSIVE MODE")
        yield


@pytest.fixture
def short_lock_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auditor.history.store, "LOCK_TIMEOUT_SECONDS", 0.3)


def _scan(cli: Cli, out: Path, history: str) -> Run:
    return cli("scan", "--snapshot", str(DEMO_SNAPSHOT), "--out", str(out), "--format", "json", "--history", history)


def test_a_history_locked_while_the_run_is_stored_is_exit_4_with_the_reports_written(
    cli: Cli, tmp_path: Path, history_url: str, monkeypatch: pytest.MonkeyPatch, short_lock_wait: None
) -> None:
    assert _scan(cli, tmp_path / "first", history_url).code == 1
    real_write_all = auditor.model.output.write_all
    locks = contextlib.ExitStack()

    def write_then_someone_locks(folder: Path, files: dict[str, bytes]) -> str:
        run_id = real_write_all(folder, files)
        locks.enter_context(_held_lock(history_url))
        return run_id

    monkeypatch.setattr(auditor.model.output, "write_all", write_then_someone_locks)
    with locks:
        run = _scan(cli, tmp_path / "second", history_url)

    assert run.code == 4
    last = run.stderr.splitlines()[-1]
    assert last.startswith("auditor: history ") and last.endswith(
        "cannot store the run (locked by another process; gave up after 0.3 s)")
    assert json.loads((tmp_path / "second" / "result.json").read_text())["verdict"] == "ready-via-workflow"
    with open_history(history_url, create=False) as store:
        assert len(store.summaries()) == 1


def test_a_history_locked_when_the_scan_starts_is_exit_2_and_nothing_is_written(
    cli: Cli, tmp_path: Path, short_lock_wait: None
) -> None:
    history = str(tmp_path / "history.db")
    assert _scan(cli, tmp_path / "first", history).code == 1
    with _held_lock(history):
        run = _scan(cli, tmp_path / "second", history)
    assert run.code == 2
    assert run.stderr == (f"auditor: history {history}: cannot open the history (locked by another process; "
                          "gave up after 0.3 s)\n")
    assert not (tmp_path / "second").exists()


def test_a_full_disk_while_storing_the_run_is_one_line_and_exit_4(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_engine = auditor.history.store._engine

    def engine_on_a_full_disk(location: Any) -> Any:
        engine = real_engine(location)

        def full(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("INSERT INTO auditor_runs"):
                # As SQLAlchemy hands on SQLite's error: 2.1 wraps what a listener raises, 2.0 (the newest for
                # Python 3.10) does not, so the listener raises it wrapped.
                raise OperationalError(statement, None, sqlite3.OperationalError("database or disk is full"))

        event.listen(engine, "before_cursor_execute", full)
        return engine

    monkeypatch.setattr(auditor.history.store, "_engine", engine_on_a_full_disk)
    history = str(tmp_path / "history.db")
    run = _scan(cli, tmp_path / "out", history)

    assert run.code == 4
    assert run.stderr.splitlines()[-1] == (f"auditor: history {history}: cannot store the run "
                                           "(database or disk is full)")
    assert (tmp_path / "out" / "result.json").is_file()


def test_a_fleet_tenant_whose_run_cannot_be_stored_is_exit_4_and_keeps_its_reports(
    cli: Cli, fake_graph: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakegraph import scenarios

    server = fake_graph(scenarios.fully_consented())
    tenants = tmp_path / "tenants.csv"
    tenants.write_text(f"name,graph_url,auth\nfabrikam,{server.base_url},token\n")
    history = str(tmp_path / "history.db")
    assert cli("history", "--history", history).code == 2  # not there yet
    real_record = auditor.history.store.HistoryStore.record

    def locked(self: Any, result: Any) -> int:
        with _held_lock(history):
            return real_record(self, result)

    monkeypatch.setattr(auditor.history.store, "LOCK_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(auditor.history.store.HistoryStore, "record", locked)
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "fleet"), "--history", history, "--quiet")

    assert run.code == 4
    [tenant] = json.loads((tmp_path / "fleet" / "fleet.json").read_text())["tenants"]
    assert tenant["exit_code"] == 4 and tenant["verdict"] == "ready"
    assert tenant["error"] == (f"history {history}: cannot store the run (locked by another process; "
                               "gave up after 0.3 s)")
    assert (tmp_path / "fleet" / "fabrikam" / "result.json").is_file()


def test_a_fleet_tenant_whose_history_is_locked_throughout_is_written_and_exit_4(
    cli: Cli, fake_graph: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locked while the tenant reads its previous run and while it stores its own: the tenant's reports are
    still written (without changes since the last run, which it says), exit 4 — not exit 2, which would
    claim that nothing was written."""
    from tests.fakegraph import scenarios

    server = fake_graph(scenarios.fully_consented())
    tenants = tmp_path / "tenants.csv"
    tenants.write_text(f"name,graph_url,auth\nfabrikam,{server.base_url},token\n")
    history = str(tmp_path / "history.db")
    store = auditor.history.store.HistoryStore
    real_latest, real_record = store.latest, store.record

    def locked_latest(self: Any, tenant_id: str, count: int = 1) -> Any:
        with _held_lock(history):
            return real_latest(self, tenant_id, count)

    def locked_record(self: Any, result: Any) -> int:
        with _held_lock(history):
            return real_record(self, result)

    monkeypatch.setattr(auditor.history.store, "LOCK_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(store, "latest", locked_latest)
    monkeypatch.setattr(store, "record", locked_record)
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "fleet"), "--history", history, "--quiet")

    assert run.code == 4, run.stderr
    [tenant] = json.loads((tmp_path / "fleet" / "fleet.json").read_text())["tenants"]
    assert (tenant["exit_code"], tenant["verdict"]) == (4, "ready")
    assert tenant["error"].startswith("previous run not read, so no changes are shown (history ")
    assert "cannot store the run (locked by another process; gave up after 0.3 s)" in tenant["error"]
    assert (tmp_path / "fleet" / "fabrikam" / "result.json").is_file()
