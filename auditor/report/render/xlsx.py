"""The Excel workbook: Summary, Findings (with columns a consultant fills in) and every tenant table in full.

Written by XlsxWriter, rows in order: a large tenant's workbook in constant-memory mode, so that 100 000
grant rows stream to the file instead of building a grid in memory. Every string is stored as text (never
a formula) and stripped of characters XML cannot hold, so a hostile display name neither runs nor breaks
the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache
from itertools import zip_longest
from typing import Any

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
    DATE,
    DATE_FORMAT,
    NAVY,
    PLAIN,
    WRAP,
    Book,
    Cell,
    Style,
    header_cells,
    link,
    table_sheet,
)
from auditor.report.report_model import ReportContext

CHART_COLOURS = {"pass": "15803D", "fail": "DC2626", "error": "EA580C", "not_applicable": "94A3B8"}
SEVERITY_COLOURS = {"critical": "7F1D1D", "high": "C00000", "medium": "BF8F00", "low": "2F5597", "info": "595959"}
VERDICT_FILLS = {"ready": "pass", "partial": "pass", "blocked": "fail", "unknown": "error"}
REMEDIATION_STATES = ("Open", "In progress", "Done", "Accepted risk")


# --- Summary -----------------------------------------------------------------------------------

SUMMARY_WIDTHS = (24, 72, 3, 16, 9, 9, 9, 15, 9)  # facts in A:B, counts and the chart in D:I
COUNTS_COLUMN = 4  # D
FACTS_FIRST_ROW = 4
CHART_SIZE = {"width": 491, "height": 265}  # 13 × 7 cm


def status_counts(findings: Sequence[Finding]) -> list[tuple[str, list[int]]]:
    """Rules per severity (most severe first) and status (in STATUS_ORDER), severities without rules left out."""
    counts = Counter((f.severity, f.status) for f in findings)
    table = [(severity.value, [counts[severity, status] for status in STATUS_ORDER]) for severity in SEVERITY_ORDER]
    return [(severity, row) for severity, row in table if sum(row)]


def _naive_utc(moment: datetime) -> datetime:
    return parse_time(moment.isoformat()) or moment


def _summary_facts(ctx: ReportContext) -> list[list[Any]]:
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
    label = Style(bold=True, colour=NAVY)
    consent = safe_url(ctx.admin_consent_url)
    return [*([Cell(name, label), Cell(value, style)] for name, value, style in facts),
            [Cell("Admin consent link", label), link(consent or "", consent)]]


def _summary_counts(findings: Sequence[Finding]) -> list[list[Any]]:
    """The status table (its rows feed the chart), a blank row, then rules per severity and status."""
    counts = status_counts(findings)
    rows: list[list[Any]] = [header_cells(["Status", "Rules"])]
    rows += [[Cell(STATUS_LABELS[s], Style(tone=s.value, bold=True)), sum(row[index] for _, row in counts)]
             for index, s in enumerate(STATUS_ORDER)]
    rows += [[], header_cells(["Severity", *(STATUS_LABELS[s] for s in STATUS_ORDER), "Rules"])]
    rows += [[Cell(severity.capitalize(), Style(bold=True, colour=SEVERITY_COLOURS[severity])), *row, sum(row)]
             for severity, row in counts]
    return rows


def _status_chart(book: Book) -> Any:
    chart = book.workbook.add_chart({"type": "column"})
    header, last = FACTS_FIRST_ROW - 1, FACTS_FIRST_ROW - 1 + len(STATUS_ORDER)  # zero-based rows
    chart.add_series({
        "name": ["Summary", header, COUNTS_COLUMN],
        "categories": ["Summary", header + 1, COUNTS_COLUMN - 1, last, COUNTS_COLUMN - 1],
        "values": ["Summary", header + 1, COUNTS_COLUMN, last, COUNTS_COLUMN],
        "points": [{"fill": {"color": f"#{CHART_COLOURS[status.value]}"}} for status in STATUS_ORDER],
    })
    chart.set_title({"name": "Rules by status"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"major_gridlines": {"visible": False}})
    chart.set_size(CHART_SIZE)
    return chart


def _summary(book: Book, ctx: ReportContext) -> None:
    sheet = book.sheet("Summary", SUMMARY_WIDTHS)
    sheet.ws.set_tab_color(f"#{NAVY}")
    sheet.append([Cell(ctx.title, Style(bold=True, size=16, colour=NAVY))])
    sheet.append([Cell(ctx.result.tenant.display_name, Style(size=12, colour="44546A"))])
    sheet.append([])
    facts, counts = _summary_facts(ctx), _summary_counts(ctx.result.findings)
    for left, right in zip_longest(facts, counts, fillvalue=[]):
        padded = [*left, *[None] * (COUNTS_COLUMN - 1 - len(left))] if right else left
        sheet.append([*padded, *right])
    sheet.ws.insert_chart(FACTS_FIRST_ROW + len(counts), COUNTS_COLUMN - 1, _status_chart(book))


# --- Findings ----------------------------------------------------------------------------------

# The columns a printed page shows come first (the print area); the consultant's own columns last.
FINDING_COLUMNS = (
    ("ID", 12), ("Title", 30), ("Severity", 10), ("Status", 14), ("Message", 45), ("Evidence", 75),
    ("Steps", 60), ("Microsoft Graph", 85), ("Microsoft Graph PowerShell", 85), ("Category", 20), ("Frameworks", 26),
    ("References", 60), ("Risk acceptance", 36), ("Owner", 18), ("Due date", 13), ("Remediation status", 18),
)
PRINTED_FINDING_COLUMNS = 6  # ID to Evidence: readable on a landscape page; the HTML report prints the fixes
DAY = Style(number_format="yyyy-mm-dd")


def _consultant_cells(finding: Finding) -> list[Cell]:
    """Owner, due date and remediation status: empty for the consultant, or from a risk acceptance."""
    accepted = finding.accepted
    if accepted is None:
        return [Cell(None, PLAIN), Cell(None, DAY), Cell(None, PLAIN)]
    state = "Open" if accepted.expired else "Accepted risk"
    return [Cell(accepted.owner, WRAP), Cell(datetime.combine(accepted.expires, datetime.min.time()), DAY),
            Cell(state, PLAIN)]


def _finding_row(finding: Finding, next_step: str) -> list[Any]:
    """`next_step`: "Not consented yet — …" when this failure is the open consent path's next step."""
    severity = finding.severity.value
    steps, commands = remediation_parts(finding.remediation)
    return [
        Cell(finding.rule_id, BOLD),
        Cell(finding.title, WRAP),
        Cell(severity.capitalize(), Style(bold=True, colour=SEVERITY_COLOURS[severity])),
        Cell(STATUS_LABELS[finding.status], Style(tone=finding.status.value, bold=True)),
        Cell(f"{next_step}. {finding.message}" if next_step else finding.message, WRAP),
        Cell(evidence_lines(finding.evidence), WRAP),
        Cell(steps, WRAP),
        Cell(commands.get("Microsoft Graph", ""), WRAP),
        Cell("\n\n".join(text for label, text in commands.items() if label != "Microsoft Graph"), WRAP),
        Cell(finding.category, WRAP),
        Cell("\n".join(f"{name}: {control}" for name, control in finding.frameworks.items()), WRAP),
        link("\n".join(finding.references), next(filter(None, map(safe_url, finding.references)), None)),
        Cell(acceptance_note(finding), WRAP),
        *_consultant_cells(finding),
    ]


def _findings(book: Book, ctx: ReportContext) -> None:
    result = ctx.result
    note = not_consented_note(result)

    def rows() -> Iterable[list[Any]]:
        for f in result.findings:
            awaiting = f.status is Status.FAIL and awaiting_consent(result, f.rule_id)
            yield _finding_row(f, note if awaiting else "")

    sheet, count = table_sheet(book, "Findings", FINDING_COLUMNS, rows(), len(result.findings))
    column = len(FINDING_COLUMNS) - 1
    sheet.ws.data_validation(1, column, max(count, 1), column,
                             {"validate": "list", "source": list(REMEDIATION_STATES), "ignore_blank": True})
    sheet.ws.print_area(0, 0, count, PRINTED_FINDING_COLUMNS - 1)


PATH_COLUMNS = (("Path", 34), ("State", 11), ("Why", 90), ("Who can approve", 60))


def _path_row(path: PathView) -> list[Any]:
    return [
        Cell(path.title, BOLD),
        Cell(path.label, Style(tone=path.tone, bold=True)),
        Cell("\n".join(path.reasons), WRAP),
        Cell("\n".join(f"{a.user}: {a.how}" for a in path.approvers), WRAP),
    ]


def _paths(book: Book, ctx: ReportContext) -> None:
    views = path_views(ctx.result)
    if views:
        table_sheet(book, "Paths", PATH_COLUMNS, map(_path_row, views), len(views))


CHANGE_COLUMNS = (("Rule", 13), ("Title", 40), ("Severity", 10), ("Change", 18), ("Before", 14), ("Now", 14),
                  ("Evidence that changed", 40), ("Risk accepted", 14))


def _change_row(change: RuleChange) -> list[Any]:
    label, tone = CHANGE_LABELS[change.kind]
    return [
        Cell(change.rule_id, BOLD),
        Cell(change.title, WRAP),
        Cell(change.severity.value.capitalize(), Style(bold=True, colour=SEVERITY_COLOURS[change.severity.value])),
        Cell(label, Style(tone=tone, bold=True) if tone else PLAIN),
        Cell(status_label(change.old_status), Style(tone=change.old_status.value) if change.old_status else PLAIN),
        Cell(status_label(change.new_status), Style(tone=change.new_status.value) if change.new_status else PLAIN),
        Cell(", ".join(change.evidence_keys), WRAP),
        change.accepted,
    ]


def _changes(book: Book, drift: Drift) -> None:
    table_sheet(book, "Changes", CHANGE_COLUMNS, map(_change_row, drift.changes), len(drift.changes))


# --- tenant tables -----------------------------------------------------------------------------


@cache
def _cell_style(tone: str | None, wrap: bool) -> Style:
    return Style(tone=tone, wrap=wrap, bold=bool(tone))


def _table_cell(column: Column, styled: bool) -> Callable[[Any], Any]:
    """How a column's values become cells, styled only where they must be: most cells of a 100 000-row grant
    table stay plain, unless the sheet has tall rows whose cells must all align to the top."""
    if not (column.date or column.tone or column.wrap or styled):
        return column.get

    def make(row: Any) -> Any:
        value = column.get(row)
        moment = parse_time(value) if column.date and isinstance(value, str) else None
        if moment:
            return Cell(moment, DATE)
        tone = column.tone(value) if column.tone else None
        if tone or column.wrap or styled:
            return Cell(value, _cell_style(tone, column.wrap))
        return value

    return make


def _tenant_rows(spec: TableSpec, ctx: ReportContext) -> Iterable[list[Any]]:
    styled = any(column.wrap for column in spec.columns)
    makers = [_table_cell(column, styled) for column in spec.columns]
    return ([make(row) for make in makers] for row in spec.rows(ctx))


def render_xlsx(ctx: ReportContext) -> bytes:
    book = Book(max(len(ctx.result.findings), *(len(spec.rows(ctx)) for spec in TABLES)))
    _summary(book, ctx)
    _paths(book, ctx)
    _findings(book, ctx)
    if ctx.drift:
        _changes(book, ctx.drift)
    for spec in TABLES:
        columns = [(column.header, column.width) for column in spec.columns]
        table_sheet(book, spec.title, columns, _tenant_rows(spec, ctx), len(spec.rows(ctx)))
    return book.close()
