"""`remediation.ps1` (`--format ps1`): one confirmed, commented block per failing rule in "Fix first" order,
every id from the snapshot, no placeholder for a value the snapshot holds."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from auditor.evaluate.engine import evaluate, load_rule_pack
from auditor.evaluate.remediation_values import CHOICES, PLACEHOLDER
from auditor.model.resources import DEFAULT_RULE_PACK
from auditor.model.result import Result
from auditor.report.render.powershell import render_ps1
from tests.conftest import Run
from tests.factory import EXCHANGE_SP, Tenant

Cli = Callable[..., Run]
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
BLOCK_HEAD = re.compile(r"^# === (HDM-[A-Z]+-\d+) \(", re.MULTILINE)


def _messy_tenant() -> Tenant:
    tenant = Tenant()
    tenant.grant("Mail.Read", resource=EXCHANGE_SP)
    tenant.add_per_user_grant("Pat O'Person")
    tenant.add_app_role_assignment("full_access_as_app", resource=EXCHANGE_SP)
    tenant.add_service_principal("HD Meeting Legacy")
    tenant.add_consent_request(12)
    tenant.add_deleted_user_reviewer("Gone Reviewer")
    tenant.policy["remindersEnabled"] = False
    return tenant


def _blocks(script: str) -> dict[str, str]:
    heads = list(BLOCK_HEAD.finditer(script))
    ends = [m.start() for m in heads[1:]] + [len(script)]
    return {m.group(1): script[m.start():end] for m, end in zip(heads, ends, strict=True)}


def test_demo_script_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    run = cli("scan", "--demo", "--format", "ps1", "--out", str(tmp_path))
    assert run.code == 1
    script = (tmp_path / "remediation.ps1").read_text(encoding="utf-8-sig")
    # "Fix first" order: failures by severity (HDM-SP-01 is the open path's next step, not a fix to script).
    assert list(_blocks(script)) == ["HDM-ACW-03", "HDM-REQ-01", "HDM-LEG-01", "HDM-ACW-06"]
    snapshot = (Path(__file__).parents[1] / "auditor" / "demo" / "contoso-demo.json").read_text().lower()
    pack = DEFAULT_RULE_PACK.read_text().lower()
    assert {guid for guid in GUID.findall(script.lower()) if guid not in pack} <= set(GUID.findall(snapshot))
    assert 'Remove-MgServicePrincipal -ServicePrincipalId "95a9aa7c-1ea7-4e96-8e60-cee78156019f"' in script
    assert "/users/da9c1332-66e1-4ae6-b648-6474dbb4b3cb" in _blocks(script)["HDM-ACW-03"]  # the disabled reviewer


def test_every_block_asks_first_and_carries_no_placeholder_for_a_held_value() -> None:
    tenant = _messy_tenant()
    result = evaluate(tenant.build(), load_rule_pack(None))
    script = render_ps1(result).decode("utf-8-sig")
    blocks = _blocks(script)
    failing = [f.rule_id for f in result.findings if f.status.value == "fail"]
    assert set(blocks) == set(failing) and len(blocks) >= 6
    snapshot = json.dumps(tenant.data()).lower() + tenant.build().tenant.id
    pack = DEFAULT_RULE_PACK.read_text().lower()
    assert {guid for guid in GUID.findall(script.lower()) if guid not in pack} <= set(GUID.findall(snapshot))
    for rule_id, block in blocks.items():
        lines = [line.strip() for line in block.splitlines()[2:]]
        commands = [line for line in lines if line and not line.startswith("#")]
        if not commands:
            continue
        assert commands[0] == f"if (Confirm-Fix '{rule_id}' '{result_title(result, rule_id)}') {{", rule_id
        left = {name for line in commands for name in PLACEHOLDER.findall(line)}
        assert not left, (rule_id, left)  # a held value is filled; a choice stays commented out until edited
    for name in {n for block in blocks.values() for n in PLACEHOLDER.findall(block)} & set(CHOICES):
        assert f"# Edit first: {{{name}}} is {CHOICES[name]}." in script
    per_user = next(g for g in tenant.delegated_grants if g["consentType"] == "Principal")["id"]
    assert per_user in blocks["HDM-GR-04"] or "Get-MgServicePrincipalOauth2PermissionGrant" in blocks["HDM-GR-04"]


def result_title(result: Result, rule_id: str) -> str:
    """The rule's title as a single-quoted PowerShell string holds it."""
    return next(f.title for f in result.findings if f.rule_id == rule_id).replace("'", "''")
