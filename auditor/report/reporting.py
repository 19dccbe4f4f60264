"""Turn a snapshot into the requested report files: evaluate, build tables, render, in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from auditor.evaluate.acceptance import Acceptance, apply_acceptances
from auditor.evaluate.app_coverage import for_app
from auditor.evaluate.engine import evaluate_facts, exit_code
from auditor.evaluate.facts import TenantFacts
from auditor.evaluate.rulepack import RulePack, Severity
from auditor.evaluate.tenant_identity import is_identified
from auditor.history.drift import RunState, diff
from auditor.model.errors import ExitCode, InputError, safe_text
from auditor.model.result import Result, Verdict
from auditor.model.snapshot import Snapshot
from auditor.report.report_model import ReportContext
from auditor.report.tables import build_tables


class ReportFormat(str, Enum):
    HTML = "html"
    XLSX = "xlsx"
    JSON = "json"
    JUNIT = "junit"
    PS1 = "ps1"  # opt-in: Microsoft Graph PowerShell fixes for an administrator to review and run

    @property
    def file_name(self) -> str:
        return {"html": "report.html", "xlsx": "report.xlsx", "json": "result.json",
                "junit": "report.junit.xml", "ps1": "remediation.ps1"}[self.value]


@dataclass(frozen=True)
class Branding:
    """What a consultant puts on the report (`--report-title`, `--prepared-by`)."""

    title: str = "HD Meeting readiness report"
    prepared_by: str | None = None


def build_report(
    snapshot: Snapshot,
    pack: RulePack,
    app_id: str | None,
    branding: Branding = Branding(),
    *,
    acceptances: Sequence[Acceptance] = (),
    previous: RunState | None = None,
) -> ReportContext:
    """Evaluate, apply the risk acceptances, and compare with the tenant's `previous` run when there is one."""
    snapshot = for_app(snapshot, app_id or next(iter(pack.parameters.app_ids), None))
    facts = TenantFacts(snapshot, pack.parameters, app_id)
    result = apply_acceptances(evaluate_facts(facts, pack), acceptances)
    if not is_identified(result.tenant.id):  # whose tenant it is cannot be told: nor can its verdict
        result = result.model_copy(update={"verdict": Verdict.UNKNOWN})
    return ReportContext(
        result=result,
        tables=build_tables(facts),
        graph_url=snapshot.graph_url,
        admin_consent_url=facts.admin_consent_url,
        title=branding.title,
        prepared_by=branding.prepared_by,
        drift=diff(previous, RunState.of(result)) if previous else None,
    )


def run_exit_code(result: Result, fail_on: Severity) -> ExitCode:
    """DESIGN §6's exit code, and 3 for a tenant whose identity is unknown (`/organization` not read and no
    `--tenant-id`): its verdict is unknown and the history does not store it."""
    return exit_code(result, fail_on) if is_identified(result.tenant.id) else ExitCode.INCOMPLETE


def scan_summary(context: ReportContext, out: Path) -> list[str]:
    """What `auditor scan` tells the console: the verdict and counts, and what needs a person's attention."""
    from auditor.history.drift import summary_line

    result, summary = context.result, context.result.summary
    waived = sum(f.waived for f in result.findings)
    accepted = f" ({waived} accepted)" if waived else ""
    lines = [safe_text(f"{result.tenant.display_name or result.tenant.id}: {result.verdict.value} — "
                       f"{summary.passed} pass, {summary.fail} fail{accepted}, {summary.error} error, "
                       f"{summary.not_applicable} n/a, score {summary.score:g}. Reports in {out}/")]
    if not is_identified(result.tenant.id):
        lines.append("Tenant identity unknown: /organization could not be read and no --tenant-id was given, "
                     "so no verdict (exit 3).")
    lines += [safe_text(f"Risk acceptance of {f.rule_id} expired on {f.accepted.expires} "
                        f"(owner: {f.accepted.owner}): it counts again.")
              for f in result.findings if f.accepted and f.accepted.expired]
    if context.drift:
        lines.append(summary_line(context.drift))
    return lines


def prepare_renderers(formats: Sequence[ReportFormat]) -> None:
    """What every report in `formats` needs once per process, done now: import the libraries of the formats
    asked for (and only those) and compile their templates. A fleet calls it before its workers are forked,
    so that they inherit the work instead of each tenant's thread racing to do it."""
    for fmt in formats:
        if fmt is ReportFormat.HTML:
            from auditor.report.render.html import prepare

            prepare()
        elif fmt is ReportFormat.XLSX:
            import auditor.report.render.xlsx  # noqa: F401  (XlsxWriter)


def render(context: ReportContext, formats: Sequence[ReportFormat]) -> dict[str, bytes]:
    """Render each requested format; nothing is written here."""
    files: dict[str, bytes] = {}
    for fmt in formats:
        if fmt is ReportFormat.JSON:
            files[fmt.file_name] = context.result.to_json().encode()
        elif fmt is ReportFormat.HTML:
            from auditor.report.render.html import render_html

            files[fmt.file_name] = render_html(context).encode()
        elif fmt is ReportFormat.JUNIT:
            from auditor.report.render.junit import render_junit

            files[fmt.file_name] = render_junit(context.result)
        elif fmt is ReportFormat.PS1:
            from auditor.report.render.powershell import render_ps1

            files[fmt.file_name] = render_ps1(context.result)
        else:
            from auditor.report.render.xlsx import render_xlsx

            files[fmt.file_name] = render_xlsx(context)
    return files


def parse_formats(value: str) -> list[ReportFormat]:
    """`html,xlsx,json,junit,ps1` → formats, in the order given, without repeats."""
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    known = {fmt.value: fmt for fmt in ReportFormat}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise InputError(
            f"--format: unknown format {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}"
        )
    return list(dict.fromkeys(known[name] for name in names))


