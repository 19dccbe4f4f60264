"""`remediation.ps1` (`--format ps1`): the failing rules' Microsoft Graph PowerShell fixes, for an administrator.

One commented block per failing rule, in "Fix first" order, with this tenant's ids (the remediation is
filled at evaluation). Each block asks before it changes anything and can be run again: the cmdlets set
values (setting them twice is harmless) or remove objects, and a removal of something already gone only
warns. A block that still needs a person's choice (`{reviewerUserId}`…) is written commented out. The
tool itself stays read-only: it writes this text, it never runs it.
"""

from __future__ import annotations

import re

from auditor.evaluate.remediation_values import CHOICES, PLACEHOLDER
from auditor.model.result import Finding, Result, Status
from auditor.report.render.common import fix_first
from auditor.report.render.remediation import remediation_blocks

SECTION = "Microsoft Graph PowerShell"
_LINE_BREAKS = re.compile(r"[\r\n\u0085\u2028\u2029]")
_QUOTES = re.compile(r"['\u2018\u2019\u201a\u201b]")  # each ends a PowerShell single-quoted string

PREAMBLE = """\
# Fixes for {tenant} ({tenant_id}) from auditor {version}, rule pack {pack} {pack_version}.
# Scan of {collected} UTC; re-scan after applying to confirm. Review each block before you confirm it.
# A block that does not sign in itself uses the session before it: start with Connect-MgGraph -TenantId '{tenant_id}'
#Requires -Modules Microsoft.Graph.Authentication
$ErrorActionPreference = 'Stop'

function Confirm-Fix([string] $Rule, [string] $Title) {{
    $answer = Read-Host "$Rule - $Title`nApply this fix now? [y/N]"
    return $answer -match '^(y|yes)$'
}}
"""


def _line(value: str) -> str:
    """Tenant text on one comment line."""
    return _LINE_BREAKS.sub(" ", value)


def _quoted(value: str) -> str:
    """Tenant text inside a single-quoted string: one line, each quote doubled (PowerShell's escape)."""
    return _QUOTES.sub("''", _line(value))


def _commands(finding: Finding) -> list[str]:
    """The rule's PowerShell, notes as comments. A command naming an object this tenant does not have (its
    placeholder could not be filled, e.g. a grant that does not exist) is commented out, with the lines it
    continues onto."""
    lines: list[str] = []
    for block in remediation_blocks(finding.remediation):
        if block.label != SECTION:
            continue
        if block.kind != "code":
            lines += [f"# {line}" for line in block.text.splitlines() if not line.startswith("To choose:")]
            continue
        continued = False
        for line in block.text.splitlines():
            absent = [name for name in PLACEHOLDER.findall(line) if name not in CHOICES]
            if (absent or continued) and not line.lstrip().startswith("#"):
                lines.append(f"# Not for this tenant (no such object): {line}" if absent else f"# {line}")
                continued = line.rstrip().endswith("`")
            else:
                lines.append(line)
    return lines


def _block(finding: Finding) -> str:
    commands = _commands(finding)
    rule, title = finding.rule_id, _quoted(finding.title)
    head = [f"# === {rule} ({finding.severity.value.capitalize()}): {_line(finding.title)} ===",
            f"# Why: {_line(finding.message)}"]
    if not any(line and not line.startswith("#") for line in commands):
        return "\n".join([*head, "# No PowerShell for this rule: follow the portal steps in report.html.", ""])
    chosen = dict.fromkeys(name for line in commands if not line.startswith("#") for name in PLACEHOLDER.findall(line))
    if chosen:
        body = [f"# Edit first: {{{name}}} is {CHOICES[name]}." for name in chosen]
        body.append("# Then remove the leading '# ' from each command and run the block.")
        return "\n".join([*head, *body, *(f"# {line}" if not line.startswith("#") else line for line in commands), ""])
    indented = "\n".join(f"        {line}" if line else "" for line in commands)
    return "\n".join([
        *head,
        f"if (Confirm-Fix '{rule}' '{title}') {{",
        "    try {",
        indented,
        f"        Write-Host '{rule}: done.'",
        "    } catch {",
        f"        Write-Warning \"{rule}: $($_.Exception.Message) (already applied?)\"",
        "    }",
        "}",
        "",
    ])


def render_ps1(result: Result) -> bytes:
    failing = [f for f in fix_first(result) if f.status is Status.FAIL]
    head = PREAMBLE.format(
        tenant=_line(result.tenant.display_name), tenant_id=_line(result.tenant.id), version=result.tool.version,
        pack=result.rule_pack.id, pack_version=result.rule_pack.version,
        collected=result.collected_at.strftime("%Y-%m-%d %H:%M"))
    blocks = [_block(f) for f in failing] or ["# Nothing to fix: no rule fails.\n"]
    return ("\n".join([head, *blocks])).encode("utf-8-sig")  # a BOM: Windows PowerShell 5.1 reads UTF-8 then
