"""Issue 7, points 1 and 2: what could not be read is never a pass, and Graph's faults end well.

A source that could not be read, wholly or partly (one page of a paged list), makes the rules that
need it `error`, and the reports name the fault and the permission. Throttling storms and 5xx
bursts are ridden out; broken connections, bodies that are not JSON, nextLinks that loop or leave
Graph, a server slower than --timeout and a collection longer than --deadline end in `error`
findings and exit 3: never a hang, a traceback, or a shorter list taken for the whole.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from auditor.collect import RetryPolicy, collect_snapshot
from auditor.evaluate.engine import load_rule_pack
from auditor.model.snapshot import CollectionTarget, Snapshot, SourceStatus
from auditor.report.reporting import build_report
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.contract import violations
from tests.fakegraph.fixtures import cli_args, live_options
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import HDM_APP_ID, FakeTenant

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]
PACK = load_rule_pack()
TARGET = CollectionTarget(app_id=HDM_APP_ID, app_display_name="HD Meeting")
BY_NAME = CollectionTarget(app_display_name="HD Meeting")  # no --app-id: the app is found by its name
NO_WAITING = RetryPolicy(max_attempts=3, max_wait=0.0, max_total_wait=1.0, backoff=0.0)
# Each request kind of DESIGN §3 (path?query patterns), and page 2 onwards of every list.
REQUESTS = {
    "organization": r"^/organization",
    "consent policy": r"^/policies/adminConsentRequestPolicy",
    "authorization policy": r"^/policies/authorizationPolicy",
    "service principals": r"^/servicePrincipals\?",
    "delegated grants": r"/oauth2PermissionGrants",
    "app role assignments": r"/appRoleAssignments$",
    "app role assigned to": r"/appRoleAssignedTo",
    "users": r"^/users/",
    "groups": r"^/groups/[^/?]+$",
    "group members": r"^/groups/[^/]+/(transitiveMembers|members)",
    "role assignments": r"^/roleManagement/",
    "consent requests": r"appConsentRequests($|\?)",
    "user consent requests": r"/userConsentRequests",
    "any page after the first": r"\$skiptoken=",
}


def _collect(server: FakeGraph, target: CollectionTarget = TARGET, **options: Any) -> Snapshot:
    return collect_snapshot(live_options(server, **options), target, retry_policy=NO_WAITING)


def _statuses(snapshot: Snapshot) -> dict[str, str]:
    """Each rule's status, through everything a scan builds (findings, report tables, consent link)."""
    result = build_report(snapshot, PACK, snapshot.target.app_id).result
    return {finding.rule_id: finding.status.value for finding in result.findings}


def _scan(cli: Cli, server: FakeGraph, out: Path, *extra: str) -> tuple[Run, dict[str, Any]]:
    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(out), *extra)
    assert "Traceback" not in run.stderr, run.stderr
    return run, json.loads((out / "result.json").read_text())


def _findings(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {finding["rule_id"]: finding for finding in result["findings"]}


def _unread(result: dict[str, Any], code: str) -> set[str]:
    """The rules that are `error` because a source failed with this Graph error code."""
    return {rule for rule, f in _findings(result).items() if f["status"] == "error" and code in f["message"]}


# -- 1. never a false pass ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "target"),
    [
        (scenarios.fully_consented, TARGET),
        (scenarios.workflow_only, TARGET),
        (scenarios.lookalikes_and_leftovers, BY_NAME),
        (scenarios.legacy_user_consent, BY_NAME),
    ],
    ids=["consented-by-id", "workflow-by-id", "leftovers-by-name", "user-consent-by-name"],
)
@pytest.mark.parametrize("request_kind", REQUESTS)
def test_a_request_that_keeps_failing_changes_findings_only_to_error(
    fake_graph: StartGraph, scenario: Callable[[], FakeTenant], target: CollectionTarget, request_kind: str
) -> None:
    healthy = _statuses(_collect(fake_graph(scenario(), page_size=2), target))
    server = fake_graph(scenario(), page_size=2)
    fault = server.fail(REQUESTS[request_kind], 503, times=None)

    snapshot = _collect(server, target)

    if fault.hits:
        assert any(source.status is SourceStatus.ERROR for source in snapshot.sources.values())
    changed = {rule: (healthy[rule], now) for rule, now in _statuses(snapshot).items() if now != healthy[rule]}
    assert all(now == "error" for _, now in changed.values()), changed


def test_a_page_failing_after_retries_makes_the_whole_list_an_error(fake_graph: StartGraph) -> None:
    server = fake_graph(scenarios.workflow_only(), page_size=1)
    server.fail(r"^/roleManagement/.*\$skiptoken=", 503, times=None)

    snapshot = _collect(server)

    source = snapshot.source("role_assignments")
    assert source.status is SourceStatus.ERROR and source.error.code == "ServiceUnavailable"
    # Kept: only the complete answers of the roles whose list fits one page; never the first page of a
    # longer list as if it were the whole list.
    holders = Counter(a["roleDefinitionId"] for a in server.tenant.role_assignments)
    assert all(holders[a["roleDefinitionId"]] == 1 for a in source.data or [])
    retried_pages = Counter(r.target for r in server.requests if "$skiptoken" in r.params and "role" in r.path)
    assert retried_pages and set(retried_pages.values()) == {NO_WAITING.max_attempts}


def test_a_failed_page_is_error_findings_and_the_reports_name_the_fault_and_permission(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = scenarios.workflow_only()
    # Rita's own role list fits one page and would decide ACW-04 on its own (DESIGN §5, partial data):
    # take it away, so that every approver hides behind a failed page.
    tenant.role_assignments = [a for a in tenant.role_assignments if a["principalId"] != tenant.refs["reviewer"]]
    server = fake_graph(tenant, page_size=1)
    server.fail(r"^/roleManagement/.*\$skiptoken=", 503, times=None, retry_after=0)

    run, result = _scan(cli, server, tmp_path)

    assert run.code == 3
    assert _findings(result)["HDM-ACW-04"]["status"] == "error"
    assert "HDM-ACW-04" in _unread(result, "ServiceUnavailable")
    assert "pass" not in {_findings(result)[rule]["status"] for rule in ("HDM-ACW-03", "HDM-ACW-04")}
    html = (tmp_path / "report.html").read_text().replace("<wbr>", "")  # the text, without its break points
    assert "role_assignments" in html and "ServiceUnavailable" in html and "RoleManagement.Read.Directory" in html
    sheet = load_workbook(io.BytesIO((tmp_path / "report.xlsx").read_bytes()))["Sources"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    _, status, error, permission = rows["role_assignments"]
    assert (status, permission) == ("error", "RoleManagement.Read.Directory")
    assert "HTTP 503 ServiceUnavailable" in error


# -- 2. throttling and transient errors are ridden out ------------------------------------------------


@pytest.mark.parametrize("status", [429, 503, 504])
def test_a_storm_throttling_every_request_several_times_changes_nothing(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, status: int
) -> None:
    _, calm = _scan(cli, fake_graph(scenarios.workflow_only(), page_size=2), tmp_path / "calm")
    server = fake_graph(scenarios.workflow_only(), page_size=2)
    server.fail(r".", status, times=3, each=True, retry_after=0)  # every request, plain or in a batch

    run, stormy = _scan(cli, server, tmp_path / "storm")

    assert (stormy["findings"], stormy["verdict"]) == (calm["findings"], calm["verdict"]), run.stderr
    attempts = Counter((r.target, r.in_batch) for r in server.requests)
    assert min(Counter(r.target for r in server.requests).values()) == 4  # three refusals, then the answer
    assert any(in_batch for _, in_batch in attempts) and any(not in_batch for _, in_batch in attempts)
    assert violations(server.requests, server.minted_skiptokens) == []


def test_a_storm_that_outlasts_the_retries_is_error_findings_and_exit_3(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = fake_graph(scenarios.fully_consented())
    server.fail(r".", 429, times=None, retry_after=0)

    run, result = _scan(cli, server, tmp_path)

    assert run.code == 3 and result["verdict"] == "unknown"
    assert {finding["status"] for finding in result["findings"]} == {"error"}
    assert _unread(result, "TooManyRequests") == set(_findings(result))


# -- 2. answers that are broken, looping, misdirected or late -----------------------------------------


@pytest.mark.parametrize(
    ("fault", "code", "rule"),
    [
        # the first $batch call: every source of the first round
        ({"pattern": r"^/\$batch", "kind": "reset", "where": "plain"}, "ConnectionBroken", "HDM-UC-01"),
        ({"pattern": r"^/\$batch", "kind": "garbage", "where": "plain"}, "InvalidResponse", "HDM-UC-01"),
        ({"pattern": r"^/\$batch", "kind": "truncated", "where": "plain"}, "InvalidResponse", "HDM-UC-01"),
        # one sub-response of a batch
        ({"pattern": r"^/policies/authorizationPolicy", "kind": "garbage", "where": "batch"}, "InvalidResponse",
         "HDM-UC-01"),
        ({"pattern": r"^/policies/authorizationPolicy", "kind": "truncated", "where": "batch"}, "InvalidResponse",
         "HDM-UC-01"),
        # paging: a nextLink back to the same page
        ({"pattern": r"/oauth2PermissionGrants", "kind": "loop"}, "InvalidResponse", "HDM-GR-01"),
    ],
)
def test_a_broken_answer_is_error_findings_and_exit_3(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, fault: dict[str, Any], code: str, rule: str
) -> None:
    server = fake_graph(scenarios.fully_consented())
    server.fail(fault.pop("pattern"), times=None, **fault)

    run, result = _scan(cli, server, tmp_path, "--format", "json")

    assert run.code == 3
    assert rule in _unread(result, code)


@pytest.mark.parametrize("kind", ["reset", "garbage", "truncated"])
def test_a_broken_answer_to_a_plain_get_is_an_error_source(fake_graph: StartGraph, kind: str) -> None:
    server = fake_graph(scenarios.fully_consented())
    # Throttled inside the batch, the request is retried alone: a plain GET, whose answer breaks.
    server.fail(r"^/policies/authorizationPolicy", 429, times=1, where="batch")
    server.fail(r"^/policies/authorizationPolicy", kind=kind, times=None, where="plain")

    snapshot = _collect(server)

    source = snapshot.source("authorization_policy")
    assert source.status is SourceStatus.ERROR, source
    assert source.error.code == ("ConnectionBroken" if kind == "reset" else "InvalidResponse")
    assert [name for name, s in snapshot.sources.items() if not s.ok] == ["authorization_policy"]


def test_a_looping_next_link_is_not_followed_again(fake_graph: StartGraph) -> None:
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"/oauth2PermissionGrants", kind="loop", times=None)

    snapshot = _collect(server, deadline=5)  # were the loop followed, the deadline would end it

    source = snapshot.source("delegated_grants")
    assert source.status is SourceStatus.ERROR
    assert source.error.message == "@odata.nextLink points back to a page already read"
    pages = Counter(r.target for r in server.requests if r.path.endswith("/oauth2PermissionGrants"))
    assert set(pages.values()) == {1}  # each list's first page, once


def test_a_next_link_to_another_host_is_error_findings_and_exit_3(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = fake_graph(scenarios.lookalikes_and_leftovers(), page_size=1, next_link_base="https://evil.example/v1.0")

    run, result = _scan(cli, server, tmp_path, "--format", "json")

    assert run.code == 3
    assert "HDM-SP-01" in _unread(result, "InvalidResponse")
    assert "leaves" in _findings(result)["HDM-SP-01"]["message"]


@pytest.mark.parametrize("command", ["scan", "collect"])
def test_a_server_slower_than_the_timeout_is_error_findings_and_exit_3(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, command: str
) -> None:
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/policies/authorizationPolicy", kind="slow", delay=60, where="batch")  # delays the whole batch
    out = tmp_path / ("snapshot.json" if command == "collect" else "out")
    started = time.monotonic()

    run = cli(command, *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(out), "--timeout", "0.5")

    assert time.monotonic() - started < 30  # far from the server's 60 s
    assert run.code == 3 and "Traceback" not in run.stderr
    if command == "scan":
        result = json.loads((out / "result.json").read_text())
        assert "HDM-UC-01" in _unread(result, "Timeout")
        assert "within the timeout of 0.5 s" in _findings(result)["HDM-UC-01"]["message"]
    else:
        snapshot = json.loads(out.read_text())
        assert snapshot["sources"]["authorization_policy"]["error"]["code"] == "Timeout"
        assert "authorization_policy" in run.stderr  # collect names what it could not read


def test_the_deadline_ends_collection_and_what_is_unread_is_error(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"/oauth2PermissionGrants", kind="slow", delay=60, where="batch")  # the second round's batch

    run, result = _scan(cli, server, tmp_path, "--format", "json", "--deadline", "1")

    assert run.code == 3
    assert {"HDM-GR-01", "HDM-GR-02", "HDM-GR-04"} <= _unread(result, "DeadlineExceeded")
    assert _findings(result)["HDM-SP-01"]["status"] == "pass"  # read in the first round, before the deadline
    # Rounds 1 and 2 (the v1.0 and the /beta $batch); nothing was sent once the deadline had passed.
    assert server.http_requests == 3


@pytest.mark.parametrize(("option", "code"), [("--timeout", "Timeout"), ("--deadline", "DeadlineExceeded")])
def test_fleet_gives_every_tenant_the_timeout_and_deadline(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, option: str, code: str
) -> None:
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/policies/authorizationPolicy", kind="slow", delay=60, where="batch")
    tenants = tmp_path / "tenants.csv"
    tenants.write_text(f"name,graph_url,auth\nfabrikam,{server.base_url},token\n")

    run = cli("fleet", str(tenants), "--out", str(tmp_path / "fleet"), option, "0.5", "--quiet")

    assert run.code == 3, run.stderr
    result = json.loads((tmp_path / "fleet" / "fabrikam" / "result.json").read_text())
    assert "HDM-UC-01" in _unread(result, code)
