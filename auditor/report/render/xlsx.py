"""The Excel workbook: Summary, Findings (with columns a consultant fills in) and every tenant table in full.

Written in openpyxl's write-only mode so that 100 000 grant rows stream instead of building a grid
in memory. Every string is stored as text (never a formula) and stripped of characters XML cannot
hold, so a hostile display name neither runs nor breaks the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from io import BytesIO
from itertools import zip_longest
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.marker import DataPoint
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation

from auditor.history.drift import Drift, RuleChange
from auditor.model.result import Finding, Status
from auditor.report.render.common import (
    CHANGE_LABELS,
    SEVERITY_ORDER,
    STATUS_LABELS,
    STATUS_ORDER,
    TABLES,
    VERDICTS,
    Column,
    TableSpec,
    acceptance_note,
    next_steps,
    parse_time,
    safe_url,
    status_label,
)
from auditor.report.render.paths import PathView, awaiting_consent, not_consented_note, path_views
from auditor.report.render.plain import evidence_lines, remediation_parts
from auditor.report.render.sheets import (
    BOLD,
    NAVY,
    PLAIN,
    WRAP,
    RowMaker,
    Style,
    append_row,
    cell,
    header_cells,
    link,
    sheet,
    table_sheet,
)
from auditor.report.report_model import ReportContext

DATE_FORMAT = "yyyy-mm-dd hh:mm"
CHART_COLOURS = {"pass": "15803D", "fail": "DC2626", "error": "EA580C", "not_applicable": "94A3B8"}
SEVERITY_COLOURS = {"critical": "7F1D1D", "high": "C00000", "medium": "BF8F00", "low": "2F5597", "info": "595959"}
VERDICT_FILLS = {"ready": "pass", "partial": "pass", "blocked": "fail", "unknown": "error"}
REMEDIATION_STATES = ("Open", "In progress", "Done", "Accepted risk")


# --- Summary -----------------------------------------------------------------------------------

SUMMARY_WIDTHS = (24, 72, 3, 16, 9, 9, 9, 15, 9)  # facts in A:B, counts and the chart in D:I
COUNTS_COLUMN = 4  # D
FACTS_FIRST_ROW = 4


def status_counts(findings: Sequence[Finding]) -> pd.DataFrame:
    """Rules per severity (rows, most severe first) and status (columns), severities without rules left out."""
    frame = pd.DataFrame({
        "severity": pd.Categorical([f.severity.value for f in findings], [s.value for s in SEVERITY_ORDER]),
        "status": pd.Categorical([f.status.value for f in findings], [s.value for s in STATUS_ORDER]),
    })
    table = pd.crosstab(frame["severity"], frame["status"], dropna=False)
    return table[table.sum(axis=1) > 0]


def _naive_utc(moment: datetime) -> datetime:
    return parse_time(moment.isoformat()) or moment


def _summary_facts(ws: WriteOnlyWorksheet, ctx: ReportContext) -> list[list[Any]]:
    result, verdict = ctx.result, VERDICTS[ctx.result.verdict]
    steps = "\n".join(f"{number}. {step}" for number, step in enumerate(next_steps(ctx), start=1))
    left = Style(horizontal="left")
    # Short facts first: the counts table beside them keeps its rows one line high.
    facts = [
        ("Verdict", verdict.headline, Style(tone=VERDICT_FILLS[verdict.tone], bold=True)),
        ("Score (0–100)", result.summary.score, Style(bold=True, number_format="0.0", horizontal="left")),
        ("Tenant", result.tenant.display_name, WRAP),
        ("Tenant ID", result.tenant.id, PLAIN),
        ("App", result.app.display_name, WRAP),
        ("App ID", result.app.app_id or "not known", PLAIN),
        ("Service principal ID", result.app.service_principal_id or "none found", PLAIN),
        ("Collected at (UTC)", _naive_utc(result.collected_at), Style(number_format=DATE_FORMAT, horizontal="left")),
        ("Generated at (UTC)", _naive_utc(result.generated_at), Style(number_format=DATE_FORMAT, horizontal="left")),
        ("Tool", f"{result.tool.name} {result.tool.version}", PLAIN),
        ("Rule pack", f"{result.rule_pack.id} {result.rule_pack.version}", PLAIN),
        ("Microsoft Graph", ctx.graph_url, left),
        ("Prepared by", ctx.prepared_by or "", WRAP),
        ("What it means", verdict.meaning, WRAP),
        ("Next steps", steps, WRAP),
    ]
    rows = [[cell(ws, label, Style(bold=True, colour=NAVY)), cell(ws, value, style)] for label, value, style in facts]
    consent = safe_url(ctx.admin_consent_url)
    return [*rows, [cell(ws, "Admin consent link", Style(bold=True, colour=NAVY)), link(ws, consent or "", consent)]]


def _summary_counts(ws: WriteOnlyWorksheet, findings: Sequence[Finding]) -> list[list[Any]]:
    """The status table (its rows feed the chart), a blank row, then rules per severity and status."""
    counts = status_counts(findings)
    rows: list[list[Any]] = [header_cells(ws, ["Status", "Rules"])]
    rows += [[cell(ws, STATUS_LABELS[s], Style(tone=s.value, bold=True)), int(counts[s.value].sum())]
             for s in STATUS_ORDER]
    rows += [[], header_cells(ws, ["Severity", *(STATUS_LABELS[s] for s in STATUS_ORDER), "Rules"])]
    for severity, row in counts.iterrows():
        label = cell(ws, str(severity).capitalize(), Style(bold=True, colour=SEVERITY_COLOURS[str(severity)]))
        rows.append([label, *(int(n) for n in row), int(row.sum())])
    return rows


def _status_chart(ws: WriteOnlyWorksheet) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.title = "Rules by status"
    chart.legend = None
    chart.y_axis.majorGridlines = None
    first, last = FACTS_FIRST_ROW, FACTS_FIRST_ROW + len(STATUS_ORDER)
    chart.add_data(Reference(ws, min_col=COUNTS_COLUMN + 1, min_row=first, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=COUNTS_COLUMN, min_row=first + 1, max_row=last))
    for index, status in enumerate(STATUS_ORDER):
        point = DataPoint(idx=index)
        point.graphicalProperties.solidFill = CHART_COLOURS[status.value]
        chart.series[0].dPt.append(point)
    chart.height, chart.width = 7, 13
    return chart


def _summary(wb: Workbook, ctx: ReportContext) -> None:
    ws = sheet(wb, "Summary", SUMMARY_WIDTHS)
    ws.sheet_properties.tabColor = NAVY
    ws.append([cell(ws, ctx.title, Style(bold=True, size=16, colour=NAVY))])
    ws.append([cell(ws, ctx.result.tenant.display_name, Style(size=12, colour="44546A"))])
    ws.append([])
    facts, counts = _summary_facts(ws, ctx), _summary_counts(ws, ctx.result.findings)
    for number, (left, right) in enumerate(zip_longest(facts, counts, fillvalue=[]), start=FACTS_FIRST_ROW):
        padded = [*left, *[None] * (COUNTS_COLUMN - 1 - len(left))] if right else left
        append_row(ws, number, [*padded, *right], SUMMARY_WIDTHS)
    anchor_row = FACTS_FIRST_ROW + len(counts) + 1
    ws.add_chart(_status_chart(ws), f"{get_column_letter(COUNTS_COLUMN)}{anchor_row}")


# --- Findings ----------------------------------------------------------------------------------

# The columns a printed page shows come first (the print area); the consultant's own columns last.
FINDING_COLUMNS = (
    ("ID", 12), ("Title", 30), ("Severity", 10), ("Status", 14), ("Message", 45), ("Evidence", 75),
    ("Steps", 60), ("Microsoft Graph", 85), ("Microsoft Graph PowerShell", 85), ("Category", 20), ("Frameworks", 26),
    ("References", 60), ("Risk acceptance", 36), ("Owner", 18), ("Due date", 13), ("Remediation status", 18),
)
PRINTED_FINDING_COLUMNS = 6  # ID to Evidence: readable on a landscape page; the HTML report prints the fixes
DAY_FORMAT = "yyyy-mm-dd"


def _consultant_cells(ws: WriteOnlyWorksheet, finding: Finding) -> list[Any]:
    """Owner, due date and remediation status: empty for the consultant, or from a risk acceptance."""
    accepted = finding.accepted
    if accepted is None:
        return [cell(ws, None, PLAIN), cell(ws, None, Style(number_format=DAY_FORMAT)), cell(ws, None, PLAIN)]
    state = "Open" if accepted.expired else "Accepted risk"
    return [cell(ws, accepted.owner, WRAP), cell(ws, datetime.combine(accepted.expires, datetime.min.time()),
                                                 Style(number_format=DAY_FORMAT)), cell(ws, state, PLAIN)]


def _finding_row(ws: WriteOnlyWorksheet, finding: Finding, next_step: str) -> list[Any]:
    """`next_step`: "Not consented yet — …" when this failure is the open consent path's next step."""
    severity = finding.severity.value
    steps, commands = remediation_parts(finding.remediation)
    return [
        cell(ws, finding.rule_id, BOLD),
        cell(ws, finding.title, WRAP),
        cell(ws, severity.capitalize(), Style(bold=True, colour=SEVERITY_COLOURS[severity])),
        cell(ws, STATUS_LABELS[finding.status], Style(tone=finding.status.value, bold=True)),
        cell(ws, f"{next_step}. {finding.message}" if next_step else finding.message, WRAP),
        cell(ws, evidence_lines(finding.evidence), WRAP),
        cell(ws, steps, WRAP),
        cell(ws, commands.get("Microsoft Graph", ""), WRAP),
        cell(ws, "\n\n".join(text for label, text in commands.items() if label != "Microsoft Graph"), WRAP),
        cell(ws, finding.category, WRAP),
        cell(ws, "\n".join(f"{name}: {control}" for name, control in finding.frameworks.items()), WRAP),
        link(ws, "\n".join(finding.references), next(filter(None, map(safe_url, finding.references)), None)),
        cell(ws, acceptance_note(finding), WRAP),
        *_consultant_cells(ws, finding),
    ]


def _findings(wb: Workbook, ctx: ReportContext) -> None:
    findings = ctx.result.findings
    result = ctx.result
    note = not_consented_note(result)

    def rows(ws: WriteOnlyWorksheet) -> Iterable[list[Any]]:
        for f in findings:
            awaiting = f.status is Status.FAIL and awaiting_consent(result, f.rule_id)
            yield _finding_row(ws, f, note if awaiting else "")

    ws, count = table_sheet(wb, "Findings", FINDING_COLUMNS, rows, len(findings))
    column = get_column_letter(len(FINDING_COLUMNS))
    states = DataValidation(type="list", formula1='"' + ",".join(REMEDIATION_STATES) + '"', allow_blank=True)
    states.add(f"{column}2:{column}{max(count, 1) + 1}")
    ws.data_validations.append(states)
    ws.print_area = f"A1:{get_column_letter(PRINTED_FINDING_COLUMNS)}{count + 1}"


PATH_COLUMNS = (("Path", 34), ("State", 11), ("Why", 90), ("Who can approve", 60))


def _path_row(ws: WriteOnlyWorksheet, path: PathView) -> list[Any]:
    return [
        cell(ws, path.title, BOLD),
        cell(ws, path.label, Style(tone=path.tone, bold=True)),
        cell(ws, "\n".join(path.reasons), WRAP),
        cell(ws, "\n".join(f"{a.user}: {a.how}" for a in path.approvers), WRAP),
    ]


def _paths(wb: Workbook, ctx: ReportContext) -> None:
    views = path_views(ctx.result)
    if views:
        table_sheet(wb, "Paths", PATH_COLUMNS, lambda ws: (_path_row(ws, view) for view in views), len(views))


CHANGE_COLUMNS = (("Rule", 13), ("Title", 40), ("Severity", 10), ("Change", 18), ("Before", 14), ("Now", 14),
                  ("Evidence that changed", 40), ("Risk accepted", 14))


def _change_row(ws: WriteOnlyWorksheet, change: RuleChange) -> list[Any]:
    label, tone = CHANGE_LABELS[change.kind]
    return [
        cell(ws, change.rule_id, BOLD),
        cell(ws, change.title, WRAP),
        cell(ws, change.severity.value.capitalize(), Style(bold=True, colour=SEVERITY_COLOURS[change.severity.value])),
        cell(ws, label, Style(tone=tone, bold=True) if tone else PLAIN),
        cell(ws, status_label(change.old_status), Style(tone=change.old_status.value) if change.old_status else PLAIN),
        cell(ws, status_label(change.new_status), Style(tone=change.new_status.value) if change.new_status else PLAIN),
        cell(ws, ", ".join(change.evidence_keys), WRAP),
        cell(ws, change.accepted),
    ]


def _changes(wb: Workbook, drift: Drift) -> None:
    table_sheet(wb, "Changes", CHANGE_COLUMNS, lambda ws: (_change_row(ws, change) for change in drift.changes),
                len(drift.changes))


# --- tenant tables -----------------------------------------------------------------------------


def _table_value(column: Column, value: Any, styled: bool) -> tuple[Any, Style | None]:
    """A tenant table value and its style; no style where a plain value will do (most cells of a
    100 000-row grant table), unless the sheet has tall rows whose cells must all align to the top."""
    moment = parse_time(value) if column.date and isinstance(value, str) else None
    if moment:
        return moment, Style(number_format=DATE_FORMAT)
    tone = column.tone(value) if column.tone else None
    if tone or column.wrap or styled:
        return value, Style(tone=tone, wrap=column.wrap, bold=bool(tone))
    return value, None


def _tenant_rows(spec: TableSpec, ctx: ReportContext) -> tuple[RowMaker, int]:
    frame = spec.frame(spec.rows(ctx))
    styled = any(column.wrap for column in spec.columns)

    def rows(ws: WriteOnlyWorksheet) -> Iterable[list[Any]]:
        for record in frame.itertuples(index=False, name=None):
            yield [cell(ws, *_table_value(column, value, styled)) for column, value in zip(spec.columns, record,
                                                                                             strict=True)]

    return rows, len(frame)


def render_xlsx(ctx: ReportContext) -> bytes:
    wb = Workbook(write_only=True)
    _summary(wb, ctx)
    _paths(wb, ctx)
    _findings(wb, ctx)
    if ctx.drift:
        _changes(wb, ctx.drift)
    for spec in TABLES:
        columns = [(column.header, column.width) for column in spec.columns]
        table_sheet(wb, spec.title, columns, *_tenant_rows(spec, ctx))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
