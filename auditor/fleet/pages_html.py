"""fleet.html: one self-contained page, one row per tenant, worst first, linking to each tenant's report.

Tenant names come from the tenants file and display names from Graph: both reach the page only
through Jinja2 autoescaping, and the page has no script at all (its Content-Security-Policy says so).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from auditor import __version__
from auditor.fleet.outcome import TenantOutcome
from auditor.fleet.summary import VERDICT_ORDER, worst_first
from auditor.model.errors import EXIT_PRECEDENCE, ExitCode
from auditor.report.render.common import VERDICTS
from auditor.report.render.templates import template

FLEET_TEMPLATE = "fleet.html.j2"
# The report a tenant's row links to: the first of these that was written.
LINK_ORDER = ("report.html", "report.xlsx", "result.json", "report.junit.xml")
EXIT_LABELS = {
    ExitCode.OK: ("OK", "ok"),
    ExitCode.FINDINGS: ("Findings", "findings"),
    ExitCode.INCOMPLETE: ("Incomplete", "incomplete"),
    ExitCode.NOT_RECORDED: ("Not in history", "incomplete"),
    ExitCode.USAGE: ("Input error", "input"),
}


@dataclass(frozen=True)
class FleetRow:
    label: str  # the row's name, else the tenant's display name, else its id
    tenant_id: str
    display_name: str  # from Graph, when it differs from the label
    verdict: str | None
    verdict_tone: str
    score: float | None
    counts: tuple[int, int, int, int] | None  # pass, fail, error, not applicable
    exit_code: int
    exit_label: str
    exit_tone: str
    error: str
    link: str | None  # relative URL of the tenant's report


def _row(outcome: TenantOutcome) -> FleetRow:
    tenant, audited = outcome.tenant, outcome.audited
    display_name = audited.display_name if audited else ""
    label = tenant.name or display_name or tenant.tenant_id or tenant.folder
    summary = audited.summary if audited else None
    linked = next((name for name in LINK_ORDER if name in outcome.files), None)
    exit_label, exit_tone = EXIT_LABELS[outcome.exit_code]
    return FleetRow(
        label=label,
        tenant_id=outcome.tenant_id or "",
        display_name="" if display_name == label else display_name,
        verdict=audited.verdict.value if audited else None,
        verdict_tone=VERDICTS[audited.verdict].tone if audited else "none",
        score=summary.score if summary else None,
        counts=(summary.passed, summary.fail, summary.error, summary.not_applicable) if summary else None,
        exit_code=int(outcome.exit_code),
        exit_label=exit_label,
        exit_tone=exit_tone,
        error=outcome.error or "",
        link=f"{tenant.folder}/{linked}" if linked else None,
    )


def render_fleet_html(outcomes: Sequence[TenantOutcome], generated_at: datetime | None = None,
                      note: str | None = None) -> str:
    """The page; `note` (a merged fleet's origin) heads it, and rows without a report say "not linked"."""
    moment = generated_at or datetime.now(timezone.utc)
    exits = Counter(outcome.exit_code for outcome in outcomes)
    verdicts = Counter(outcome.audited.verdict if outcome.audited else None for outcome in outcomes)
    return template(FLEET_TEMPLATE).render(
        rows=[_row(outcome) for outcome in worst_first(outcomes)],
        total=len(outcomes),
        failed=sum(outcome.failed for outcome in outcomes),
        exit_counts=[(*EXIT_LABELS[code], exits[code]) for code in reversed(EXIT_PRECEDENCE) if exits[code]],
        verdict_counts=[(verdict.value if verdict else "no verdict", VERDICTS[verdict].tone if verdict else "none",
                         verdicts[verdict]) for verdict in VERDICT_ORDER if verdicts[verdict]],
        generated=moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        note=note,
    )
