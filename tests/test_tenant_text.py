"""Text from the tenant is data, whatever its code points (issue 11): a lone surrogate, NUL, bidi and
control characters never crash collection or a report, and never write a line of their own into a
terminal or CI log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openpyxl

from tests.conftest import Run
from tests.factory import Tenant
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]
# As JSON escapes: a lone high and a lone low surrogate, NUL, a right-to-left override, a colour escape,
# CR LF followed by a GitHub Actions workflow command, and a Unicode line separator.
HOSTILE_JSON = r"Eve\ud800\u0000\u202e\u001b[31m\r\n::error::pwned\u2028x\udfff"
HOSTILE = json.loads(f'"{HOSTILE_JSON}"')
STORED = HOSTILE.replace("\ud800", "\ufffd").replace("\udfff", "\ufffd")  # what every output holds


def assert_inert(stderr: str) -> None:
    """Nothing of the tenant's text leaves the line it is printed on, or drives the terminal."""
    assert not any(line.startswith("::") for line in stderr.splitlines()), stderr
    assert not any(char in stderr for char in "\x1b\r\u202e\u2028\x00"), repr(stderr)


def test_a_snapshot_file_with_any_text_gives_every_report(cli: Cli, tmp_path: Path) -> None:
    tenant = Tenant()
    tenant.add_consent_request(30, requester="Eve")["reason"] = "PLACEHOLDER"
    snapshot = tenant.build()
    snapshot.tenant.display_name = "PLACEHOLDER"
    path = tmp_path / "snapshot.json"
    path.write_text(snapshot.to_json().replace("PLACEHOLDER", HOSTILE_JSON), encoding="utf-8")
    out = tmp_path / "out"

    run = cli("scan", "--snapshot", str(path), "--out", str(out), "--format", "html,xlsx,json,junit")

    assert run.code == 0, run.stderr  # HDM-REQ-01 (medium) fails, under --fail-on high
    # The one-line summary (on stdout since issue 13) stays one inert line whatever the tenant's text.
    assert len(run.stdout.strip().splitlines()) == 1 and "Eve" in run.stdout
    assert_inert(run.stdout)
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["tenant"]["display_name"] == STORED
    assert "\ufffd" in (out / "report.html").read_text(encoding="utf-8")
    assert openpyxl.load_workbook(out / "report.xlsx").sheetnames
    assert (out / "report.junit.xml").read_bytes().startswith(b"<?xml")


def test_collect_and_scan_read_any_tenant_text_over_graph(cli: Cli, fake_graph: StartGraph, tmp_path: Path) -> None:
    tenant = scenarios.workflow_only()
    tenant.organization[0]["displayName"] = HOSTILE
    tenant.users[tenant.refs["reviewer"]]["displayName"] = HOSTILE
    server = fake_graph(tenant)
    snapshot = tmp_path / "snapshot.json"

    collected = cli("collect", *cli_args(server), "--out", str(snapshot))
    collected_loud = cli("collect", "--auth", "token", "--graph-url", server.base_url, "--out", str(snapshot))
    scanned = cli("scan", "--snapshot", str(snapshot), "--out", str(tmp_path / "out"))

    assert (collected.code, collected_loud.code, scanned.code) == (0, 0, 1), collected.stderr + scanned.stderr
    assert "Snapshot of Eve" in collected_loud.stderr and len(collected_loud.stderr.strip().splitlines()) == 1
    assert_inert(collected_loud.stderr + scanned.stderr)
    data = json.loads(snapshot.read_text(encoding="utf-8"))
    assert data["tenant"]["display_name"] == STORED
    assert data["sources"]["users"]["data"][tenant.refs["reviewer"]]["displayName"] == STORED


def test_a_graph_error_message_writes_no_line_of_its_own(cli: Cli, fake_graph: StartGraph, tmp_path: Path) -> None:
    server = fake_graph(scenarios.workflow_only())
    server.fail(r"^/policies/authorizationPolicy", 403, times=None, message=HOSTILE)

    run = cli("collect", *cli_args(server), "--out", str(tmp_path / "snapshot.json"))

    assert run.code == 3 and "Collection incomplete" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert_inert(run.stderr)
