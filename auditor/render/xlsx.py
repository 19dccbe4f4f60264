"""The Excel workbook: Summary, Findings (with columns a consultant fills in) and every tenant table in full.

Written in openpyxl's write-only mode so that 100 000 grant rows stream instead of building a grid
in memory. Every string is stored as text (never a formula) and stripped of characters XML cannot
hold, so a hostile display name neither runs nor breaks the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from itertools import zip_longest
from typing import Any
from weakref import WeakKeyDictionary

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation

from auditor.drift import Drift, RuleChange
from auditor.render.common import (
    CHANGE_LABELS,
    SEVERITY_ORDER,
    STATUS_LABELS,
    STATUS_ORDER,
    TABLES,
    VERDICTS,
    Column,
    TableSpec,
    acceptance_note,
    display,
    next_steps,
    parse_time,
    safe_url,
    status_label,
)
from auditor.render.paths import PathView, path_views
from auditor.report_model import ReportContext
from auditor.result import Finding

# Characters XML 1.0 cannot hold (openpyxl raises IllegalCharacterError on most of them).
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Text that Excel, or a spreadsheet importing it, could take for a formula or a DDE command.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_TEXT = 32_767
DATE_FORMAT = "yyyy-mm-dd hh:mm"

NAVY = "1F3864"
FONT = "Calibri"  # the workbook default: a Font without a name falls back to another face elsewhere
# Status fills (pass green, fail red, error orange, n/a grey) with a readable text colour on each.
TONE_FILLS = {"pass": "C6EFCE", "fail": "FFC7CE", "error": "F8CBAD", "not_applicable": "E7E6E6"}
TONE_FONTS = {"pass": "006100", "fail": "9C0006", "error": "833C0B", "not_applicable": "3A3A3A"}
CHART_COLOURS = {"pass": "15803D", "fail": "DC2626", "error": "EA580C", "not_applicable": "94A3B8"}
SEVERITY_COLOURS = {"critical": "7F1D1D", "high": "C00000", "medium": "BF8F00", "low": "2F5597", "info": "595959"}
VERDICT_FILLS = {"ready": "pass", "partial": "pass", "blocked": "fail", "unknown": "error"}
REMEDIATION_STATES = ("Open", "In progress", "Done", "Accepted risk")


@dataclass(frozen=True)
class Style:
    tone: str | None = None  # a key of TONE_FILLS
    wrap: bool = False
    bold: bool = False
    colour: str | None = None
    size: float | None = None
    number_format: str | None = None
    horizontal: str | None = None
    vertical: str = "top"
    fill: str | None = None  # a background colour, when there is no tone

    def apply(self, out: WriteOnlyCell) -> WriteOnlyCell:
        """Style the cell; its font, fill and alignment are looked up once per workbook and then shared."""
        styles = _STYLE_ARRAYS.setdefault(out.parent.parent, {})
        if self not in styles:
            styles[self] = self._build(WriteOnlyCell(out.parent))._style
        out._style = copy(styles[self])
        return out

    def _build(self, out: WriteOnlyCell) -> WriteOnlyCell:
        colour = TONE_FONTS[self.tone] if self.tone else self.colour
        fill = TONE_FILLS[self.tone] if self.tone else self.fill
        if fill:
            out.fill = PatternFill("solid", fgColor=fill)
        if self.bold or colour or self.size:
            out.font = Font(name=FONT, bold=self.bold, color=colour, size=self.size or 11)
        out.alignment = Alignment(vertical=self.vertical, horizontal=self.horizontal, wrap_text=self.wrap)
        if self.number_format:
            out.number_format = self.number_format
        return out


# Per workbook, each Style's indexes into the workbook's font, fill, alignment and number format tables.
_STYLE_ARRAYS: WeakKeyDictionary[Workbook, dict[Style, StyleArray]] = WeakKeyDictionary()


PLAIN = Style()
WRAP = Style(wrap=True)
BOLD = Style(bold=True)
HEADER = Style(bold=True, colour="FFFFFF", fill=NAVY, wrap=True, vertical="center")


def clean(text: str) -> str:
    return ILLEGAL_XML.sub("\ufffd", text)[:MAX_CELL_TEXT]


def cell(ws: WriteOnlyWorksheet, value: Any, style: Style | None = None) -> Any:
    """A value for `ws.append`: a string is always text, never a formula; unstyled safe values stay plain
    (much faster for large tables)."""
    if isinstance(value, list):
        value = "\n".join(str(item) for item in value)
    elif isinstance(value, bool):
        value = display(value)
    if isinstance(value, str):
        value = clean(value)
        risky = value.startswith(FORMULA_PREFIXES)
        if style is None and not risky:
            return value
        out = (style or PLAIN).apply(WriteOnlyCell(ws, value))
        out.data_type = "s"  # openpyxl would store "=..." as a formula
        out.quotePrefix = risky  # and Excel keeps it text when someone edits the cell
        return out
    return value if style is None else style.apply(WriteOnlyCell(ws, value))


def _header(ws: WriteOnlyWorksheet, headers: Sequence[str]) -> list[WriteOnlyCell]:
    return [cell(ws, text, HEADER) for text in headers]


RowMaker = Callable[[WriteOnlyWorksheet], Iterable[list[Any]]]
LINE_HEIGHT = 15  # points per line of 11-point text
MAX_ROW_LINES = 12  # taller rows are cut: the full text shows when the cell is selected


def _lines(value: Any, width: float) -> int:
    per_line = max(1, int(width * 1.1))
    return sum(max(1, -(-len(line) // per_line)) for line in str(value).split("\n"))


def _append(ws: WriteOnlyWorksheet, number: int, row: list[Any], widths: Sequence[float]) -> None:
    """Append row `number`, tall enough for its wrapped text (openpyxl cannot ask Excel to fit it)."""
    lines = max(
        (_lines(c.value, width) for c, width in zip(row, widths, strict=False)
         if isinstance(c, Cell) and c.value is not None and c.alignment.wrap_text),
        default=1,
    )
    if lines > 1:
        ws.row_dimensions[number].height = LINE_HEIGHT * min(lines, MAX_ROW_LINES)
    ws.append(row)


def _sheet(wb: Workbook, title: str, widths: Sequence[float]) -> WriteOnlyWorksheet:
    ws = wb.create_sheet(title)
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return ws


def table_sheet(
    wb: Workbook, title: str, columns: Sequence[tuple[str, int]], make_rows: RowMaker
) -> tuple[WriteOnlyWorksheet, int]:
    """A sheet with a styled, frozen, filterable header row; returns it and its number of data rows."""
    widths = [width for _, width in columns]
    ws = _sheet(wb, title, widths)
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.append(_header(ws, [header for header, _ in columns]))
    count = 0
    for row in make_rows(ws):
        count += 1
        _append(ws, count + 1, row, widths)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    return ws, count


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
        ("Admin consent link", safe_url(ctx.admin_consent_url) or "", WRAP),
    ]
    return [[cell(ws, label, Style(bold=True, colour=NAVY)), cell(ws, value, style)] for label, value, style in facts]


def _summary_counts(ws: WriteOnlyWorksheet, findings: Sequence[Finding]) -> list[list[Any]]:
    """The status table (its rows feed the chart), a blank row, then rules per severity and status."""
    counts = status_counts(findings)
    rows: list[list[Any]] = [_header(ws, ["Status", "Rules"])]
    rows += [[cell(ws, STATUS_LABELS[s], Style(tone=s.value, bold=True)), int(counts[s.value].sum())]
             for s in STATUS_ORDER]
    rows += [[], _header(ws, ["Severity", *(STATUS_LABELS[s] for s in STATUS_ORDER), "Rules"])]
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
    ws = _sheet(wb, "Summary", SUMMARY_WIDTHS)
    ws.sheet_properties.tabColor = NAVY
    ws.append([cell(ws, ctx.title, Style(bold=True, size=16, colour=NAVY))])
    ws.append([cell(ws, ctx.result.tenant.display_name, Style(size=12, colour="44546A"))])
    ws.append([])
    facts, counts = _summary_facts(ws, ctx), _summary_counts(ws, ctx.result.findings)
    for number, (left, right) in enumerate(zip_longest(facts, counts, fillvalue=[]), start=FACTS_FIRST_ROW):
        padded = [*left, *[None] * (COUNTS_COLUMN - 1 - len(left))] if right else left
        _append(ws, number, [*padded, *right], SUMMARY_WIDTHS)
    anchor_row = FACTS_FIRST_ROW + len(counts) + 1
    ws.add_chart(_status_chart(ws), f"{get_column_letter(COUNTS_COLUMN)}{anchor_row}")


# --- Findings ----------------------------------------------------------------------------------

FINDING_COLUMNS = (
    ("ID", 13), ("Title", 34), ("Category", 22), ("Severity", 10), ("Status", 14), ("Message", 60),
    ("Evidence", 60), ("Remediation", 80), ("Frameworks", 26), ("References", 50), ("Risk acceptance", 36),
    ("Owner", 18), ("Due date", 13), ("Remediation status", 18),
)
DAY_FORMAT = "yyyy-mm-dd"


def _consultant_cells(ws: WriteOnlyWorksheet, finding: Finding) -> list[Any]:
    """Owner, due date and remediation status: empty for the consultant, or from a risk acceptance."""
    accepted = finding.accepted
    if accepted is None:
        return [cell(ws, None, PLAIN), cell(ws, None, Style(number_format=DAY_FORMAT)), cell(ws, None, PLAIN)]
    state = "Open" if accepted.expired else "Accepted risk"
    return [cell(ws, accepted.owner, WRAP), cell(ws, datetime.combine(accepted.expires, datetime.min.time()),
                                                 Style(number_format=DAY_FORMAT)), cell(ws, state, PLAIN)]


def _finding_row(ws: WriteOnlyWorksheet, finding: Finding) -> list[Any]:
    severity = finding.severity.value
    return [
        cell(ws, finding.rule_id, BOLD),
        cell(ws, finding.title, WRAP),
        cell(ws, finding.category, WRAP),
        cell(ws, severity, Style(bold=True, colour=SEVERITY_COLOURS[severity])),
        cell(ws, STATUS_LABELS[finding.status], Style(tone=finding.status.value, bold=True)),
        cell(ws, finding.message, WRAP),
        cell(ws, json.dumps(finding.evidence, ensure_ascii=False, default=str), WRAP),
        cell(ws, finding.remediation, WRAP),
        cell(ws, "\n".join(f"{name}: {control}" for name, control in finding.frameworks.items()), WRAP),
        cell(ws, "\n".join(finding.references), WRAP),
        cell(ws, acceptance_note(finding), WRAP),
        *_consultant_cells(ws, finding),
    ]


def _findings(wb: Workbook, ctx: ReportContext) -> None:
    findings = ctx.result.findings
    ws, count = table_sheet(wb, "Findings", FINDING_COLUMNS, lambda ws: (_finding_row(ws, f) for f in findings))
    column = get_column_letter(len(FINDING_COLUMNS))
    states = DataValidation(type="list", formula1='"' + ",".join(REMEDIATION_STATES) + '"', allow_blank=True)
    states.add(f"{column}2:{column}{max(count, 1) + 1}")
    ws.data_validations.append(states)


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
        table_sheet(wb, "Paths", PATH_COLUMNS, lambda ws: (_path_row(ws, view) for view in views))


CHANGE_COLUMNS = (("Rule", 13), ("Title", 40), ("Severity", 10), ("Change", 18), ("Before", 14), ("Now", 14),
                  ("Evidence that changed", 40), ("Risk accepted", 14))


def _change_row(ws: WriteOnlyWorksheet, change: RuleChange) -> list[Any]:
    label, tone = CHANGE_LABELS[change.kind]
    return [
        cell(ws, change.rule_id, BOLD),
        cell(ws, change.title, WRAP),
        cell(ws, change.severity.value, Style(bold=True, colour=SEVERITY_COLOURS[change.severity.value])),
        cell(ws, label, Style(tone=tone, bold=True) if tone else PLAIN),
        cell(ws, status_label(change.old_status), Style(tone=change.old_status.value) if change.old_status else PLAIN),
        cell(ws, status_label(change.new_status), Style(tone=change.new_status.value) if change.new_status else PLAIN),
        cell(ws, ", ".join(change.evidence_keys), WRAP),
        cell(ws, change.accepted),
    ]


def _changes(wb: Workbook, drift: Drift) -> None:
    table_sheet(wb, "Changes", CHANGE_COLUMNS, lambda ws: (_change_row(ws, change) for change in drift.changes))


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


def _tenant_rows(spec: TableSpec, ctx: ReportContext) -> RowMaker:
    frame = spec.frame(spec.rows(ctx))
    styled = any(column.wrap for column in spec.columns)

    def rows(ws: WriteOnlyWorksheet) -> Iterable[list[Any]]:
        for record in frame.itertuples(index=False, name=None):
            yield [cell(ws, *_table_value(column, value, styled)) for column, value in zip(spec.columns, record,
                                                                                             strict=True)]

    return rows


def render_xlsx(ctx: ReportContext) -> bytes:
    wb = Workbook(write_only=True)
    _summary(wb, ctx)
    _paths(wb, ctx)
    _findings(wb, ctx)
    if ctx.drift:
        _changes(wb, ctx.drift)
    for spec in TABLES:
        columns = [(column.header, column.width) for column in spec.columns]
        table_sheet(wb, spec.title, columns, _tenant_rows(spec, ctx))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
