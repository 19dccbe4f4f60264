"""`auditor fleet` end to end (issue 5 Fleet, issue 7 point 6): many fake tenants over real HTTP on 127.0.0.1.

Each tenant gets its reports as `scan` writes them, fleet.json / fleet.html / fleet.xlsx tell the whole
fleet worst first, one tenant's failure does not stop the others, the exit code follows DESIGN §6
precedence, a bad tenants file is one line and exit 2 with nothing written, and no tenant's token
ever reaches another tenant's Graph.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from rich.console import Console

from auditor.collect.options import LiveOptions
from auditor.fleet.outcome import TenantOutcome
from auditor.fleet.progress import FleetProgress
from auditor.fleet.tenants_file import TenantRow, folder_name
from auditor.model.errors import ExitCode, worst_exit
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.server import FakeGraph, Meeting, unused_local_url
from tests.fakegraph.tenant import HDM_APP_ID

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]
FLEET_KEYS = {"name", "tenant_id", "verdict", "summary", "exit_code", "error"}


def write_tenants(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def token_row(name: str, server: FakeGraph | str, token_env: str, **extra: str) -> dict[str, str]:
    url = server if isinstance(server, str) else server.base_url
    return {"name": name, "graph_url": url, "auth": "token", "token_env": token_env, **extra}


def fleet_json(out: Path) -> dict[str, Any]:
    return json.loads((out / "fleet.json").read_text())


def by_name(fleet: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tenant["name"]: tenant for tenant in fleet["tenants"]}


def html_names(out: Path) -> list[str]:
    return re.findall(r'<div class="name">(.*?)</div>', (out / "fleet.html").read_text())


# --- a mixed fleet -------------------------------------------------------------------------------------

MIXED_ORDER = ["Bad token", "Down", "Forbidden", "Tailspin", "Northwind", "Wingtip", "Fabrikam"]


@pytest.fixture
def mixed_fleet(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Run, Path]]:
    """Four healthy tenants with different verdicts, one with a wrong token, one unreachable, one 403."""
    fabrikam = fake_graph(scenarios.fully_consented())
    servers = {
        "Northwind": fake_graph(scenarios.workflow_only(), page_size=2),
        "Tailspin": fake_graph(scenarios.disabled_app()),
        "Wingtip": fake_graph(scenarios.legacy_user_consent()),
        # Not consented, no workflow, and user consent unreadable: no path is proven open.
        "Forbidden": fake_graph(scenarios.legacy_user_consent()),
    }
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", fabrikam.token)  # Fabrikam's row relies on the defaults
    servers["Forbidden"].fail(r"authorizationPolicy", 403, times=None)
    rows = [{"name": "Fabrikam", "tenant_id": "fabrikam.onmicrosoft.com"}]
    for name, server in servers.items():
        monkeypatch.setenv(f"AUDITOR_TOKEN_{name.upper()}", server.token)
        rows.append(token_row(name, server, f"AUDITOR_TOKEN_{name.upper()}"))
    monkeypatch.setenv("AUDITOR_TOKEN_WRONG", "not-the-token-of-this-tenant")
    rows.append(token_row("Bad token", servers["Tailspin"], "AUDITOR_TOKEN_WRONG"))
    rows.append(token_row("Down", unused_local_url(), "AUDITOR_TOKEN_WINGTIP"))
    tenants = write_tenants(tmp_path / "tenants.csv", rows)
    out = tmp_path / "fleet"
    run = cli("fleet", str(tenants), "--out", str(out), "--app-id", HDM_APP_ID, "--concurrency", "4",
              "--auth", "token", "--graph-url", fabrikam.base_url)
    yield run, out


def test_mixed_fleet_exits_with_the_most_severe_tenant_code(mixed_fleet: tuple[Run, Path]) -> None:
    run, _ = mixed_fleet
    assert run.code == ExitCode.INCOMPLETE, run.stderr
    assert "Traceback" not in run.stderr


def test_fleet_json_reports_every_tenant_in_file_order(mixed_fleet: tuple[Run, Path]) -> None:
    _, out = mixed_fleet
    fleet = fleet_json(out)
    assert fleet["schema_version"] == 1
    assert [t["name"] for t in fleet["tenants"]] == [
        "Fabrikam", "Northwind", "Tailspin", "Wingtip", "Forbidden", "Bad token", "Down"]
    assert all(set(tenant) == FLEET_KEYS for tenant in fleet["tenants"])
    tenants = by_name(fleet)
    expected = {
        "Fabrikam": ("ready", 1), "Northwind": ("ready-via-workflow", 1), "Tailspin": ("blocked", 1),
        "Wingtip": ("ready-via-user-consent", 1), "Forbidden": ("unknown", 3), "Bad token": (None, 3),
        "Down": (None, 3),
    }
    assert {name: (t["verdict"], t["exit_code"]) for name, t in tenants.items()} == expected
    assert tenants["Fabrikam"]["tenant_id"] == "fabrikam.onmicrosoft.com"
    assert all(tenants[name]["error"] is None for name in ("Fabrikam", "Northwind", "Tailspin", "Wingtip"))
    assert tenants["Bad token"]["summary"] is None and "401" in tenants["Bad token"]["error"]
    assert tenants["Down"]["summary"] is None and tenants["Down"]["error"]
    forbidden = tenants["Forbidden"]
    assert "Authorization_RequestDenied" in forbidden["error"] and "HDM-UC-01" in forbidden["error"]
    assert forbidden["summary"]["error"] >= 1
    assert all("\n" not in (t["error"] or "") for t in fleet["tenants"])


def test_each_tenant_gets_the_reports_scan_writes(mixed_fleet: tuple[Run, Path]) -> None:
    _, out = mixed_fleet
    tenants = by_name(fleet_json(out))
    for name in ("Fabrikam", "Northwind", "Tailspin", "Wingtip", "Forbidden"):
        folder = out / name
        assert sorted(p.name for p in folder.iterdir()) == ["auditor-manifest.json", "report.html", "report.xlsx",
                                                            "result.json"]
        result = json.loads((folder / "result.json").read_text())
        assert (result["verdict"], result["summary"]) == (tenants[name]["verdict"], tenants[name]["summary"])
    assert not (out / "Badtoken").exists() and not (out / "Down").exists()
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["auditor-manifest.json", "fleet.html", "fleet.json",
                                                                 "fleet.xlsx"]


def test_fleet_html_lists_the_worst_first_with_links(mixed_fleet: tuple[Run, Path]) -> None:
    _, out = mixed_fleet
    assert html_names(out) == MIXED_ORDER
    page = (out / "fleet.html").read_text()
    links = re.findall(r'href="([^"]+)"', page)
    assert sorted(links) == sorted(f"{name}/report.html" for name in MIXED_ORDER[2:])
    assert all((out / link).is_file() for link in links)
    assert not re.search(r"<script|<link|\bsrc=", page)  # self-contained, nothing to run


def test_fleet_xlsx_has_one_row_per_tenant_worst_first(mixed_fleet: tuple[Run, Path]) -> None:
    _, out = mixed_fleet
    ws = load_workbook(out / "fleet.xlsx")["Fleet"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    names = [row[header.index("Name")] for row in rows[1:]]
    assert names == MIXED_ORDER
    codes = [row[header.index("Exit code")] for row in rows[1:]]
    assert codes == [3, 3, 3, 1, 1, 1, 1]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref


def test_failed_tenants_are_named_on_stderr(mixed_fleet: tuple[Run, Path]) -> None:
    run, _ = mixed_fleet
    lines = run.stderr.strip().splitlines()
    assert lines[0].startswith("Fleet of 7 tenants: 3 incomplete (exit 3), 4 with failed findings (exit 1).")
    assert sorted(line.split(":")[0].strip() for line in lines[1:]) == ["Badtoken", "Down", "Forbidden"]


def test_quiet_fleet_still_names_failed_tenants(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduled job runs with --quiet: the summary line goes, why a tenant failed does not."""
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", "fake-token-of-a-tenant-that-is-down")
    tenants = write_tenants(tmp_path / "t.csv", [token_row("Down", unused_local_url(), "AUDITOR_ACCESS_TOKEN")])
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--quiet")
    assert run.code == ExitCode.INCOMPLETE
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("Down: exit 3: ") and "refused the connection" in line


# --- exit codes ----------------------------------------------------------------------------------------


def test_clean_fleet_exits_0(cli: Cli, fake_graph: StartGraph, tmp_path: Path) -> None:
    server = fake_graph(scenarios.fully_consented())
    tenants = write_tenants(tmp_path / "t.csv", [{"name": "A", "graph_url": server.base_url},
                                                 {"name": "B", "graph_url": server.base_url}])
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--fail-on", "critical",
              "--app-id", HDM_APP_ID, "--quiet", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    assert [t["exit_code"] for t in fleet_json(tmp_path / "out")["tenants"]] == [0, 0]
    assert sorted(p.name for p in (tmp_path / "out" / "A").iterdir()) == ["auditor-manifest.json", "result.json"]


def test_a_tenant_input_error_gives_exit_2_and_the_others_go_on(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.fully_consented())
    monkeypatch.delenv("AUDITOR_TOKEN_UNSET", raising=False)
    tenants = write_tenants(tmp_path / "t.csv", [
        token_row("Good", server, "AUDITOR_ACCESS_TOKEN"),
        token_row("No token", server, "AUDITOR_TOKEN_UNSET"),
        token_row("Down", unused_local_url(), "AUDITOR_ACCESS_TOKEN"),
    ])
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--fail-on", "critical", "--quiet")
    assert run.code == ExitCode.USAGE
    tenants_out = by_name(fleet_json(tmp_path / "out"))
    assert tenants_out["Good"]["exit_code"] == 0 and (tmp_path / "out" / "Good" / "report.html").is_file()
    assert tenants_out["No token"]["exit_code"] == 2 and "AUDITOR_TOKEN_UNSET" in tenants_out["No token"]["error"]
    assert tenants_out["Down"]["exit_code"] == 3
    assert html_names(tmp_path / "out") == ["No token", "Down", "Good"]


@pytest.mark.parametrize(
    ("codes", "worst"),
    [([], 0), ([0, 1, 0], 1), ([1, 3, 0], 3), ([3, 2, 1], 2), ([2, 0], 2), ([0], 0)],
)
def test_worst_exit_follows_design_precedence(codes: list[int], worst: int) -> None:
    assert worst_exit(ExitCode(code) for code in codes) == worst


# --- isolation (issue 7 point 6) -----------------------------------------------------------------------


def test_each_tenant_graph_sees_only_its_own_token(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers = [fake_graph(scenario()) for scenario in (
        scenarios.fully_consented, scenarios.workflow_only, scenarios.disabled_app, scenarios.legacy_user_consent)]
    rows = []
    for number, server in enumerate(servers[:-1]):
        monkeypatch.setenv(f"AUDITOR_TOKEN_TENANT_{number}", server.token)
        rows.append(token_row(f"tenant-{number}", server, f"AUDITOR_TOKEN_TENANT_{number}"))
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", servers[-1].token)
    rows.append({"name": "default-token", "graph_url": servers[-1].base_url, "auth": "token"})
    meeting = Meeting(servers, parties=len(servers))  # every tenant in flight at once, across the workers
    tenants = write_tenants(tmp_path / "t.csv", rows)
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--app-id", HDM_APP_ID, "--quiet",
              "--workers", "2")
    assert run.code == ExitCode.FINDINGS, run.stderr
    assert meeting.peak == len(servers)
    tokens = {server.token for server in servers}
    for server in servers:
        sent = {request.authorization for request in server.requests}
        assert sent == {f"Bearer {server.token}"}
        assert all(request.authorized for request in server.requests)
        assert not any(other in (header or "") for header in sent for other in tokens - {server.token})


@pytest.mark.parametrize("workers", [1, 2])
def test_concurrency_is_bounded(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    token = "fake-shared-token"
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", token)
    servers = [fake_graph(scenarios.fully_consented(), token=token) for _ in range(6)]
    meeting = Meeting(servers, parties=2)  # tenants meet in pairs: two really ran at once
    tenants = write_tenants(tmp_path / "t.csv", [{"name": f"t{n}", "graph_url": server.base_url}
                                                 for n, server in enumerate(servers)])
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--concurrency", "2",
              "--quiet", "--format", "json", "--workers", str(workers))
    assert run.code == ExitCode.FINDINGS, run.stderr
    assert meeting.peak == 2


def test_twenty_tenants_in_one_fleet(cli: Cli, fake_graph: StartGraph, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = (scenarios.fully_consented, scenarios.workflow_only, scenarios.disabled_app, scenarios.legacy_user_consent)
    rows = []
    for number in range(20):
        server = fake_graph(kinds[number % len(kinds)]())
        monkeypatch.setenv(f"AUDITOR_TOKEN_{number}", server.token)
        rows.append(token_row(f"tenant-{number:02}", server, f"AUDITOR_TOKEN_{number}"))
    tenants = write_tenants(tmp_path / "t.csv", rows)
    started = time.perf_counter()
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--app-id", HDM_APP_ID, "--quiet")
    elapsed = time.perf_counter() - started
    assert run.code == ExitCode.FINDINGS, run.stderr
    fleet = fleet_json(tmp_path / "out")
    assert [t["verdict"] for t in fleet["tenants"]] == ["ready", "ready-via-workflow", "blocked",
                                                         "ready-via-user-consent"] * 5
    print(f"20-tenant fleet: {elapsed:.2f} s")


# --- invalid tenants files -----------------------------------------------------------------------------

GOOD = "name,graph_url,auth\nok,http://127.0.0.1:9/v1.0,token\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,tenant_id,colour\nA,contoso,blue\n", r"row 1: unknown column 'colour'"),
        ("name,tenant_id,name\nA,contoso,B\n", r"row 1: column 'name' appears twice"),
        (GOOD + "B,,\n", r"row 3: give a tenant_id or a graph_url"),
        (GOOD + "B,http://127.0.0.1:9/v1.0,token\nC,http://127.0.0.1:9/v1.0,foo\n", r"row 4: unknown auth 'foo'"),
        ("name,tenant_id,cloud\nA,contoso,mars\n", r"row 2: unknown cloud 'mars'"),
        ("name,tenant_id,app_id\nA,contoso,not-a-guid\n", r"row 2: app_id 'not-a-guid' is not a GUID"),
        ("name,tenant_id,auth,token_env\nA,contoso,secret,AUDITOR_TOKEN_A\n", r"row 2: token_env goes with auth token"),
        ("name,tenant_id,auth,token_env\nA,contoso,token,MY TOKEN\n", r"row 2: token_env 'MY TOKEN': name AUDITOR_"),
        ("name,graph_url\nA,http://evil.example.com/v1.0\n", r"row 2: .*plain http is only allowed"),
        ("name,tenant_id\nContoso,a\ncontoso,b\n", r"rows 2 and 3 both write to folder 'contoso'"),
        ("name,tenant_id\n../..,a\n", r"row 2: name '../..' leaves no folder name"),
        ("name,tenant_id\nfleet.json,a\n", r"row 2: 'fleet.json' cannot be a tenant's folder name"),
        ("tenant_id,name\na,b,c\n", r"row 2: 3 values but 2 columns"),
        ("name,tenant_id,\nA,a,\n", r"row 1: column 3 has no name"),
        ("", r"empty tenants file"),
        ("\n\n", r"empty tenants file"),
        ("name,tenant_id\n", r"no tenants below the header row"),
        ('name,tenant_id\n"A,a\n', r"row 2: not valid CSV|row 2: give a tenant_id"),
    ],
)
def test_invalid_tenants_file_is_one_line_exit_2_and_nothing_written(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    tenants = tmp_path / "tenants.csv"
    tenants.write_text(content, encoding="utf-8")
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--quiet")
    assert run.code == ExitCode.USAGE
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert re.search(message, run.stderr), run.stderr
    assert str(tenants) in run.stderr
    assert not (tmp_path / "out").exists()


def test_non_utf8_and_missing_tenants_files_are_exit_2(cli: Cli, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("name,tenant_id\nM\xfcller,a\n".encode("latin-1"))
    for path, message in ((latin1, "not UTF-8"), (tmp_path / "missing.csv", "not found")):
        run = cli("fleet", str(path), "--out", str(tmp_path / "out"), "--quiet")
        assert (run.code, len(run.stderr.strip().splitlines())) == (2, 1), run.stderr
        assert message in run.stderr
    assert not (tmp_path / "out").exists()


def test_bad_command_line_options_are_exit_2(cli: Cli, tmp_path: Path) -> None:
    tenants = tmp_path / "t.csv"
    tenants.write_text(GOOD)
    for extra in (["--format", "pdf"], ["--app-id", "nope"], ["--graph-url", "ftp://x"], ["--concurrency", "0"]):
        run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), *extra)
        assert run.code == 2, (extra, run.stderr)
    assert not (tmp_path / "out").exists()


def test_bom_case_and_blank_rows_are_accepted(cli: Cli, fake_graph: StartGraph, tmp_path: Path) -> None:
    server = fake_graph(scenarios.fully_consented())
    tenants = tmp_path / "t.csv"
    tenants.write_text(f"\ufeffName , Graph_URL\n\n ok , {server.base_url} \n,\n", encoding="utf-8")
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--quiet",
              "--format", "json")
    assert run.code == ExitCode.FINDINGS, run.stderr
    assert [t["name"] for t in fleet_json(tmp_path / "out")["tenants"]] == ["ok"]


# --- hostile names -------------------------------------------------------------------------------------

HOSTILE = ["<script>alert(1)</script>", '=HYPERLINK("http://evil.example/x","click")', "../../etc"]


def test_hostile_tenant_names_stay_inert_in_folders_html_and_excel(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = fake_graph(scenarios.fully_consented())
    tenants = write_tenants(tmp_path / "t.csv", [{"name": name, "graph_url": server.base_url} for name in HOSTILE])
    out = tmp_path / "work" / "out"
    run = cli("fleet", str(tenants), "--out", str(out), "--auth", "token", "--quiet")
    assert run.code == ExitCode.FINDINGS, run.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["HYPERLINKhttpevil.examplexclick", "etc",
                                                                    "scriptalert1script"]
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["out"]  # nothing escaped the output folder
    page = (out / "fleet.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="http://evil' not in page
    ws = load_workbook(out / "fleet.xlsx")["Fleet"]
    cells = {cell.value: cell for row in ws.iter_rows(min_row=2, max_col=1) for cell in row}
    assert set(cells) == set(HOSTILE)
    assert all(cell.data_type == "s" for cell in cells.values())
    assert [t["name"] for t in fleet_json(out)["tenants"]] == HOSTILE


@pytest.mark.parametrize(
    ("name", "folder"),
    [("Contoso Ltd.", "ContosoLtd"), ("Ökotech GmbH", "OkotechGmbH"), ("a/b\\c", "abc"), ("..", ""),
     (".hidden", "hidden"), ("x" * 300, "x" * 100), ("名前", ""), ("tenant_01-b.eu", "tenant_01-b.eu")],
)
def test_folder_names_keep_only_safe_characters(name: str, folder: str) -> None:
    assert folder_name(name) == folder


# --- progress ------------------------------------------------------------------------------------------


def test_progress_bar_counts_done_failed_and_remaining() -> None:
    console = Console(file=StringIO(), force_terminal=True, width=120)
    tenant = TenantRow(2, "a", None, "a", LiveOptions(), None)
    with FleetProgress(3, quiet=False, console=console) as progress:
        progress.tenant_done(TenantOutcome(tenant, ExitCode.FINDINGS))
        progress.tenant_done(TenantOutcome(tenant, ExitCode.INCOMPLETE, error="down"))
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue())
    assert "1 done · 1 failed · 1 remaining" in text


def test_progress_is_silent_when_quiet_or_not_a_terminal() -> None:
    for console, quiet in ((Console(file=StringIO(), force_terminal=True), True),
                           (Console(file=StringIO(), force_terminal=False), False)):
        with FleetProgress(1, quiet=quiet, console=console) as progress:
            progress.tenant_done(TenantOutcome(TenantRow(2, "a", None, "a", LiveOptions(), None),
                                                      ExitCode.OK))
        assert console.file.getvalue() == ""


# --- history, accepted risks and branding, as for scan -------------------------------------------------


def test_fleet_records_history_shows_drift_and_honours_accepted_risks(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.disabled_app())  # SP-02 (high) fails: exit 1 without an acceptance
    monkeypatch.setenv("AUDITOR_TOKEN_DISABLED", server.token)
    tenants = write_tenants(tmp_path / "t.csv", [token_row("disabled", server, "AUDITOR_TOKEN_DISABLED")])
    history = tmp_path / "history.db"
    accepted = tmp_path / "risks.yaml"
    accepted.write_text(
        "- {rule_id: HDM-SP-02, reason: 'pilot disabled on purpose', owner: it@example.test, expires: 2999-01-01}\n"
        "- {rule_id: HDM-ACW-01, reason: 'tenant-wide consent instead', owner: it@example.test, expires: 2999-01-01}\n"
    )
    args = ["--out", str(tmp_path / "out"), "--app-id", HDM_APP_ID, "--history", str(history), "--quiet",
            "--format", "html,json", "--prepared-by", "Fabrikam Consulting"]
    first = cli("fleet", str(tenants), *args)
    second = cli("fleet", str(tenants), *args, "--exceptions", str(accepted))
    assert (first.code, second.code) == (1, 0)
    runs = cli("history", "--history", str(history))
    assert runs.code == 0 and runs.stdout.count("blocked") == 2
    report = (tmp_path / "out" / "disabled" / "report.html").read_text()
    assert "Fabrikam Consulting" in report
    assert 'id="changes"' in report  # the second run compares itself with the first
    result = json.loads((tmp_path / "out" / "disabled" / "result.json").read_text())
    sp02 = next(f for f in result["findings"] if f["rule_id"] == "HDM-SP-02")
    assert sp02["status"] == "fail" and sp02["accepted"]["reason"] == "pilot disabled on purpose"


def test_an_incomplete_tenant_names_the_permission_only_where_graph_refused_it(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 403 says which permission is missing; an outage (500 every time) is no permissions problem."""
    refused = fake_graph(scenarios.legacy_user_consent(), token="fake-token-shared-by-both")
    refused.fail(r"authorizationPolicy", 403, times=None)
    down = fake_graph(scenarios.legacy_user_consent(), token="fake-token-shared-by-both")
    down.fail(r"authorizationPolicy", 500, times=None)
    tenants = write_tenants(tmp_path / "t.csv", [{"name": "refused", "graph_url": refused.base_url},
                                                 {"name": "down", "graph_url": down.base_url}])

    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"), "--auth", "token", "--format", "json", "--quiet")

    assert run.code == ExitCode.INCOMPLETE, run.stderr
    errors = {t["name"]: t["error"] for t in fleet_json(tmp_path / "out")["tenants"]}
    assert "authorization_policy (" in errors["refused"] and "; needs Policy.Read.All)" in errors["refused"]
    assert "authorization_policy (" in errors["down"] and "needs" not in errors["down"]
