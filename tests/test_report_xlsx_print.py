"""The demo workbook as a consultant uses it: every wrapped cell readable, real links, a print setup, and
LibreOffice (Debian's libreoffice-calc, installed by .ci/run) printing the Findings sheet to a PDF whose text
holds every rule id. Locally the conversion test skips without LibreOffice; in CI (CI=true) it fails."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from auditor.evaluate.engine import load_rule_pack

RULE_IDS = [rule.id for rule in load_rule_pack(None).rules]
POINTS_PER_LINE = 15  # Excel's default row height for 11-point Calibri


@pytest.fixture(scope="module")
def demo_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, "-m", "auditor", "scan", "--demo", "--format", "xlsx", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr  # the demo's HDM-SP-01 fails until the first approval
    return out / "report.xlsx"


def _header(ws: Worksheet) -> list[str]:
    return [cell.value for cell in ws[1]]


def _width(ws: Worksheet, column: int) -> float:
    """The width of a column, also when the file gives one `<col min max>` to neighbours of the same width
    (openpyxl then keys the range by its first column only)."""
    ranges = ws.column_dimensions.values()
    return next(dim.width for dim in ranges if dim.min is not None and dim.min <= column <= dim.max)


def _lines(text: str, width: float) -> int:
    """Wrapped lines, counted independently of the renderer: a column of width w shows w characters."""
    return sum(max(1, math.ceil(len(line) / int(width))) for line in text.split("\n"))


def test_every_wrapped_cell_fits_its_row(demo_workbook: Path) -> None:
    ws = load_workbook(demo_workbook)["Findings"]
    checked = 0
    for row in ws.iter_rows(min_row=2):
        height = ws.row_dimensions[row[0].row].height
        for cell in row:
            if isinstance(cell.value, str) and cell.alignment.wrap_text and "\n" in cell.value:
                width = _width(ws, cell.column)
                assert height is not None and height >= POINTS_PER_LINE * _lines(cell.value, width), (
                    f"{row[0].value} {_header(ws)[cell.column - 1]}: {height} pt")
                checked += 1
    assert checked > 3 * len(RULE_IDS)  # steps, commands and evidence of most rules span several lines


def test_evidence_reads_as_name_value_lines(demo_workbook: Path) -> None:
    ws = load_workbook(demo_workbook)["Findings"]
    evidence = {row[0]: row[_header(ws).index("Evidence")] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert evidence["HDM-ACW-06"] == "remindersEnabled: no"
    assert evidence["HDM-ACW-07"] == "requestDurationInDays: 30\nAllowed min: 7\nAllowed max: 30"
    assert "Derek Whitman (derek.whitman@northwindclinics.onmicrosoft.com)" in evidence["HDM-ACW-03"]
    assert not any(text and text.lstrip().startswith(("{", "[")) for text in evidence.values())


def test_people_are_named_display_name_and_upn(demo_workbook: Path) -> None:
    ws = load_workbook(demo_workbook)["Findings"]
    messages = {row[0]: row[_header(ws).index("Message")] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert "Derek Whitman (derek.whitman@northwindclinics.onmicrosoft.com): user is disabled" in messages["HDM-ACW-03"]
    assert "from Dr. Amelia Chen (amelia.chen@northwindclinics.onmicrosoft.com)" in messages["HDM-REQ-01"]
    assert messages["HDM-SP-01"].startswith("Not consented yet — the first approval creates it. No service principal")


def test_links_are_hyperlinks(demo_workbook: Path) -> None:
    wb = load_workbook(demo_workbook)
    findings = wb["Findings"]
    references = _header(findings).index("References") + 1
    targets = [findings.cell(row, references).hyperlink for row in range(2, len(RULE_IDS) + 2)]
    assert all(link is not None and link.target.startswith("https://learn.microsoft.com/") for link in targets)
    summary = wb["Summary"]
    consent = next(row[1] for row in summary.iter_rows() if row[0].value == "Admin consent link")
    assert consent.hyperlink.target == (
        "https://login.microsoftonline.com/9637ff4c-4575-4b96-a318-5c366e9683f1/adminconsent"
        "?client_id=f5aebf55-87f5-4e6d-af2d-2f523ef587e9")


def test_print_setup(demo_workbook: Path) -> None:
    wb = load_workbook(demo_workbook)
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1)  # left out, it is 1 (ECMA-376 Part 1, CT_PageSetup)
        assert ws.page_setup.fitToHeight == 0  # as many pages down as it takes
    findings = wb["Findings"]
    assert findings.print_title_rows == "$1:$1"  # the header row repeats on every page
    assert findings.print_area == f"'Findings'!$A$1:$F${len(RULE_IDS) + 1}"  # ID to Evidence


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _printed_text(workbook: Path, out: Path) -> str:
    """The text of the PDF LibreOffice prints from `workbook` (skipped locally without LibreOffice)."""
    soffice = _soffice()
    if not soffice:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (libreoffice-calc) is not installed", pytrace=False)
        pytest.skip("no LibreOffice (apt-get install libreoffice-calc)")
    from pypdf import PdfReader

    profile = out / "profile"  # a private profile: no clash with another LibreOffice running
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(out), str(workbook)],
        capture_output=True, text=True, timeout=240, check=False)
    pdf = out / f"{workbook.stem}.pdf"
    assert done.returncode == 0 and pdf.exists(), done.stderr
    return "\n".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def test_libreoffice_prints_findings_searchable(demo_workbook: Path, tmp_path: Path) -> None:
    text = _printed_text(demo_workbook, tmp_path)
    for rule_id in RULE_IDS:
        assert rule_id in text, rule_id
    assert "Hannah Okafor (hannah.okafor@northwindclinics.onmicrosoft.com)" in text


def test_libreoffice_reads_a_streamed_workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large tenant's workbook is streamed (XlsxWriter's constant-memory mode, text stored inline rather than
    as shared strings): LibreOffice must read it as it reads the demo's."""
    import auditor.report.render.sheets
    from auditor.model.resources import DEMO_SNAPSHOT
    from auditor.model.snapshot_file import load_snapshot
    from auditor.report.render.xlsx import render_xlsx
    from auditor.report.reporting import build_report

    monkeypatch.setattr(auditor.report.render.sheets, "IN_MEMORY_ROWS", 0)
    workbook = tmp_path / "streamed.xlsx"
    workbook.write_bytes(render_xlsx(build_report(load_snapshot(DEMO_SNAPSHOT), load_rule_pack(None), None)))
    with zipfile.ZipFile(workbook) as archive:
        assert "xl/sharedStrings.xml" not in archive.namelist()  # inline strings: the streamed form
    text = _printed_text(workbook, tmp_path)
    for rule_id in RULE_IDS:
        assert rule_id in text, rule_id
    assert "Hannah Okafor (hannah.okafor@northwindclinics.onmicrosoft.com)" in text
