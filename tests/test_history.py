"""The scan history (`--history`, AUDITOR_HISTORY) in SQLite and PostgreSQL, and `auditor history`."""

from __future__ import annotations

import json
import re
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from auditor.history.location import locate
from auditor.history.schema import SCHEMA_VERSION, schema_info
from auditor.history.store import open_history
from tests.conftest import Run
from tests.factory import TENANT_ID, Tenant

pytest_plugins = ["tests.postgres"]

Cli = Callable[..., Run]
OTHER_TENANT = "7d2c0e41-1a5b-4c3d-8e9f-0a1b2c3d4e5f"


def _snapshot(tmp_path: Path, tenant: Tenant, name: str, **overrides: str) -> Path:
    """The tenant's snapshot as a file; `tenant_id` / `tenant_name` make it another tenant."""
    data = json.loads(tenant.build().to_json())
    data["tenant"]["id"] = overrides.get("tenant_id", data["tenant"]["id"])
    data["tenant"]["display_name"] = overrides.get("tenant_name", data["tenant"]["display_name"])
    path = tmp_path / f"{name}.snapshot.json"
    path.write_text(json.dumps(data))
    return path


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scan(cli: Cli, snapshot: Path, out: Path, *args: str) -> Run:
    return cli("scan", "--snapshot", str(snapshot), "--out", str(out), "--format", "json", *args)


def test_the_first_scan_creates_the_schema_and_every_run_is_stored_with_its_findings(
    cli: Cli, tmp_path: Path, history_url: str
) -> None:
    tenant = Tenant()
    tenant.add_per_user_grant("Ann Able")
    run = _scan(cli, _snapshot(tmp_path, tenant, "one"), tmp_path / "out", "--history", history_url)
    assert run.code == 0, run.stderr
    written = json.loads((tmp_path / "out" / "result.json").read_text())

    with open_history(history_url, create=False) as store:
        [summary] = store.summaries()
        [state] = store.latest(TENANT_ID)
    assert (summary.tenant_id, summary.tenant_name) == (TENANT_ID, "Northwind Test")
    assert summary.verdict.value == written["verdict"] and summary.score == written["summary"]["score"]
    assert summary.failed == written["summary"]["fail"] == 1
    assert summary.rule_pack == f"hd-meeting {written['rule_pack']['version']}"
    assert summary.generated_at.isoformat().replace("+00:00", "Z") == written["generated_at"]
    assert [(r.rule_id, r.status.value, r.evidence) for r in state.rules] == [
        (f["rule_id"], f["status"], f["evidence"]) for f in written["findings"]
    ]
    engine = create_engine(locate(history_url).url)
    with engine.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalars().all() == [SCHEMA_VERSION]
    engine.dispose()


def test_auditor_history_lists_runs_per_tenant_newest_first_with_the_score_trend(
    cli: Cli, tmp_path: Path, history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    tenant = Tenant()
    _scan(cli, _snapshot(tmp_path, tenant, "monday"), tmp_path / "a", "--history", history_url)
    tenant.app_sp["accountEnabled"] = False
    _scan(cli, _snapshot(tmp_path, tenant, "tuesday"), tmp_path / "a", "--history", history_url)
    other = _snapshot(tmp_path, Tenant(), "fabrikam", tenant_id=OTHER_TENANT, tenant_name="Fabrikam")
    _scan(cli, other, tmp_path / "b", "--history", history_url)

    run = cli("history", "--history", history_url)
    assert run.code == 0, run.stderr
    fabrikam, northwind = run.stdout.split(f"Fabrikam ({OTHER_TENANT})")[1].split(f"Northwind Test ({TENANT_ID})")
    runs = [line for line in northwind.splitlines() if "UTC" not in line and re.search(r"\d{2}:\d{2}", line)]
    assert "blocked" in runs[0] and re.search(r" -\d+\.\d ", runs[0])  # newest first, with its trend
    assert "ready" in runs[1] and len(runs) == 2
    assert "ready" in fabrikam and "blocked" not in fabrikam

    only = cli("history", "--history", history_url, "--tenant", OTHER_TENANT.upper())
    assert only.code == 0
    assert "Fabrikam" in only.stdout and "Northwind" not in only.stdout
    latest = cli("history", "--history", history_url, "--tenant", TENANT_ID, "--limit", "1")
    assert "blocked" in latest.stdout and "ready" not in latest.stdout


def test_auditor_history_of_an_empty_database_says_so(cli: Cli, postgres_url: str) -> None:
    run = cli("history", "--history", postgres_url)
    assert run.code == 0
    assert "No runs" in run.stdout


def test_the_history_url_can_come_from_auditor_history(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_HISTORY", str(tmp_path / "env.db"))
    assert _scan(cli, _snapshot(tmp_path, Tenant(), "one"), tmp_path / "out").code == 0
    run = cli("history")
    assert run.code == 0
    assert "Northwind Test" in run.stdout


def test_the_sqlite_history_is_private_to_its_owner_and_its_folder_is_created(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "state" / "auditor" / "history.db"
    assert _scan(cli, _snapshot(tmp_path, Tenant(), "one"), tmp_path / "out", "--history", str(path)).code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sqlite_url = f"sqlite:///{path}"
    assert _scan(cli, _snapshot(tmp_path, Tenant(), "one"), tmp_path / "out", "--history", sqlite_url).code == 0
    with open_history(sqlite_url, create=False) as store:
        assert len(store.summaries()) == 2


def test_a_history_written_by_a_newer_auditor_is_refused_before_anything_is_written(
    cli: Cli, tmp_path: Path, history_url: str
) -> None:
    snapshot = _snapshot(tmp_path, Tenant(), "one")
    _scan(cli, snapshot, tmp_path / "first", "--history", history_url)
    engine = create_engine(locate(history_url).url)
    with engine.begin() as conn:
        conn.execute(update(schema_info).values(version=SCHEMA_VERSION + 1))
    engine.dispose()
    run = _scan(cli, snapshot, tmp_path / "second", "--history", history_url)
    assert run.code == 2
    assert f"schema version {SCHEMA_VERSION + 1} is newer than this auditor supports" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "second").exists()
    assert cli("history", "--history", history_url).code == 2


@pytest.mark.parametrize(
    ("history", "fragment"),
    [
        ("mysql://auditor:s3cret-pw@db.example/auditor", "unsupported database 'mysql'"),
        ("postgresql://auditor:s3cret-pw@127.0.0.1:{port}/auditor", "cannot open the history"),
        ("postgresql://auditor:s3cret-pw@127.0.0.1:notaport/auditor", "not a valid database URL"),
        ("{folder}", "cannot open the history"),
        ("{not_a_database}", "cannot open the history"),
    ],
)
def test_a_bad_history_is_one_line_exit_2_never_shows_the_password_and_writes_nothing(
    cli: Cli, tmp_path: Path, history: str, fragment: str
) -> None:
    (tmp_path / "notes.txt").write_text("these are not the tables you are looking for\n" * 100)
    history = history.format(port=_closed_port(), folder=tmp_path, not_a_database=tmp_path / "notes.txt")
    run = _scan(cli, _snapshot(tmp_path, Tenant(), "one"), tmp_path / "out", "--history", history)
    assert run.code == 2
    assert fragment in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "s3cret-pw" not in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_reading_a_history_that_does_not_exist_is_exit_2_and_creates_nothing(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    run = cli("history", "--history", str(missing))
    assert run.code == 2
    assert "file not found" in run.stderr
    assert not missing.exists()


def test_the_history_command_needs_a_history(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_HISTORY", raising=False)
    run = cli("history")
    assert run.code == 2
    assert "AUDITOR_HISTORY" in run.stderr


def test_help_never_shows_the_history_url_from_the_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_HISTORY", "postgresql://auditor:s3cret-pw@db.example/auditor")
    run = cli("scan", "--help")
    assert "--history" in run.stdout
    assert "s3cret-pw" not in run.stdout + run.stderr


def test_hostile_tenant_strings_are_stored_and_listed_harmlessly(
    cli: Cli, tmp_path: Path, history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    hostile = "Evil\x00 [bold]Corp[/bold] \x1b[31m<script>'; DROP TABLE auditor_runs; --"
    snapshot = _snapshot(tmp_path, Tenant(), "evil", tenant_name=hostile)
    assert _scan(cli, snapshot, tmp_path / "out", "--history", history_url).code == 0
    run = cli("history", "--history", history_url)
    assert run.code == 0
    assert "\x1b" not in run.stdout and "\x00" not in run.stdout
    assert "[bold]Corp[/bold]" in run.stdout  # shown as text, not taken as markup
    assert "DROP TABLE auditor_runs" in run.stdout


def test_a_password_with_a_raw_at_sign_is_refused_without_showing_any_part_of_it(cli: Cli, tmp_path: Path) -> None:
    history = f"postgresql://auditor:first-half@second-half@127.0.0.1:{_closed_port()}/auditor"
    run = _scan(cli, _snapshot(tmp_path, Tenant(), "one"), tmp_path / "out", "--history", history)
    assert run.code == 2
    assert run.stderr == ("auditor: history URL postgresql://…: its password holds a raw '@' (write it as %40, or "
                          "put the password in PGPASSWORD or ~/.pgpass)\n")
    assert not (tmp_path / "out").exists()


def test_a_history_url_is_shown_as_sqlalchemy_renders_it_with_the_password_hidden(
    cli: Cli, tmp_path: Path
) -> None:
    port = _closed_port()
    history = f"postgresql://auditor:s3cret%2Fpw@127.0.0.1:{port}/auditor?password=other-pw&sslmode=disable"
    run = _scan(cli, _snapshot(tmp_path, Tenant(), "one"), tmp_path / "out", "--history", history)
    assert run.code == 2
    assert run.stderr.startswith(f"auditor: history postgresql://auditor:***@127.0.0.1:{port}/auditor?sslmode=disable:"
                                 " cannot open the history (")
    assert "s3cret" not in run.stderr and "other-pw" not in run.stderr
