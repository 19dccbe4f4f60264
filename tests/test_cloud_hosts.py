"""The snapshot records its cloud (`tenant.cloud`, DESIGN §7): the admin consent link and every host in
remediation are that cloud's own, also when Graph was read through `--graph-url`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.evaluate.engine import evaluate
from auditor.model.snapshot import Snapshot
from tests.conftest import Run
from tests.factory import TENANT_ID, Tenant, default_pack
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import HDM_APP_ID


def _in_cloud(cloud: str | None, graph_url: str = "http://127.0.0.1:9/v1.0") -> Snapshot:
    tenant = Tenant()
    tenant.remove_app()  # SP-01 fails: its evidence carries the admin consent link
    raw = json.loads(tenant.build().to_json())
    raw["graph_url"] = graph_url
    raw["tenant"]["cloud"] = cloud
    return Snapshot.model_validate(raw)


@pytest.mark.parametrize(("cloud", "login", "graph", "entra", "environment"), [
    ("usgov", "login.microsoftonline.us", "graph.microsoft.us", "entra.microsoft.us", "USGov"),
    ("usgovdod", "login.microsoftonline.us", "dod-graph.microsoft.us", "entra.microsoft.us", "USGovDoD"),
    ("china", "login.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn", "entra.microsoftonline.cn", "China"),
])
def test_a_national_cloud_snapshot_behind_a_local_graph_url_uses_its_own_hosts(
    cloud: str, login: str, graph: str, entra: str, environment: str
) -> None:
    result = evaluate(_in_cloud(cloud), default_pack())
    assert result.tenant.cloud == cloud
    sp01 = next(f for f in result.findings if f.rule_id == "HDM-SP-01")
    assert sp01.evidence["admin_consent_url"] == f"https://{login}/{TENANT_ID}/adminconsent?client_id={result.app.app_id}"
    remediation = "\n".join(f.remediation for f in result.findings)
    assert "graph.microsoft.com" not in remediation and "login.microsoftonline.com" not in remediation
    assert f"https://{graph}/v1.0/" in remediation and f"https://{entra}" in remediation
    assert "Connect-MgGraph -Environment " + environment in remediation
    assert "Connect-MgGraph -Scopes" not in remediation


def test_a_snapshot_without_a_cloud_takes_it_from_the_graph_host() -> None:
    assert _in_cloud(None, "https://graph.microsoft.us/v1.0").cloud == "usgov"
    assert _in_cloud(None).cloud == "global"  # a local replay: the global cloud


def test_collect_records_the_cloud_it_was_asked_for(
    cli: Callable[..., Run], fake_graph: Callable[..., FakeGraph], tmp_path: Path
) -> None:
    server = fake_graph(scenarios.workflow_only())
    run = cli("collect", *cli_args(server), "--cloud", "usgov", "--app-id", HDM_APP_ID,
              "--out", str(tmp_path / "s.json"))
    assert run.code == 0, run.stderr
    assert json.loads((tmp_path / "s.json").read_text())["tenant"]["cloud"] == "usgov"
