"""Sheets of an XlsxWriter workbook, rows written in order (a large one streams them in constant-memory mode):
styled cells whose text is always text (never a formula), free of secrets and of characters XML cannot hold,
within Excel's limits; and tables with a frozen, filterable header that continue on numbered sheets
("Grants", "Grants (2)", …) when longer than a sheet holds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any, NamedTuple

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from auditor.model.errors import redact
from auditor.report.render.common import display

# Characters XML 1.0 cannot hold.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Text that Excel, or a spreadsheet importing it, could take for a formula or a DDE command.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SPECIAL_STARTS = (*FORMULA_PREFIXES, "<r>")  # text that needs more than a plain string cell (see Sheet._text)
MAX_CELL_TEXT = 32_767  # Excel's limit, in UTF-16 code units (an emoji takes two)
TRUNCATED = "… truncated — full text in result.json"
MAX_SHEET_ROWS = 1_048_576  # Excel's limit, the header row included

NAVY = "1F3864"
NOTE_RED = "C00000"
# Status fills (pass green, fail red, error orange, n/a grey) with a readable text colour on each.
TONE_FILLS = {"pass": "C6EFCE", "fail": "FFC7CE", "error": "F8CBAD", "not_applicable": "E7E6E6"}
TONE_FONTS = {"pass": "006100", "fail": "9C0006", "error": "833C0B", "not_applicable": "3A3A3A"}
VERTICAL = {"top": "top", "center": "vcenter"}
# The writer only ever gets typed calls (write_string, write_number, …); these also keep its generic
# `write` from ever turning text into a formula, a number or a link.
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
# Up to this many rows in its longest table, a workbook is built in memory; longer, it streams (constant-memory
# mode: each sheet's rows go to a temporary file as they are written). Streaming costs ~24 temporary files per
# workbook, ~70 ms to delete on this project's disks: most of a small tenant's workbook.
IN_MEMORY_ROWS = 5_000


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

    def properties(self, quote: bool) -> dict[str, Any]:
        """XlsxWriter format properties; `quote`: Excel keeps formula-like text as text when the cell is edited."""
        colour = TONE_FONTS[self.tone] if self.tone else self.colour
        fill = TONE_FILLS[self.tone] if self.tone else self.fill
        wanted = {
            "valign": VERTICAL[self.vertical], "align": self.horizontal, "text_wrap": self.wrap, "bold": self.bold,
            "font_color": colour and f"#{colour}", "font_size": self.size, "num_format": self.number_format,
            "pattern": 1 if fill else None, "bg_color": fill and f"#{fill}", "quote_prefix": quote,
        }
        return {key: value for key, value in wanted.items() if value}


PLAIN = Style()
WRAP = Style(wrap=True)
BOLD = Style(bold=True)
LINK = Style(wrap=True, colour="0563C1")
HEADER = Style(bold=True, colour="FFFFFF", fill=NAVY, wrap=True, vertical="center")
DATE_FORMAT = "yyyy-mm-dd hh:mm"
DATE = Style(number_format=DATE_FORMAT)


class Cell(NamedTuple):
    """A value with a style, and a link (an http(s) URL that `safe_url` let through). A row may also hold
    plain values: text, numbers, yes/no, lists (one item per line), dates, or None for an empty cell."""

    value: Any
    style: Style | None = None
    url: str | None = None


def link(text: str, url: str | None) -> Cell:
    """A cell that opens `url`, showing `text`."""
    return Cell(text, LINK if url else WRAP, url)


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


LINE_HEIGHT = 15  # points per line of 11-point text
MAX_ROW_HEIGHT = 409  # Excel's limit, in points


def wrapped_lines(text: str, width: float) -> int:
    """Lines a wrapped cell takes: a column `width` holds about `width` characters of 11-point Calibri."""
    per_line = max(1, int(width))
    return sum(max(1, -(-len(line) // per_line)) for line in text.split("\n"))


class Book:
    """A workbook being written, with each style's format built once (XlsxWriter formats belong to one workbook)."""

    def __init__(self, rows: int) -> None:
        """`rows`: how many rows its longest table has."""
        self._out = BytesIO()
        mode = {"in_memory": True} if rows <= IN_MEMORY_ROWS else {"constant_memory": True}
        self.workbook = xlsxwriter.Workbook(self._out, {**WORKBOOK_OPTIONS, **mode})
        self._formats: dict[tuple[Style, bool], Format] = {}

    def format(self, style: Style | None, quote: bool = False) -> Format | None:
        if style is None and not quote:
            return None
        key = (style or PLAIN, quote)
        if key not in self._formats:
            self._formats[key] = self.workbook.add_format(key[0].properties(quote))
        return self._formats[key]

    def sheet(self, title: str, widths: Sequence[float]) -> Sheet:
        return Sheet(self, self.workbook.add_worksheet(title), widths)

    def close(self) -> bytes:
        self.workbook.close()
        return self._out.getvalue()


class Sheet:
    """A worksheet written row after row, set up to print landscape on A4, as wide as one page."""

    def __init__(self, book: Book, ws: Worksheet, widths: Sequence[float]) -> None:
        self.book, self.ws, self.widths = book, ws, list(widths)
        self.rows = 0  # rows written so far
        for index, width in enumerate(widths):
            ws.set_column(index, index, width)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)  # one page wide, as many down as it takes
        ws.hide_gridlines(0)  # gridlines shown, and printed

    def append(self, values: Sequence[Any]) -> None:
        """Write the next row, tall enough for its wrapped text (Excel does not fit rows written by a program)."""
        row, lines = self.rows, 1
        for column, value in enumerate(values):
            if type(value) is str:  # most cells of a large table: plain, unstyled text
                value = clean(value)
                if not value.startswith(SPECIAL_STARTS):
                    self.ws.write_string(row, column, value)
                    continue
            text = self._write(row, column, value)
            if text and ("\n" in text or len(text) > self._width(column)):
                lines = max(lines, wrapped_lines(text, self._width(column)))
        if lines > 1:
            self.ws.set_row(row, min(LINE_HEIGHT * lines, MAX_ROW_HEIGHT))
        self.rows += 1

    def _width(self, column: int) -> float:
        return self.widths[column] if column < len(self.widths) else 8.43

    def _write(self, row: int, column: int, value: Any) -> str | None:
        """Write one cell; returns its text when the cell wraps (its row's height depends on it)."""
        style = url = None
        if type(value) is Cell:
            value, style, url = value
        if isinstance(value, str):
            return self._text(row, column, value, style, url)
        if isinstance(value, list):
            return self._text(row, column, "\n".join(str(item) for item in value), style, url)
        if isinstance(value, bool):
            return self._text(row, column, display(value), style, url)
        fmt = self.book.format(style)
        if value is None:
            self.ws.write_blank(row, column, None, fmt)
        elif isinstance(value, datetime):
            self.ws.write_datetime(row, column, value, fmt or self.book.format(DATE))
        else:
            self.ws.write_number(row, column, value, fmt)
        return None

    def _text(self, row: int, column: int, value: str, style: Style | None, url: str | None) -> str | None:
        value = clean(value)
        risky = value.startswith(FORMULA_PREFIXES)  # stored as text, and quoted for Excel's editor
        fmt = self.book.format(style, risky)
        if value.startswith("<r>") and value.endswith("</r>"):
            # XlsxWriter would copy this text into the file as XML (it takes it for a rich string of its own):
            # written as plain runs, it is escaped like any other text.
            self.ws.write_rich_string(row, column, value[:1], value[1:2], value[2:], *([fmt] if fmt else []))
        elif not (url and self.ws.write_url(row, column, url, fmt, value) == 0):
            self.ws.write_string(row, column, value, fmt)  # also when the URL is longer than Excel's limit
        return value if style is not None and style.wrap else None


def header_cells(headers: Iterable[str]) -> list[Cell]:
    return [Cell(text, HEADER) for text in headers]


def part_title(title: str, part: int) -> str:
    """The name of a table's `part`-th sheet: "Grants", "Grants (2)", … within Excel's 31 characters."""
    suffix = f" ({part})" if part > 1 else ""
    return title[: 31 - len(suffix)] + suffix


def table_sheet(
    book: Book, title: str, columns: Sequence[tuple[str, float]], rows: Iterable[Sequence[Any]], total: int
) -> tuple[Sheet, int]:
    """A table of `total` rows on sheets with a styled, frozen, filterable header row: one sheet, or as many
    as Excel's row limit needs ("Grants", "Grants (2)", …, the first saying so beside its header). Returns
    the first sheet and the number of data rows."""
    per_sheet = MAX_SHEET_ROWS - 1
    parts = max(1, -(-total // per_sheet))
    note = f"{total:,} rows: continued on sheets {part_title(title, 2)} to {part_title(title, parts)}"
    first = sheet = _table_part(book, title, columns, note if parts > 1 else None)
    count = 0
    for row in rows:
        if sheet.rows > per_sheet:
            _close_part(sheet, columns)
            sheet = _table_part(book, part_title(title, count // per_sheet + 1), columns)
        count += 1
        sheet.append(row)
    _close_part(sheet, columns)
    return first, count


def _table_part(book: Book, title: str, columns: Sequence[tuple[str, float]], note: str | None = None) -> Sheet:
    sheet = book.sheet(title, [width for _, width in columns])
    sheet.ws.freeze_panes(1, 0)
    sheet.ws.repeat_rows(0)  # the header row prints on every page
    extra = [Cell(note, Style(bold=True, colour=NOTE_RED))] if note else []
    sheet.append([*header_cells(header for header, _ in columns), *extra])
    return sheet


def _close_part(sheet: Sheet, columns: Sequence[tuple[str, float]]) -> None:
    sheet.ws.autofilter(0, 0, sheet.rows - 1, len(columns) - 1)
