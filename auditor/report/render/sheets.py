"""Sheets of a write-only openpyxl workbook: styled cells that are always text (never a formula), free of
secrets and of characters XML cannot hold, within Excel's limits; and tables with a frozen, filterable header
that continue on numbered sheets ("Grants", "Grants (2)", …) when longer than a sheet holds."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from auditor.model.errors import redact
from auditor.report.render.common import display

# Characters XML 1.0 cannot hold (openpyxl raises IllegalCharacterError on most of them).
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Text that Excel, or a spreadsheet importing it, could take for a formula or a DDE command.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_TEXT = 32_767  # Excel's limit, in UTF-16 code units (an emoji takes two)
TRUNCATED = "… truncated — full text in result.json"
MAX_SHEET_ROWS = 1_048_576  # Excel's limit, the header row included

NAVY = "1F3864"
NOTE_RED = "C00000"
FONT = "Calibri"  # the workbook default: a Font without a name falls back to another face elsewhere
# Status fills (pass green, fail red, error orange, n/a grey) with a readable text colour on each.
TONE_FILLS = {"pass": "C6EFCE", "fail": "FFC7CE", "error": "F8CBAD", "not_applicable": "E7E6E6"}
TONE_FONTS = {"pass": "006100", "fail": "9C0006", "error": "833C0B", "not_applicable": "3A3A3A"}


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
    """Cell text: no secret the process holds, no character XML cannot hold, within Excel's cell limit."""
    return fit_cell(ILLEGAL_XML.sub("\ufffd", redact(text)))


def fit_cell(text: str) -> str:
    """`text` if Excel can hold it, else cut (never inside a surrogate pair) to end with the TRUNCATED marker."""
    if len(text) <= MAX_CELL_TEXT // 2:  # at most two UTF-16 units per character: fits
        return text
    units = text.encode("utf-16-le")
    if len(units) // 2 <= MAX_CELL_TEXT:
        return text
    keep = units[: 2 * (MAX_CELL_TEXT - len(TRUNCATED))]
    if 0xD8 <= keep[-1] <= 0xDB:  # the high half of a surrogate pair: drop it with its partner
        keep = keep[:-2]
    return keep.decode("utf-16-le") + TRUNCATED


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


LINK = Style(wrap=True, colour="0563C1")


def link(ws: WriteOnlyWorksheet, text: str, url: str | None) -> Any:
    """A cell that opens `url` (an http(s) link that `safe_url` let through), showing `text`."""
    out = cell(ws, text, LINK if url else WRAP)
    if url:
        out.hyperlink = url
    return out


def header_cells(ws: WriteOnlyWorksheet, headers: Sequence[str]) -> list[WriteOnlyCell]:
    return [cell(ws, text, HEADER) for text in headers]


RowMaker = Callable[[WriteOnlyWorksheet], Iterable[list[Any]]]
LINE_HEIGHT = 15  # points per line of 11-point text
MAX_ROW_HEIGHT = 409  # Excel's limit, in points


def wrapped_lines(value: Any, width: float) -> int:
    """Lines a wrapped cell takes: a column `width` holds about `width` characters of 11-point Calibri."""
    per_line = max(1, int(width))
    return sum(max(1, -(-len(line) // per_line)) for line in str(value).split("\n"))


def append_row(ws: WriteOnlyWorksheet, number: int, row: list[Any], widths: Sequence[float]) -> None:
    """Append row `number`, tall enough for its wrapped text (openpyxl cannot ask Excel to fit it)."""
    lines = max(
        (wrapped_lines(c.value, width) for c, width in zip(row, widths, strict=False)
         if isinstance(c, Cell) and c.value is not None and c.alignment.wrap_text),
        default=1,
    )
    if lines > 1:
        ws.row_dimensions[number].height = min(LINE_HEIGHT * lines, MAX_ROW_HEIGHT)
    ws.append(row)


def sheet(wb: Workbook, title: str, widths: Sequence[float]) -> WriteOnlyWorksheet:
    ws = wb.create_sheet(title)
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.gridLines = True
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return ws


def part_title(title: str, part: int) -> str:
    """The name of a table's `part`-th sheet: "Grants", "Grants (2)", … within Excel's 31 characters."""
    suffix = f" ({part})" if part > 1 else ""
    return title[: 31 - len(suffix)] + suffix


def table_sheet(
    wb: Workbook, title: str, columns: Sequence[tuple[str, int]], make_rows: RowMaker, total: int
) -> tuple[WriteOnlyWorksheet, int]:
    """A table of `total` rows on sheets with a styled, frozen, filterable header row: one sheet, or as many
    as Excel's row limit needs ("Grants", "Grants (2)", …, the first saying so beside its header). Returns
    the first sheet and the number of data rows."""
    per_sheet = MAX_SHEET_ROWS - 1
    parts = max(1, -(-total // per_sheet))
    note = f"{total:,} rows: continued on sheets {part_title(title, 2)} to {part_title(title, parts)}"
    first = ws = _table_part(wb, title, columns, note if parts > 1 else None)
    count = on_sheet = 0
    for row in make_rows(first):
        if on_sheet == per_sheet:
            _close_part(ws, columns, on_sheet)
            ws, on_sheet = _table_part(wb, part_title(title, count // per_sheet + 1), columns), 0
        count += 1
        on_sheet += 1
        append_row(ws, on_sheet + 1, row, [width for _, width in columns])
    _close_part(ws, columns, on_sheet)
    return first, count


def _table_part(
    wb: Workbook, title: str, columns: Sequence[tuple[str, int]], note: str | None = None
) -> WriteOnlyWorksheet:
    ws = sheet(wb, title, [width for _, width in columns])
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    extra = [cell(ws, note, Style(bold=True, colour=NOTE_RED))] if note else []
    ws.append([*header_cells(ws, [header for header, _ in columns]), *extra])
    return ws


def _close_part(ws: WriteOnlyWorksheet, columns: Sequence[tuple[str, int]], rows: int) -> None:
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{rows + 1}"
