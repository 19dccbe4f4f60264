"""Issue 12, point 6: Excel's limits. A table longer than a sheet continues on "Grants (2)", "Grants (3)", …
(the first sheet says so); a cell longer than Excel holds (32,767 UTF-16 code units) is cut with a visible
marker; result.json keeps everything."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from openpyxl import load_workbook

import auditor.report.render.sheets
from auditor.report.render.xlsx import render_xlsx
from tests import report_samples as samples

EXCEL_ROWS = 1_048_576
MAX_CELL_TEXT = 32_767  # UTF-16 code units
TRUNCATED = "… truncated — full text in result.json"
SHEET = "Per-user grants"


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _rows(data: bytes, title: str) -> tuple[list[str], list[tuple[object, ...]], dict[str, list[tuple]]]:
    """The sheets of table `title` in order, the data rows of all of them, and each sheet's header row."""
    wb = load_workbook(BytesIO(data))
    names = [name for name in wb.sheetnames if name == title or name.startswith(f"{title} (")]
    headers = {name: next(wb[name].iter_rows(max_row=1, values_only=True)) for name in names}
    rows = [row for name in names for row in wb[name].iter_rows(min_row=2, values_only=True)]
    return names, rows, headers


def test_a_table_longer_than_a_sheet_continues_on_numbered_sheets_with_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = samples.large(user_count=10)
    _, complete, whole = _rows(render_xlsx(context), SHEET)
    assert getattr(auditor.report.render.sheets, "MAX_SHEET_ROWS", None) == EXCEL_ROWS
    monkeypatch.setattr(auditor.report.render.sheets, "MAX_SHEET_ROWS", 5)  # a header and 4 rows per sheet

    data = render_xlsx(context)

    names, rows, headers = _rows(data, SHEET)
    parts = -(-len(complete) // 4)
    assert len(complete) == 10 and parts == 3
    assert names == [SHEET, f"{SHEET} (2)", f"{SHEET} (3)"]
    columns = list(whole[SHEET])
    assert [row[: len(columns)] for row in rows] == complete  # every row, in order, none twice
    assert {row[len(columns):] for row in rows} <= {(), (None,)}  # the note is beside the header only
    assert list(headers[SHEET]) == [*columns, f"10 rows: continued on sheets {SHEET} (2) to {SHEET} (3)"]
    assert [list(headers[name]) for name in names[1:]] == [columns, columns]
    wb = load_workbook(BytesIO(data))
    assert [(wb[name].freeze_panes, wb[name].auto_filter.ref, wb[name].max_row) for name in names] == [
        ("A2", "A1:E5", 5), ("A2", "A1:E5", 5), ("A2", "A1:E3", 3)]


def test_a_sheet_name_with_its_number_stays_within_31_characters() -> None:
    from auditor.report.render.sheets import part_title

    assert part_title("Grants", 1) == "Grants"
    assert part_title("Grants", 12) == "Grants (12)"
    long = "Consent requests of every kind at all"
    assert part_title(long, 2) == "Consent requests of every k (2)" and len(part_title(long, 2)) == 31


@pytest.mark.parametrize(
    "text",
    ["x" * 40_000, "😀" * 20_000, "a" + "😀" * 16_383 + "tail", "é" * 33_000],
    ids=["ascii", "emoji", "emoji-straddling-the-cut", "accents"],
)
def test_a_cell_too_long_for_excel_is_cut_on_utf16_units_with_a_visible_marker(text: str) -> None:
    from auditor.report.render.sheets import fit_cell

    cut = fit_cell(text)
    assert _units(cut) <= MAX_CELL_TEXT
    assert cut.endswith(TRUNCATED)
    assert text.startswith(cut.removesuffix(TRUNCATED))
    assert _units(cut) >= MAX_CELL_TEXT - 1  # as much as fits (an emoji cut in two leaves one unit free)
    cut.encode("utf-8")  # no lone surrogate


@pytest.mark.parametrize("text", ["x" * MAX_CELL_TEXT, "😀" * (MAX_CELL_TEXT // 2), "short"])
def test_a_cell_excel_can_hold_is_kept_whole(text: str) -> None:
    from auditor.report.render.sheets import fit_cell

    assert fit_cell(text) == text


def test_the_workbook_marks_cut_cells_and_result_json_keeps_everything() -> None:
    context = samples.ordinary()
    long_message, long_evidence = "x" * 40_000, {"names": "😀" * 20_000}
    first = context.result.findings[0].model_copy(update={"message": long_message, "evidence": long_evidence})
    result = context.result.model_copy(update={"findings": [first, *context.result.findings[1:]]})
    context = type(context)(**{**context.__dict__, "result": result})

    ws = load_workbook(BytesIO(render_xlsx(context)))["Findings"]
    header = [cell.value for cell in ws[1]]
    row = [cell.value for cell in ws[2]]

    for name in ("Message", "Evidence"):
        value = row[header.index(name)]
        assert value.endswith(TRUNCATED) and _units(value) <= MAX_CELL_TEXT
    document = json.loads(result.to_json())
    assert document["findings"][0]["message"] == long_message
    assert document["findings"][0]["evidence"] == long_evidence
