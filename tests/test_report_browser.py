"""The HTML report in a real browser (Debian's headless Chromium driven by Playwright).

Checks what only a browser can: the script runs without errors, the filters and sorting work, hostile
payloads stay inert, nothing is fetched. Screenshots go to test-artifacts/ for a person to look at.
Locally the test skips without Chromium or Playwright; in CI (CI=true) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auditor.report.render.html import render_html
from auditor.report.report_model import ReportContext
from tests import report_samples as samples

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _chromium() -> str | None:
    return os.environ.get("AUDITOR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    executable = _chromium()
    if not executable:
        _unavailable("no Chromium found (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Visit:
    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def visible_ids(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "details.finding", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.id)")


def write(ctx: ReportContext, path: Path) -> Path:
    path.write_text(render_html(ctx), encoding="utf-8")
    return path


def visit(browser: Any, path: Path, *, javascript: bool = True) -> Visit:
    page = browser.new_page(viewport={"width": 1360, "height": 900}, java_script_enabled=javascript)
    seen = Visit(page)
    page.on("console", lambda message: seen.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: seen.requests.append(request.url))
    page.goto(path.as_uri())
    return seen


@pytest.fixture
def report(browser: Any, tmp_path: Path) -> Iterator[Visit]:
    seen = visit(browser, write(samples.ordinary(), tmp_path / "report.html"))
    yield seen
    seen.page.close()


def select(seen: Visit, name: str, value: str) -> None:
    seen.page.select_option(f"#filter-{name}", value)


def test_page_loads_without_errors_and_fetches_nothing(report: Visit) -> None:
    assert report.page.evaluate("document.documentElement.classList.contains('js')")
    assert report.page.locator("#findings .toolbar").is_visible()
    assert report.errors == []
    assert [url for url in report.requests if not url.startswith("file:")] == []


def test_status_severity_and_category_filters(report: Visit) -> None:
    findings = samples.ordinary().result.findings
    every = [f.rule_id for f in findings]
    assert report.visible_ids() == every
    select(report, "status", "fail")
    assert report.visible_ids() == [f.rule_id for f in findings if f.status.value == "fail"]
    assert report.page.locator("#finding-count").inner_text() == "5 of 17 rules shown"
    select(report, "severity", "high")
    assert report.visible_ids() == ["HDM-SP-01"]
    select(report, "status", "")
    select(report, "severity", "")
    select(report, "category", "Permissions")
    assert report.visible_ids() == ["HDM-GR-01", "HDM-GR-02", "HDM-GR-03", "HDM-GR-04"]
    select(report, "category", "")
    report.page.fill("#filter-text", "megan@contoso")
    assert report.visible_ids() == ["HDM-ACW-03", "HDM-ACW-04"]
    report.page.fill("#filter-text", "no such thing")
    assert report.visible_ids() == [] and report.page.locator("#no-match").is_visible()
    report.page.fill("#filter-text", "")
    assert report.visible_ids() == every
    assert report.errors == []


def test_legend_filters_by_status(report: Visit) -> None:
    report.page.click(".legend [data-filter-status='not_applicable']")
    assert len(report.visible_ids()) == 6
    assert report.page.input_value("#filter-status") == "not_applicable"


def test_sorting_by_severity_and_back(report: Visit) -> None:
    report.page.click(".finding-head [data-sort='severity']")
    ranks = report.page.eval_on_selector_all("details.finding", "rows => rows.map(r => +r.dataset.severityRank)")
    assert ranks == sorted(ranks, reverse=True)
    report.page.click(".finding-head [data-sort='id']")
    assert report.visible_ids() == [f.rule_id for f in samples.ordinary().result.findings]


def test_fix_first_link_opens_the_finding(report: Visit) -> None:
    target = report.page.locator("#finding-HDM-ACW-03")
    assert target.get_attribute("open") is None
    report.page.click(".fix-first a[href='#finding-HDM-ACW-03']")
    assert target.get_attribute("open") is not None
    assert target.locator(".code").first.is_visible()


def test_copy_button_copies_the_command(report: Visit) -> None:
    from playwright.sync_api import expect

    report.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    finding = report.page.locator("#finding-HDM-ACW-06")
    finding.locator("> summary").click()
    button = finding.locator("button.copy").last
    button.click()
    expect(button).to_have_text("Copied")  # waits for the clipboard promise
    assert report.page.evaluate("navigator.clipboard.readText()").startswith("Update-MgPolicyAdminConsent")


def test_readable_without_javascript(browser: Any, tmp_path: Path) -> None:
    seen = visit(browser, write(samples.ordinary(), tmp_path / "report.html"), javascript=False)
    page = seen.page
    assert not page.locator("#findings .toolbar").is_visible()
    page.click("#finding-HDM-ACW-03 > summary")
    assert page.locator("#finding-HDM-ACW-03 .evidence").is_visible()
    page.close()


def test_hostile_payloads_do_not_run(browser: Any, tmp_path: Path) -> None:
    seen = visit(browser, write(samples.hostile(), tmp_path / "hostile.html"))
    page = seen.page
    page.click("#expand-all")
    for link in page.locator("a[data-open]").all()[:2]:
        link.click()
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert seen.dialogs == []
    assert seen.errors == []
    assert [url for url in seen.requests if not url.startswith("file:")] == []
    assert samples.XSS_IMG in page.locator("header").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "report-hostile.png"))
    page.close()


def test_demo_tenant_report(browser: Any, tmp_path: Path) -> None:
    """The report of the embedded demo tenant, made by the real pipeline (`auditor scan --demo`)."""
    subprocess.run([sys.executable, "-m", "auditor", "scan", "--demo", "--format", "html", "--out", str(tmp_path)],
                   check=False, capture_output=True, timeout=120)
    seen = visit(browser, tmp_path / "report.html")
    page = seen.page
    assert page.locator("details.finding").count() == 17
    page.select_option("#filter-status", "pass")
    shown = page.eval_on_selector_all("details.finding", "rows => rows.filter(r => !r.hidden).length")
    assert 0 < shown < 17
    page.select_option("#filter-status", "")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-demo.png"), full_page=True)
    assert seen.errors == []
    page.close()


def test_screenshots(report: Visit) -> None:
    """The full page as a reader sees it (one finding open), and once as printed."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = report.page
    page.click("#finding-HDM-ACW-03 > summary")
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.locator("#finding-HDM-REQ-01 .finding-body").is_visible()  # a closed failure, yet printed
    assert not page.locator("#finding-HDM-GR-01 .finding-body").is_visible()  # not applicable: one line
    assert not page.locator("#findings .toolbar").is_visible()
    page.screenshot(path=str(ARTIFACTS / "report-print.png"), full_page=True)
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000
    assert report.errors == []
