"""The HTML report: one self-contained page (inline CSS, SVG and script) from `reports/report.html.j2`.

Tenant data reaches the page only through Jinja2 autoescaping; the page's only script is ours, and
a Content-Security-Policy allowing just that script (by hash) keeps anything injected inert and
stops the page from fetching anything.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from markupsafe import Markup

from auditor.model.resources import REPORTS_DIR
from auditor.model.result import Finding, Status
from auditor.report.render.common import (
    CHANGE_LABELS,
    GRANT_SUMMARY_COLUMNS,
    SEVERITY_ORDER,
    STATUS_LABELS,
    STATUS_ORDER,
    TABLES,
    VERDICTS,
    Column,
    Value,
    acceptance_note,
    changed,
    display,
    fix_first,
    grant_summary,
    missing_permissions,
    next_steps,
    parse_time,
    safe_url,
)
from auditor.report.render.paths import awaiting_consent, not_consented_note, path_views
from auditor.report.render.plain import EVIDENCE_LIST_LIMIT, inline, joined, label
from auditor.report.render.remediation import Block, remediation_blocks
from auditor.report.render.templates import template
from auditor.report.report_model import ReportContext

TABLE_ROW_LIMIT = 200  # rows per tenant table; the workbook has every row
EVIDENCE_ROW_LIMIT = 20
CELL_LIST_LIMIT = 10
FIX_FIRST_LIMIT = 5
EVIDENCE_DEPTH = 2  # nested deeper than this, a value is shown as one line of text


# --- evidence ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One evidence value, shaped for display: text, a list, a table (list of objects) or a key/value map."""

    kind: str  # text | empty | list | table | map
    text: str = ""
    items: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    entries: list[tuple[str, Evidence]] = field(default_factory=list)
    more: int = 0

    @property
    def block(self) -> bool:
        """A table or nested map: shown below its label rather than beside it."""
        return self.kind in ("table", "map")


def _table_cell(value: Any) -> str:
    """A value in an evidence table; list items one per line."""
    if isinstance(value, list) and all(not isinstance(item, dict | list) for item in value):
        return joined(value, "\n")
    return inline(value)


def _table(rows: list[dict[str, Any]]) -> Evidence:
    shown = rows[:EVIDENCE_ROW_LIMIT]
    columns = list(dict.fromkeys(key for row in shown for key in row))
    cells = [[_table_cell(row[column]) if column in row else "" for column in columns] for row in shown]
    return Evidence("table", columns=[label(c) for c in columns], rows=cells, more=len(rows) - len(shown))


def evidence(value: Any, depth: int = 0) -> Evidence:
    if value is None or value == [] or value == {}:
        return Evidence("empty", text="none" if value is not None else "\u2014")
    if depth >= EVIDENCE_DEPTH:
        return Evidence("text", text=inline(value))
    if isinstance(value, dict):
        return Evidence("map", entries=[(label(k), evidence(v, depth + 1)) for k, v in value.items()])
    if isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return _table(value)
        shown = value[:EVIDENCE_LIST_LIMIT]
        return Evidence("list", items=[inline(item) for item in shown], more=len(value) - len(shown))
    return Evidence("text", text=inline(value))


# --- findings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    anchor: str
    index: int
    evidence: Evidence
    remediation: list[Block]
    references: list[tuple[str, str | None]]  # (text, safe href or None)
    consent_url: str | None

    @property
    def status_rank(self) -> int:
        return STATUS_ORDER.index(self.finding.status)


def anchor(rule_id: str) -> str:
    return "finding-" + re.sub(r"[^A-Za-z0-9_-]", "-", rule_id)


def _finding_view(index: int, finding: Finding, ctx: ReportContext) -> FindingView:
    offers_consent = "admin_consent_url" in finding.evidence and finding.status is not Status.PASS
    return FindingView(
        finding=finding,
        anchor=anchor(finding.rule_id),
        index=index,
        evidence=evidence(finding.evidence),
        remediation=remediation_blocks(finding.remediation),
        references=[(ref, safe_url(ref)) for ref in finding.references],
        consent_url=safe_url(ctx.admin_consent_url) if offers_consent else None,
    )


# --- charts ------------------------------------------------------------------------------------

RADIUS = 52
CIRCUMFERENCE = 2 * math.pi * RADIUS


@dataclass(frozen=True)
class Segment:
    key: str  # status value: the CSS class that colours it
    label: str
    count: int
    length: float = 0.0  # along the donut's circumference, or the bar's width in percent
    offset: float = 0.0


def _status_counts(findings: Sequence[Finding]) -> dict[Status, int]:
    return {status: sum(f.status is status for f in findings) for status in STATUS_ORDER}


def status_donut(findings: Sequence[Finding]) -> list[Segment]:
    counts = _status_counts(findings)
    total = sum(counts.values()) or 1
    segments, start = [], 0.0
    for status, count in counts.items():
        length = CIRCUMFERENCE * count / total
        segments.append(Segment(status.value, STATUS_LABELS[status], count, length, -start))
        start += length
    return segments


@dataclass(frozen=True)
class SeverityBar:
    severity: str
    total: int
    segments: list[Segment]


def severity_bars(findings: Sequence[Finding]) -> list[SeverityBar]:
    """Per severity, a bar split by status; bar lengths are relative to the largest severity."""
    grouped = {sev: [f for f in findings if f.severity is sev] for sev in SEVERITY_ORDER}
    widest = max((len(group) for group in grouped.values()), default=0) or 1
    bars = []
    for severity, group in grouped.items():
        if not group:
            continue
        segments, start = [], 0.0
        for status, count in _status_counts(group).items():
            width = 100 * count / widest
            segments.append(Segment(status.value, STATUS_LABELS[status], count, width, start))
            start += width
        bars.append(SeverityBar(severity.value, len(group), segments))
    return bars


def score_tone(score: float) -> str:
    return "pass" if score >= 80 else "medium" if score >= 50 else "fail"


# --- tenant tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    tone: str | None = None


@dataclass(frozen=True)
class TableView:
    key: str
    title: str
    description: str
    columns: list[str]
    rows: list[list[Cell]]
    total: int


def _cell(column: Column, value: Value) -> Cell:
    tone = column.tone(value) if column.tone else None
    moment = parse_time(value) if column.date and isinstance(value, str) else None
    if moment:
        return Cell(moment.strftime("%Y-%m-%d %H:%M"), tone)
    if isinstance(value, list) and len(value) > CELL_LIST_LIMIT:
        rest = len(value) - CELL_LIST_LIMIT
        return Cell(f"{display(value[:CELL_LIST_LIMIT])} \u2026 and {rest} more", tone)
    return Cell(display(value), tone)


def table_views(ctx: ReportContext) -> list[TableView]:
    views = []
    for spec in TABLES:
        rows = spec.rows(ctx)
        cells = [[_cell(column, column.get(row)) for column in spec.columns] for row in rows[:TABLE_ROW_LIMIT]]
        headers = [column.header for column in spec.columns]
        views.append(TableView(spec.key, spec.title, spec.description, headers, cells, len(rows)))
    return views


def grant_summary_view(ctx: ReportContext) -> TableView:
    records = grant_summary(ctx)
    rows = [
        [Cell(display(value), "fail" if column == "Allowed" and value is False else None)
         for column, value in record.items()]
        for record in records[:TABLE_ROW_LIMIT]
    ]
    return TableView("grant-summary", "Grants at a glance", "", list(GRANT_SUMMARY_COLUMNS), rows, len(records))


# --- page --------------------------------------------------------------------------------------


REPORT_TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class PageAssets:
    """Our own stylesheet and script, and the script's hash for the Content-Security-Policy."""

    css: Markup
    script: Markup
    script_hash: str


@cache
def page_assets() -> PageAssets:
    css, script = (REPORTS_DIR / "report.css").read_text(encoding="utf-8"), (REPORTS_DIR / "report.js").read_text(
        encoding="utf-8")
    css += (REPORTS_DIR / "report-media.css").read_text(encoding="utf-8")
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    # Our own static assets, not tenant data: the only markup passed unescaped.
    return PageAssets(Markup(css), Markup(script), "sha256-" + base64.b64encode(digest).decode("ascii"))


def prepare() -> None:
    """Compile the template and read the assets now, once for the process (see `prepare_renderers`)."""
    template(REPORT_TEMPLATE)
    page_assets()


# Elements whose text must stay as written: our stylesheet and script, the window title, and commands.
_VERBATIM = re.compile(r"(<(style|script|title|pre)\b.*?</\2>)", re.DOTALL)
_TEXT = re.compile(r">([^<>./]*[./][^<>]*)<")  # text between tags with a "." or "/" in it: the others stay as they are
_BREAK_AFTER = re.compile(r"(?<=\w)([./])(?=\w)")


def with_break_points(page: str) -> str:
    """`page` with a line-break opportunity (`<wbr>`) after each "." and "/" between word characters of text,
    so that long ids, UPNs and URLs wrap there (and after "-", as browsers do) rather than mid-word.
    Only text between tags changes: attributes, and everything in `_VERBATIM`, are left as they are."""
    parts = _VERBATIM.split(page)
    out = []
    for index, part in enumerate(parts):
        kind = index % 3  # re.split with two groups: text, the verbatim element, its tag name
        if kind == 0:
            out.append(_TEXT.sub(lambda m: ">" + _BREAK_AFTER.sub(r"\1<wbr>", m.group(1)) + "<", part))
        elif kind == 1:
            out.append(part)
    return "".join(out)


def render_html(ctx: ReportContext) -> str:
    result = ctx.result
    findings = [_finding_view(i, f, ctx) for i, f in enumerate(result.findings)]
    urgent = fix_first(result)
    assets = page_assets()
    return with_break_points(template(REPORT_TEMPLATE).render(
        ctx=ctx,
        result=result,
        verdict=VERDICTS[result.verdict],
        steps=next_steps(ctx),
        fix_first=urgent[:FIX_FIRST_LIMIT],
        fix_first_more=len(urgent) - FIX_FIRST_LIMIT,
        consent_url=safe_url(ctx.admin_consent_url),
        missing_permissions=missing_permissions(ctx),
        unread_sources=[row for row in ctx.tables.sources if row.status != "ok"],
        findings=findings,
        paths=path_views(result),
        awaiting=[f for f in result.findings if f.status is Status.FAIL and awaiting_consent(result, f.rule_id)],
        not_consented=not_consented_note(result),
        categories=sorted({f.category for f in result.findings}),
        severities=[s.value for s in SEVERITY_ORDER if any(f.severity is s for f in result.findings)],
        statuses=[(s.value, STATUS_LABELS[s]) for s in STATUS_ORDER],
        status_labels={s.value: text for s, text in STATUS_LABELS.items()},
        acceptance_note=acceptance_note,
        drift=ctx.drift,
        changes=changed(ctx.drift) if ctx.drift else [],
        change_labels=CHANGE_LABELS,
        verdict_headline=lambda verdict: VERDICTS[verdict].headline,
        donut=status_donut(result.findings),
        bars=severity_bars(result.findings),
        circumference=CIRCUMFERENCE,
        radius=RADIUS,
        score_tone=score_tone(result.summary.score),
        tables=table_views(ctx),
        grant_summary=grant_summary_view(ctx),
        anchor=anchor,
        css=assets.css,
        script=assets.script,
        script_hash=assets.script_hash,
    ))
