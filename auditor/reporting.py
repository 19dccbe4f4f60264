"""Turn a snapshot into the requested report files: evaluate, build tables, render, in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from auditor.acceptance import Acceptance, apply_acceptances
from auditor.app_coverage import for_app
from auditor.drift import RunState, diff
from auditor.engine import evaluate_facts
from auditor.facts import TenantFacts
from auditor.report_model import ReportContext
from auditor.rulepack import RulePack
from auditor.snapshot import Snapshot
from auditor.tables import build_tables


class ReportFormat(str, Enum):
    HTML = "html"
    XLSX = "xlsx"
    JSON = "json"
    JUNIT = "junit"

    @property
    def file_name(self) -> str:
        return {"html": "report.html", "xlsx": "report.xlsx", "json": "result.json",
                "junit": "report.junit.xml"}[self.value]


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
    return ReportContext(
        result=result,
        tables=build_tables(facts),
        graph_url=snapshot.graph_url,
        admin_consent_url=facts.admin_consent_url,
        title=branding.title,
        prepared_by=branding.prepared_by,
        drift=diff(previous, RunState.of(result)) if previous else None,
    )


def render(context: ReportContext, formats: Sequence[ReportFormat]) -> dict[str, bytes]:
    """Render each requested format; nothing is written here."""
    files: dict[str, bytes] = {}
    for fmt in formats:
        if fmt is ReportFormat.JSON:
            files[fmt.file_name] = context.result.to_json().encode()
        elif fmt is ReportFormat.HTML:
            from auditor.render.html import render_html

            files[fmt.file_name] = render_html(context).encode()
        elif fmt is ReportFormat.JUNIT:
            from auditor.render.junit import render_junit

            files[fmt.file_name] = render_junit(context.result)
        else:
            from auditor.render.xlsx import render_xlsx

            files[fmt.file_name] = render_xlsx(context)
    return files


def parse_formats(value: str) -> list[ReportFormat]:
    """`html,xlsx,json,junit` → formats, in the order given, without repeats."""
    from auditor.errors import InputError

    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    known = {fmt.value: fmt for fmt in ReportFormat}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise InputError(
            f"--format: unknown format {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}"
        )
    return list(dict.fromkeys(known[name] for name in names))


