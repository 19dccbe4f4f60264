"""fleet.xlsx: one row per tenant, worst first, styled and filterable like the tenant workbooks.

Written by the tenant workbook's sheets: tenant names and errors are stored as text, never as a formula,
whatever they start with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.fleet.outcome import TenantOutcome
from auditor.fleet.pages_html import LINK_ORDER
from auditor.fleet.summary import worst_first
from auditor.report.render.sheets import BOLD, PLAIN, WRAP, Book, Cell, Style, table_sheet

COLUMNS = (
    ("Name", 28), ("Tenant ID", 38), ("Tenant", 28), ("Verdict", 24), ("Score", 8), ("Pass", 7), ("Fail", 7),
    ("Error", 7), ("N/A", 7), ("Exit code", 10), ("Problem", 60), ("Report", 36),
)
# Fills of the tenant workbook's status tones: exit 0 like a pass, 1 like a fail, 2, 3 and 4 like an error.
EXIT_TONES = {0: "pass", 1: "fail", 2: "error", 3: "error", 4: "error"}
VERDICT_TONES = {"ready": "pass", "blocked": "fail", "unknown": "error"}


def _row(outcome: TenantOutcome) -> list[Any]:
    tenant, audited = outcome.tenant, outcome.audited
    summary = audited.summary if audited else None
    verdict = audited.verdict.value if audited else "no verdict"
    linked = next((f"{tenant.folder}/{name}" for name in LINK_ORDER if name in outcome.files), "")
    code = int(outcome.exit_code)
    return [
        Cell(tenant.name or "", BOLD),
        Cell(outcome.tenant_id or "", PLAIN),
        Cell(audited.display_name if audited else "", WRAP),
        Cell(verdict, Style(tone=VERDICT_TONES.get(verdict), bold=True)),
        Cell(summary.score, Style(number_format="0.0")) if summary else None,
        *((summary.passed, summary.fail, summary.error, summary.not_applicable) if summary else (None,) * 4),
        Cell(code, Style(tone=EXIT_TONES[code], bold=True)),
        Cell(outcome.error or "", WRAP),
        Cell(linked, PLAIN),
    ]


def render_fleet_xlsx(outcomes: Sequence[TenantOutcome]) -> bytes:
    book = Book(len(outcomes))
    table_sheet(book, "Fleet", COLUMNS, map(_row, worst_first(outcomes)), len(outcomes))
    return book.close()
