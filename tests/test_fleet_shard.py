"""`auditor fleet --shard K/N` and `auditor fleet-report` (issue 14, item 6): a fleet spread over machines.

Shards of fake tenants over real HTTP record into one history (SQLite and a real PostgreSQL); the
merged report must equal the fleet.json of one unsharded run of the same file.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, insert, select, update

import auditor.history.store
from auditor.collect.options import LiveOptions
from auditor.fleet.shard import Shard, parse_shard, shard_key, shard_of
from auditor.fleet.shard import select as shard_rows
from auditor.fleet.tenants_file import load_tenants
from auditor.history.location import locate
from auditor.history.schema import fleet_tenants, runs, schema_info
from auditor.history.store import HistoryStore
from auditor.model.errors import InputError
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.server import FakeGraph, unused_local_url
from tests.fakegraph.tenant import HDM_APP_ID
from tests.test_fleet import fleet_json, token_row, write_tenants
from tests.test_history_faults import _held_lock

pytest_plugins = ["tests.postgres"]

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]


# --- which shard a row is in ------------------------------------------------------------------------

def _rows(tmp_path: Path, rows: list[dict[str, str]]) -> list[Any]:
    return load_tenants(write_tenants(tmp_path / "tenants.csv", rows), LiveOptions(), None)


# SHA-256 computed with coreutils' sha256sum, not with this code: the first 16 hex digits, modulo N, plus 1.
@pytest.mark.parametrize(("key", "count", "shard"), [
    ("tenant:contoso.onmicrosoft.com", 7, 2),  # def1a95c33d3390d
    ("tenant:contoso.onmicrosoft.com", 3, 1),
    ("tenant:8a7b6c5d-1e2f-4a3b-9c8d-7e6f5a4b3c2d", 7, 5),  # b996df5273393c22
    ("url:http://127.0.0.1:8080/v1.0|lab", 3, 2),  # c3ec42bf5a33e5ad
])
def test_the_shard_is_sha256_of_the_key_so_every_machine_agrees(key: str, count: int, shard: int) -> None:
    assert shard_of(key, count) == shard


def test_the_key_is_the_tenant_id_else_the_graph_url_and_folder(tmp_path: Path) -> None:
    by_id, by_url = _rows(tmp_path, [
        {"name": "Contoso", "tenant_id": " Contoso.OnMicrosoft.com "},
        {"name": "Lab", "graph_url": "http://127.0.0.1:8080/v1.0"},
    ])
    assert shard_key(by_id) == "tenant:contoso.onmicrosoft.com"  # renaming the row does not move it
    assert shard_key(by_url) == "url:http://127.0.0.1:8080/v1.0|lab"


_ROW = st.fixed_dictionaries({
    "tenant_id": st.one_of(st.none(), st.uuids().map(str),
                           st.from_regex(r"[a-z]{1,12}\.onmicrosoft\.com", fullmatch=True)),
    "url": st.sampled_from(["http://127.0.0.1:8080/v1.0", "http://127.0.0.1:9090/v1.0"]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, min_size=1, max_size=60), counts=st.lists(st.integers(1, 40), min_size=1, max_size=5),
       seed=st.integers(0, 2**32))
def test_every_tenant_is_in_exactly_one_shard_whatever_the_rows_and_n(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]], counts: list[int], seed: int,
) -> None:
    csv_rows = [{"name": f"t{n}", "tenant_id": row["tenant_id"] or "",
                 "graph_url": "" if row["tenant_id"] else row["url"]} for n, row in enumerate(rows)]
    tenants = _rows(tmp_path_factory.mktemp("shards"), csv_rows)
    for count in counts:
        placed = [tenant.row for k in range(1, count + 1) for tenant in shard_rows(tenants, Shard(k, count))]
        assert sorted(placed) == [tenant.row for tenant in tenants]  # each once: none lost, none twice
    # A row's shard depends on the row alone: reordering the file moves nobody.
    shuffled = random.Random(seed).sample(tenants, len(tenants))
    for count in counts:
        assert {t.row: shard_of(shard_key(t), count) for t in shuffled} == {
            t.row: shard_of(shard_key(t), count) for t in tenants}


def test_shards_are_balanced() -> None:
    keys = [f"tenant:{n:08x}-0000-4000-8000-000000000000" for n in range(3000)]
    sizes = [sum(shard_of(key, 3) == k for key in keys) for k in (1, 2, 3)]
    assert all(900 <= size <= 1100 for size in sizes), sizes


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "1/0", "", "1/3/5", "-1/3", "1.5/3", "3", "\uff12/3", "1/\u0663"])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^--shard "):
        parse_shard(text)


def test_shards_parse() -> None:
    assert parse_shard(" 2 / 5 ") == Shard(2, 5) and str(parse_shard("1/1")) == "1/1"


@pytest.mark.parametrize("text", ["1/99999999999999999999", "1/1000000", "3/" + "9" * 5000])
def test_too_many_shards_say_n_is_too_large(cli: Cli, tmp_path: Path, text: str) -> None:
    """The history stores "K/N" in 16 characters: N has at most 6 digits."""
    tenants = write_tenants(tmp_path / "tenants.csv", [{"name": "Contoso", "tenant_id": "contoso.onmicrosoft.com"}])
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--shard", text)
    assert run.code == 2
    assert run.stderr == f"auditor: --shard {text!r}: N is too large (at most 999999 shards)\n"
    assert not (tmp_path / "out").exists()


def test_the_largest_shard_count_and_zero_padded_numbers_parse() -> None:
    assert parse_shard("999999/999999") == Shard(999_999, 999_999)
    assert parse_shard("0" * 5000 + "2/005") == Shard(2, 5)
    with pytest.raises(InputError, match=r"K must be from 1 to N"):
        parse_shard("9" * 5000 + "/3")  # K above N, however many digits, without converting them


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "1/0"])
def test_a_bad_shard_option_is_one_line_exit_2_and_nothing_written(cli: Cli, tmp_path: Path, text: str) -> None:
    tenants = write_tenants(tmp_path / "tenants.csv", [{"name": "Contoso", "tenant_id": "contoso.onmicrosoft.com"}])
    history = tmp_path / "history.db"
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--shard", text, "--history", str(history))
    assert run.code == 2
    assert run.stderr.startswith(f"auditor: --shard {text!r}: ") and run.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists() and not history.exists()


# --- shards into one history, merged -------------------------------------------------------------------

def _fleet_file(tmp_path: Path, fake_graph: StartGraph, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Seven fake tenants: four verdicts, a 403 (unknown), a wrong token, an unreachable Graph. With the
    tenant ids chosen here (sha256sum), shard 1/3 holds Northwind, Wingtip and Forbidden, 2/3 Fabrikam and
    Tailspin, 3/3 Down; Bad token has no tenant_id, so its URL and folder place it."""
    servers = {
        "Fabrikam": fake_graph(scenarios.fully_consented()),
        "Northwind": fake_graph(scenarios.workflow_only(), page_size=2),
        "Tailspin": fake_graph(scenarios.disabled_app()),
        "Wingtip": fake_graph(scenarios.legacy_user_consent()),
        "Forbidden": fake_graph(scenarios.legacy_user_consent()),
    }
    servers["Forbidden"].fail(r"authorizationPolicy", 403, times=None)
    rows = []
    for name, server in servers.items():
        monkeypatch.setenv(f"AUDITOR_TOKEN_{name.upper()}", server.token)
        rows.append(token_row(name, server, f"AUDITOR_TOKEN_{name.upper()}",
                              tenant_id=f"{name.lower()}.onmicrosoft.com"))
    monkeypatch.setenv("AUDITOR_TOKEN_WRONG", "not-the-token-of-this-tenant")
    rows.append(token_row("Bad token", servers["Tailspin"], "AUDITOR_TOKEN_WRONG"))
    rows.append(token_row("Down", unused_local_url(), "AUDITOR_TOKEN_WINGTIP", tenant_id="down.onmicrosoft.com"))
    return write_tenants(tmp_path / "tenants.csv", rows)


EXPECTED = {  # DESIGN §5 verdicts and §6 exit codes of these scenarios (as in tests/test_fleet.py)
    "Fabrikam": ("ready", 1), "Northwind": ("ready-via-workflow", 1), "Tailspin": ("blocked", 1),
    "Wingtip": ("ready-via-user-consent", 1), "Forbidden": ("unknown", 3), "Bad token": (None, 3), "Down": (None, 3),
}


def _fleet(cli: Cli, tenants: Path, out: Path, *args: str) -> Run:
    return cli("fleet", str(tenants), "--out", str(out), "--app-id", HDM_APP_ID, "--format", "json", "--quiet",
               "--workers", "1", *args)


def test_three_shards_merged_equal_one_unsharded_run(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history_url: str,
) -> None:
    tenants = _fleet_file(tmp_path, fake_graph, monkeypatch)
    whole = _fleet(cli, tenants, tmp_path / "whole")
    assert whole.code == 3, whole.stderr
    expected = fleet_json(tmp_path / "whole")
    assert {t["name"]: (t["verdict"], t["exit_code"]) for t in expected["tenants"]} == EXPECTED

    monkeypatch.setenv("AUDITOR_HISTORY", history_url)  # as a Kubernetes Job's secret would give it
    shard_names = []
    for k in (1, 2, 3):
        run = _fleet(cli, tenants, tmp_path / f"shard{k}", "--shard", f"{k}/3")
        assert run.code in (1, 3), run.stderr
        shard_names.append({t["name"] for t in fleet_json(tmp_path / f"shard{k}")["tenants"]})
        assert (tmp_path / f"shard{k}" / "fleet.html").is_file() and (tmp_path / f"shard{k}" / "fleet.xlsx").is_file()
    assert {"Northwind", "Wingtip", "Forbidden"} <= shard_names[0] and {"Fabrikam", "Tailspin"} <= shard_names[1]
    assert "Down" in shard_names[2]
    assert sorted(name for names in shard_names for name in names) == sorted(EXPECTED)  # each in one shard

    report = cli("fleet-report", "--out", str(tmp_path / "merged"))
    assert report.code == 3, report.stderr
    assert fleet_json(tmp_path / "merged") == expected
    page = (tmp_path / "merged" / "fleet.html").read_text()
    assert "by shard 1/3, 2/3, 3/3" in page and "not linked from this page" in page and "<a href" not in page
    assert (tmp_path / "merged" / "fleet.xlsx").is_file()


def test_shards_running_at_once_into_a_new_postgresql_history_all_land(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str,
) -> None:
    """Three shard processes at once, as a Kubernetes indexed Job runs them: the first creates the schema
    while the others wait, and every tenant's row is stored."""
    tenants = _fleet_file(tmp_path, fake_graph, monkeypatch)
    env = {**os.environ, "AUDITOR_HISTORY": postgres_url}
    shards = [subprocess.Popen([sys.executable, "-m", "auditor", "fleet", str(tenants), "--out",
                                str(tmp_path / f"s{k}"), "--app-id", HDM_APP_ID, "--format", "json", "--quiet",
                                "--workers", "1", "--shard", f"{k}/3"], env=env, stderr=subprocess.PIPE, text=True)
              for k in (1, 2, 3)]
    for shard in shards:
        _, stderr = shard.communicate(timeout=120)
        assert shard.returncode in (1, 3), stderr
    assert cli("fleet-report", "--history", postgres_url, "--out", str(tmp_path / "merged")).code == 3
    merged = fleet_json(tmp_path / "merged")["tenants"]
    assert [t["name"] for t in merged] == list(EXPECTED)  # the tenants file's order
    assert {t["name"]: (t["verdict"], t["exit_code"]) for t in merged} == EXPECTED


def test_the_latest_run_of_each_tenant_wins_and_old_runs_can_be_marked_stale(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str,
) -> None:
    forbidden, healthy = fake_graph(scenarios.fully_consented()), fake_graph(scenarios.fully_consented())
    forbidden.fail(r"authorizationPolicy", 403, times=None)
    monkeypatch.setenv("AUDITOR_TOKEN_FIRST", forbidden.token)
    monkeypatch.setenv("AUDITOR_TOKEN_SECOND", healthy.token)
    for run, server in (("first", forbidden), ("second", healthy)):  # one tenant (by its id), scanned twice
        tenants = write_tenants(tmp_path / f"{run}.csv", [
            token_row("Fabrikam", server, f"AUDITOR_TOKEN_{run.upper()}", tenant_id="fabrikam.onmicrosoft.com")])
        assert _fleet(cli, tenants, tmp_path / run, "--history", postgres_url).code == (3 if run == "first" else 1)

    with_password = postgres_url.replace("postgres@", "postgres:s3cret-pw-4711@")  # the server trusts anyone
    report = cli("fleet-report", "--history", with_password, "--out", str(tmp_path / "merged"))
    [tenant] = fleet_json(tmp_path / "merged")["tenants"]
    assert (report.code, tenant["verdict"], tenant["exit_code"], tenant["error"]) == (1, "ready", 1, None)
    page = (tmp_path / "merged" / "fleet.html").read_text()
    assert "Merged from history postgresql://postgres:***@" in page
    assert all("s3cret-pw-4711" not in text for text in (page, report.stdout, report.stderr))

    two_days_ago = datetime.now(timezone.utc) - timedelta(days=2)
    engine = create_engine(locate(postgres_url).url)
    with engine.begin() as conn:
        conn.execute(update(fleet_tenants).values(started_at=two_days_ago))
    engine.dispose()
    stale = cli("fleet-report", "--history", postgres_url, "--out", str(tmp_path / "stale"), "--stale-after", "24")
    [tenant] = fleet_json(tmp_path / "stale")["tenants"]
    assert (stale.code, tenant["verdict"], tenant["exit_code"]) == (3, "ready", 3)
    assert tenant["error"] == (f"stale: last scanned {two_days_ago:%Y-%m-%d %H:%M} UTC by shard 1/1, over 24 h ago")


def test_a_fleet_whose_rows_cannot_be_stored_is_exit_4_for_every_tenant_and_keeps_its_reports(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = fake_graph(scenarios.fully_consented())
    tenants = write_tenants(tmp_path / "tenants.csv", [token_row("Fabrikam", server, "AUDITOR_ACCESS_TOKEN")])
    history = str(tmp_path / "history.db")
    real_record_fleet = HistoryStore.record_fleet

    def someone_holds_the_lock(self: HistoryStore, records: Any) -> None:
        with _held_lock(history):
            real_record_fleet(self, records)

    monkeypatch.setattr(auditor.history.store, "LOCK_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(HistoryStore, "record_fleet", someone_holds_the_lock)
    run = _fleet(cli, tenants, tmp_path / "out", "--history", history)

    assert run.code == 4
    [tenant] = fleet_json(tmp_path / "out")["tenants"]
    assert (tenant["verdict"], tenant["exit_code"]) == ("ready", 4)
    assert tenant["error"] == (f"history {history}: cannot store the fleet's tenants (locked by another process; "
                               "gave up after 0.3 s)")
    assert (tmp_path / "out" / "Fabrikam" / "result.json").is_file()
    assert "Not in history" in (tmp_path / "out" / "fleet.html").read_text()


def test_a_shard_without_tenants_writes_empty_fleet_files_and_exits_0(cli: Cli, tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants.csv", [{"name": "Contoso", "tenant_id": "contoso.onmicrosoft.com"}])
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--shard", "2/3", "--history",
              str(tmp_path / "history.db"))  # contoso is in shard 1 of 3 (sha256sum, above)
    assert run.code == 0, run.stderr
    assert fleet_json(tmp_path / "out") == {"schema_version": 1, "interrupted": None, "tenants": []}
    assert "Fleet of 0 tenants (shard 2/3, of 1 in the file): none to scan." in run.stderr


def test_fleet_report_of_a_missing_or_empty_history_is_one_line_exit_2_and_writes_nothing(
    cli: Cli, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = cli("fleet-report", "--history", str(tmp_path / "none.db"), "--out", str(tmp_path / "out"))
    assert (missing.code, missing.stderr) == (2, f"auditor: history {tmp_path / 'none.db'}: file not found\n")
    empty = cli("fleet-report", "--history", postgres_url, "--out", str(tmp_path / "out"))
    assert empty.code == 2
    assert empty.stderr.endswith(": no fleet run recorded yet (run 'auditor fleet --history' first)\n")
    assert empty.stderr.count("\n") == 1
    monkeypatch.delenv("AUDITOR_HISTORY", raising=False)
    unset = cli("fleet-report", "--out", str(tmp_path / "out"))
    assert (unset.code, unset.stderr.count("\n")) == (2, 1)
    assert not (tmp_path / "out").exists()


def test_a_version_1_history_is_read_as_is_and_upgraded_by_the_next_fleet(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, history_url: str,
) -> None:
    server = fake_graph(scenarios.fully_consented())
    tenants = write_tenants(tmp_path / "tenants.csv", [token_row("Fabrikam", server, "AUDITOR_ACCESS_TOKEN")])
    assert _fleet(cli, tenants, tmp_path / "v1", "--history", history_url).code == 1
    engine = create_engine(locate(history_url).url)
    with engine.begin() as conn:  # what an auditor of schema version 1 left: no fleet table
        fleet_tenants.drop(conn)
        conn.execute(delete(schema_info))
        conn.execute(insert(schema_info).values(version=1))

    assert cli("history", "--history", history_url).code == 0
    report = cli("fleet-report", "--history", history_url, "--out", str(tmp_path / "merged"))
    assert report.code == 2 and "no fleet run recorded yet" in report.stderr

    assert _fleet(cli, tenants, tmp_path / "v2", "--history", history_url).code == 1
    with engine.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalars().all() == [1, 2]
        assert conn.execute(select(runs.c.id)).scalars().all() == [1, 2]  # the older run is kept
    engine.dispose()
    assert cli("fleet-report", "--history", history_url, "--out", str(tmp_path / "merged")).code == 1
    [tenant] = fleet_json(tmp_path / "merged")["tenants"]
    assert (tenant["name"], tenant["verdict"]) == ("Fabrikam", "ready")


# --- the Kubernetes example in the docs ---------------------------------------------------------------

DOCS = Path(__file__).parent.parent / "docs" / "fleet-sharding.md"


def _indexed_job() -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    [job] = [doc for block in blocks for doc in yaml.safe_load_all(block)
             if doc.get("kind") == "Job" and doc["spec"].get("completionMode") == "Indexed"]
    return job


@pytest.mark.parametrize(("index", "code", "shard_exit"), [(0, 0, 0), (2, 1, 0), (7, 3, 0), (1, 4, 4), (3, 2, 2)])
def test_the_kubernetes_example_scans_index_plus_one_of_completions(
    tmp_path: Path, index: int, code: int, shard_exit: int,
) -> None:
    """The docs' indexed Job, run by sh with a stand-in `auditor`: shard JOB_COMPLETION_INDEX+1 of `completions`;
    findings (1) and incomplete tenants (3) complete the index, 4 fails it (retried), 2 fails the Job."""
    spec = _indexed_job()["spec"]
    [container] = spec["template"]["spec"]["containers"]
    assert {env["name"]: env["value"] for env in container["env"]}["SHARDS"] == str(spec["completions"])
    assert spec["podFailurePolicy"]["rules"] == [
        {"action": "FailJob", "onExitCodes": {"containerName": container["name"], "operator": "In", "values": [2]}}]
    stand_in = tmp_path / "auditor"
    stand_in.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/args\nexit {code}\n')
    stand_in.chmod(0o755)
    done = subprocess.run([*container["command"], *container["args"]], check=False, timeout=30, env={
        "PATH": f"{tmp_path}:/usr/bin:/bin", "JOB_COMPLETION_INDEX": str(index), "SHARDS": str(spec["completions"])})
    assert done.returncode == shard_exit
    args = (tmp_path / "args").read_text().splitlines()
    assert args[:2] == ["fleet", "/etc/auditor/tenants.csv"]
    assert args[args.index("--shard") + 1] == f"{index + 1}/{spec['completions']}"


def test_two_rows_checking_two_apps_in_one_tenant_stay_two_rows_when_merged(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sharding doc's own case: one tenant_id, two app ids. Each row is its own fleet row in the history,
    so the merged fleet equals the unsharded one (it had kept only the later row of the two)."""
    server = fake_graph(scenarios.fully_consented())
    other_app = "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f"
    rows = [token_row("Contoso HDM", server, "AUDITOR_ACCESS_TOKEN", tenant_id="contoso.onmicrosoft.com",
                      app_id=HDM_APP_ID),
            token_row("Contoso other app", server, "AUDITOR_ACCESS_TOKEN", tenant_id="contoso.onmicrosoft.com",
                      app_id=other_app)]
    tenants = write_tenants(tmp_path / "tenants.csv", rows)
    history = str(tmp_path / "history.db")

    run = cli("fleet", str(tenants), "--out", str(tmp_path / "whole"), "--format", "json", "--quiet",
              "--history", history)
    report = cli("fleet-report", "--history", history, "--out", str(tmp_path / "merged"))

    assert run.code in (0, 1), run.stderr
    whole = fleet_json(tmp_path / "whole")
    assert [(t["name"], t["verdict"]) for t in whole["tenants"]] == [("Contoso HDM", "ready"),
                                                                     ("Contoso other app", "blocked")]
    assert report.code == run.code, report.stderr
    assert fleet_json(tmp_path / "merged") == whole


def test_fleet_report_with_the_tenants_file_shows_the_rows_of_a_shard_that_never_ran(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history_url: str,
) -> None:
    tenants = _fleet_file(tmp_path, fake_graph, monkeypatch)
    monkeypatch.setenv("AUDITOR_HISTORY", history_url)
    gone = fake_graph(scenarios.fully_consented())  # scanned once, then removed from the tenants file
    monkeypatch.setenv("AUDITOR_TOKEN_GONE", gone.token)
    removed = write_tenants(tmp_path / "removed.csv", [
        token_row("Gone", gone, "AUDITOR_TOKEN_GONE", tenant_id="gone.onmicrosoft.com")])
    assert _fleet(cli, removed, tmp_path / "removed").code == 1
    for k in (1, 3):  # shard 2/3 (Fabrikam, Tailspin: see _fleet_file) never runs
        assert _fleet(cli, tenants, tmp_path / f"shard{k}", "--shard", f"{k}/3").code == 3

    report = cli("fleet-report", "--out", str(tmp_path / "merged"), "--tenants", str(tenants), "--app-id", HDM_APP_ID)
    assert report.code == 3, report.stderr
    merged = fleet_json(tmp_path / "merged")["tenants"]
    assert [t["name"] for t in merged] == list(EXPECTED)  # every row of the file, in its order; not "Gone"
    not_scanned = ("not scanned: no fleet run of this row in the history (its shard has not run, was interrupted "
                   "before reaching it, or ended before recording)")
    for tenant in merged:
        if tenant["name"] in ("Fabrikam", "Tailspin"):
            assert (tenant["verdict"], tenant["exit_code"], tenant["error"]) == (None, 3, not_scanned)
        else:
            assert (tenant["verdict"], tenant["exit_code"]) == EXPECTED[tenant["name"]]
    assert "Left out: 1 tenant of the history not in the tenants file." in (
        tmp_path / "merged" / "fleet.html").read_text()
    assert f"  Fabrikam: exit 3: {not_scanned}\n" in report.stderr

    other_app = cli("fleet-report", "--out", str(tmp_path / "other"), "--tenants", str(tenants),
                    "--app-id", "00000000-0000-0000-0000-0000000000aa")
    assert other_app.code == 2 and not (tmp_path / "other").exists()
    assert other_app.stderr.strip().endswith(
        "has a fleet run there; give fleet-report the --app-id and --graph-url the shards ran with")
