"""The demo report's layout in a real browser: on a desktop (1400 px), on a phone (400 px) and on A4 paper.

Screenshots (and the printed PDF) go to test-artifacts/ for a person to look at; the tests assert what a
reader would notice: a word split inside an identifier, boxes drawn over each other, too many pages.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_report_browser import ARTIFACTS, browser  # noqa: F401  (the shared Chromium fixture)

MAX_PRINTED_PAGES = 8
A4_CONTENT_WIDTH = 711  # CSS px between the @page margins (210 mm - 2 x 11 mm)
WIDER_THAN_PAPER = """() => [...document.querySelectorAll("table, pre, .lane, .finding")]
  .filter(e => e.checkVisibility() && e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + "." + e.className + " in " + (e.closest("[id]") || {}).id)"""
LANE_TITLES = ("Consent already granted", "Users consent for themselves", "Users ask, an approver approves")

# Pairs of adjacent characters inside a word (letters, digits, underscore) that sit on different lines.
SPLIT_WORDS = """() => {
  const word = /[A-Za-z0-9_]/;
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.data;
    if (text.trim().length < 2 || !node.parentElement.checkVisibility()) continue;
    range.selectNodeContents(node);
    if (range.getClientRects().length < 2) continue;  // on one line: nothing to split
    let previous = null;
    for (let i = 0; i < text.length; i++) {
      range.setStart(node, i); range.setEnd(node, i + 1);
      const box = range.getClientRects()[0];
      if (!box) { previous = null; continue; }
      if (previous && word.test(text[i - 1]) && word.test(text[i]) && box.top > previous.bottom - 2) {
        found.push(text.slice(Math.max(0, i - 20), i) + "|" + text.slice(i, i + 20));
      }
      previous = box;
    }
  }
  return found;
}"""

# Visible boxes of the things a reader looks at, and every pair of them that overlaps (neither inside the
# other in the DOM), plus anything wider than the viewport outside a horizontally scrolling container.
OVERLAPS = """() => {
  const selector = ".pill, .sev, .tag, .c-id, .c-title, .c-category, .mono, h1, h2, h3, h4, .button, "
    + ".fix-title, .legend li, .donut, .brand, .masthead-meta div, .toc a, .steps li, .reasons li, "
    + ".approvers li, .message, .kv th, .kv td, .fw-name, .fw-id, .verdict-icon";
  const boxes = [...document.querySelectorAll(selector)]
    .filter(e => e.checkVisibility() && !e.closest(".scroll, pre, .toc"))
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([, r]) => r.width > 0 && r.height > 0);
  const label = e => e.tagName.toLowerCase() + "." + [...e.classList].join(".")
    + " «" + e.textContent.trim().slice(0, 30) + "»";
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    const [a, ra] = boxes[i];
    for (let j = i + 1; j < boxes.length; j++) {
      const [b, rb] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 1 && h > 1) overlaps.push(label(a) + " × " + label(b));
    }
  }
  const wide = boxes.filter(([, r]) => r.right > window.innerWidth + 1 || r.left < -1).map(([e]) => label(e));
  return {overlaps, wide, pageWidth: document.documentElement.scrollWidth};
}"""


def _plain(text: str) -> str:
    """PDF text as compared: ligatures undone, whitespace collapsed, upper case (CSS upper-cases headings)."""
    return " ".join(text.replace("\ufb01", "fi").replace("\ufb02", "fl").split()).upper()


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-html")
    done = subprocess.run([sys.executable, "-m", "auditor", "scan", "--demo", "--format", "html", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    return out / "report.html"


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:  # noqa: F811
    pages: list[Any] = []

    def make(path: Path, width: int) -> Any:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.as_uri())
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.close()


def test_no_word_is_broken_inside_an_identifier_at_1400px(demo_report: Path, open_page: Any) -> None:
    page = open_page(demo_report, 1400)
    page.click("#expand-all")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-demo-1400.png"), full_page=True)
    assert page.evaluate(SPLIT_WORDS) == []


def test_nothing_overlaps_at_400px(demo_report: Path, open_page: Any) -> None:
    page = open_page(demo_report, 400)
    page.click("#expand-all")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-demo-400.png"), full_page=True)
    layout = page.evaluate(OVERLAPS)
    assert layout["overlaps"] == []
    assert layout["wide"] == [] and layout["pageWidth"] <= 400
    masthead = page.locator(".masthead").bounding_box()
    assert masthead["height"] < 0.3 * 900  # the verdict shows on the first screen
    assert page.locator("#verdict h2").bounding_box()["y"] < 900


def test_demo_prints_on_at_most_8_a4_pages_with_the_story_on_page_1(demo_report: Path, open_page: Any) -> None:
    from pypdf import PdfReader

    page = open_page(demo_report, 1400)
    pdf = page.pdf(format="A4", print_background=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-demo.pdf").write_bytes(pdf)
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "report-demo-print.png"), full_page=True)
    # Nothing wider than the paper: Chromium would shrink every page to fit it (unreadably small) or cut it.
    page.set_viewport_size({"width": A4_CONTENT_WIDTH, "height": 1000})
    assert page.evaluate("document.documentElement.scrollWidth") <= A4_CONTENT_WIDTH
    assert page.evaluate(WIDER_THAN_PAPER) == []
    pages = [_plain(p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) <= MAX_PRINTED_PAGES
    first = pages[0]
    for text in ("Ready via the admin consent workflow", "Fix first", "HDM-ACW-03",  # the first real fix
                 "Not consented yet — the first approval creates it", "How HD Meeting can be consented here",
                 *LANE_TITLES):
        assert _plain(text) in first, text
    printed = " ".join(pages)
    assert "RULES BY SEVERITY" in printed  # the severity chart prints
    for rule in ("HDM-ACW-01", "HDM-LEG-01", "HDM-GR-04"):
        assert rule in printed
