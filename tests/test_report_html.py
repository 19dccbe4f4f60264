"""The HTML report: complete, self-contained, and inert against hostile tenant data (parsed, not grepped)."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser

import pytest

from auditor.model.resources import REPORTS_DIR
from auditor.model.result import Verdict
from auditor.report.render.common import GLOBAL_CONSENT_STEP, VERDICTS, grant_summary
from auditor.report.render.html import TABLE_ROW_LIMIT, render_html
from auditor.report.render.remediation import Block, remediation_blocks
from tests import report_samples as samples


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Page(HTMLParser):
    """The parsed page: every element with its attributes, and the text content of each."""

    elements: list[Element] = field(default_factory=list)
    open_elements: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in {"meta", "input", "br", "circle", "rect", "path"}:
            self.open_elements.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open_elements) - 1, -1, -1):
            if self.open_elements[index].tag == tag:
                del self.open_elements[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.open_elements:
            element.text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())]

    def with_class(self, name: str) -> list[Element]:
        return [e for e in self.elements if name in e.attrs.get("class", "").split()]

    @property
    def text(self) -> str:
        return self.find("body")[0].text


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def ordinary() -> Page:
    return parse(render_html(samples.ordinary()))


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render_html(samples.hostile())


@pytest.fixture(scope="module")
def hostile(hostile_html: str) -> Page:
    return parse(hostile_html)


def test_every_finding_is_shown_with_its_details(ordinary: Page) -> None:
    findings = samples.ordinary().result.findings
    rows = ordinary.with_class("finding")
    assert [row.attrs["data-id"] for row in rows] == [f.rule_id for f in findings]
    for row, finding in zip(rows, findings, strict=True):
        assert row.attrs["id"] == f"finding-{finding.rule_id}"
        assert row.attrs["data-status"] == finding.status.value
        assert row.attrs["data-severity"] == finding.severity.value
        assert finding.message in row.text
        assert finding.title in row.text


def test_verdict_banner_next_steps_and_consent_link(ordinary: Page) -> None:
    banner = ordinary.find("section", id="verdict")[0]
    assert "Ready via the admin consent workflow" in banner.text
    assert "HD Meeting is not consented yet, and that is expected" in banner.text
    assert GLOBAL_CONSENT_STEP in banner.text
    assert next(a.attrs["href"] for a in ordinary.with_class("button")) == samples.CONSENT_URL


@pytest.mark.parametrize("verdict", list(Verdict))
def test_each_verdict_in_plain_words(verdict: Verdict) -> None:
    ctx = samples.ordinary()
    page = parse(render_html(replace(ctx, result=ctx.result.model_copy(update={"verdict": verdict}))))
    banner = page.find("section", id="verdict")[0]
    assert VERDICTS[verdict].headline in banner.text
    assert GLOBAL_CONSENT_STEP in banner.text
    assert ("Grant tenant-wide admin consent" in banner.text) == (verdict is not Verdict.READY)


def test_accepted_risk_is_shown_and_not_in_fix_first(ordinary: Page) -> None:
    acw06 = ordinary.find("details", id="finding-HDM-ACW-06")[0]
    assert "Risk accepted" in acw06.text
    assert "Risk accepted until 2025-06-30 by it-security@contoso.com" in acw06.text
    fix_first = ordinary.with_class("fix-first")[0].text
    assert "HDM-ACW-03" in fix_first and "HDM-ACW-06" not in fix_first


def test_not_consented_yet_is_the_open_paths_next_step_not_a_fix_first_failure(ordinary: Page) -> None:
    # The ordinary tenant is ready via the workflow; SP-01 fails only because nobody approved yet: Fix first
    # shows it as the path's next step (first, no failure pill), the banner says why the scan still exits 1.
    fix_first = ordinary.with_class("fix-first")[0].text
    next_steps = [li.text for li in ordinary.with_class("next-step")]
    assert next_steps == ["Next stepHDM-SP-01Not consented yet — the first approval creates it: "
                          "HD Meeting's service principal exists"]
    assert fix_first.index("HDM-SP-01") < fix_first.index("HDM-ACW-03") and fix_first.count("HDM-SP-01") == 1
    workflow = ordinary.with_class("lane--pass")[0].text
    assert "Not consented yet — the first approval creates it" in workflow and "HDM-SP-01" in workflow
    exit_note = ordinary.with_class("verdict-exit")[0].text
    assert "HDM-SP-01 (high) fails, so a scan gated on that severity exits 1" in exit_note
    sp01 = ordinary.find("details", id="finding-HDM-SP-01")[0].text
    assert "Not consented yet — the first approval creates it" in sp01


def test_consent_paths_lanes_with_states_reasons_and_approvers(ordinary: Page) -> None:
    lanes = ordinary.find("section", id="paths")[0].text
    titles = [h.text for h in ordinary.find("h3") if h.attrs.get("id", "").startswith("lane-")]
    assert titles == ["Consent already granted", "Users consent for themselves",
                      "Users ask, an approver approves (admin consent workflow)"]
    states = [" ".join(e.text.split()) for e in ordinary.elements
              if e.tag == "span" and "pill" in e.attrs.get("class", "") and e.text in ("Open", "Closed", "Unknown")]
    assert states == ["Closed", "Closed", "Open"]
    approvers = [" ".join(li.text.split()) for li in ordinary.find("li") if "contoso.com)" in li.text]
    assert approvers == [
        "Alice Admin (alice@contoso.com) Cloud Application Administrator",
        "Pat Pim (pat@contoso.com) Application Administrator via App Approvers <b> activate in PIM first",
    ]
    assert "microsoft-user-default-low" in lanes


def test_changes_since_the_previous_scan(ordinary: Page) -> None:
    changes = ordinary.find("section", id="changes")[0]
    assert "Blocked → Ready via the admin consent workflow" in " ".join(changes.text.split())
    rows = [" ".join(tr.text.split()) for tr in ordinary.find("tr") if "HDM-" in tr.text and "Regressed" in tr.text]
    assert rows == ["HDM-REQ-01 No stale consent requests Medium Regressed Pass Fail"]
    plain = parse(render_html(replace(samples.ordinary(), drift=None)))
    assert not plain.find("section", id="changes")


def test_title_prepared_by_and_collection_facts(ordinary: Page) -> None:
    assert ordinary.find("h1")[0].text == "HD Meeting readiness report"
    facts = ordinary.find("section", id="tenant")[0].text
    for expected in ("Contoso Ltd", samples.TENANT_ID, "2025-05-12 08:30 UTC", "0.1.0", "hd-meeting 1.0.0",
                     "https://graph.microsoft.com/v1.0", "Fabrikam Consulting · J. Doe"):
        assert expected in facts
    assert "Fabrikam Consulting" in ordinary.find("header")[0].text


def test_charts_are_inline_svg_with_counts(ordinary: Page) -> None:
    labels = [svg.attrs.get("aria-label", "") for svg in ordinary.find("svg")]
    assert "Score 54.5 out of 100" in labels
    assert "Fail 5, Error 0, Pass 6, Not applicable 6" in labels
    assert "Fail 1, Error 0, Pass 3, Not applicable 3" in labels  # the high-severity bar


def test_evidence_shapes(ordinary: Page) -> None:
    acw03 = ordinary.find("details", id="finding-HDM-ACW-03")[0]
    table = next(e for e in ordinary.with_class("mini") if "Megan Bowen" in e.text)
    assert "App approvers" in table.text and "Megan Bowen" in acw03.text
    headers = [th.text for th in ordinary.find("th", scope="col")]
    assert {"Query", "Kind", "Enabled users"} <= set(headers)
    acw07 = ordinary.find("details", id="finding-HDM-ACW-07")[0]
    assert "requestDurationInDays" in acw07.text and "Allowed min" in acw07.text


def test_long_evidence_lists_are_capped(hostile: Page) -> None:
    assert "… and 275 more" in hostile.text


def test_remediation_commands_are_copyable_code_blocks(ordinary: Page) -> None:
    codes = ordinary.with_class("code")
    assert len(codes) == 2 * len(samples.ordinary().result.findings)
    assert len(ordinary.with_class("copy")) == len(codes)
    assert ordinary.find("code")[0].text.startswith("PATCH https://graph.microsoft.com/v1.0/policies/")
    assert ordinary.find("code")[1].text.startswith("Update-MgPolicyAdminConsentRequestPolicy")


def test_remediation_steps_notes_and_commands() -> None:
    blocks = remediation_blocks(samples.REMEDIATION)
    assert [(b.kind, b.label) for b in blocks] == [
        ("steps", ""), ("code", "Microsoft Graph"), ("code", "Microsoft Graph PowerShell")]
    assert blocks[0].items[2].startswith("Under Admin consent settings, set 'Users can request")
    assert blocks[1].text.endswith('"requestDurationInDays": 30}')  # the body stays with its request


def test_remediation_hard_wrapped_text_from_a_rule_pack() -> None:
    text = (
        "1. Sign in as a\n   Global Administrator.\n2. Select Save.\nOnly active assignments\ncount.\n\n"
        "Microsoft Graph:\nPUT replaces the whole policy: send\nevery property.\n\n"
        "PATCH https://graph.microsoft.com/v1.0/x\nContent-Type: application/json\n\n{ \"a\": 1 }\n\n"
        "Or remove it:\n\nDELETE https://graph.microsoft.com/v1.0/x\n\n"
        "Microsoft Graph PowerShell:\nConnect-MgGraph -Scopes \"X\"\n\n$a = 1\nRemove-MgX -Id $a"
    )
    blocks = remediation_blocks(text)
    assert [(b.kind, b.text or b.items) for b in blocks] == [
        ("steps", ["Sign in as a Global Administrator.", "Select Save."]),
        ("text", "Only active assignments count."),
        ("note", "PUT replaces the whole policy: send every property."),
        ("code", 'PATCH https://graph.microsoft.com/v1.0/x\nContent-Type: application/json\n\n{ "a": 1 }'),
        ("note", "Or remove it:"),
        ("code", "DELETE https://graph.microsoft.com/v1.0/x"),
        ("code", 'Connect-MgGraph -Scopes "X"\n\n$a = 1\nRemove-MgX -Id $a'),
    ]
    assert remediation_blocks("Plain advice.") == [Block("text", "Plain advice.")]


def test_references_and_frameworks(ordinary: Page) -> None:
    links = [a.attrs["href"] for a in ordinary.find("a") if a.attrs.get("rel") == "noopener noreferrer"]
    assert samples.REFERENCES[0] in links
    assert "EIDSCA.CR01" in ordinary.find("details", id="finding-HDM-ACW-01")[0].text


def test_tenant_tables(ordinary: Page) -> None:
    for key in ("grants", "per_user_grants", "app_permissions", "reviewers", "consent_requests", "leftovers"):
        assert ordinary.find("section", id=key), key
    assert "full_access_as_app" in ordinary.find("section", id="app_permissions")[0].text
    assert "2025-04-29 22:55" in ordinary.find("section", id="consent_requests")[0].text


def test_large_tables_are_capped_with_a_summary() -> None:
    ctx = samples.large(20_000)
    page = parse(render_html(ctx))
    per_user = page.find("section", id="per_user_grants")[0]
    tables = [t for t in page.find("table") if "data" in t.attrs.get("class", "")]
    every_grant = next(t for t in tables if "user-000000" in t.text)
    assert every_grant.text.count("user-0") == TABLE_ROW_LIMIT
    assert "User.Read Calendars.ReadWrite offline_access Files.Read.All" in every_grant.text
    assert f"Showing the first {TABLE_ROW_LIMIT} of 20,000 rows" in per_user.text
    grants = page.find("section", id="grants")[0]
    summary = next(t for t in tables if "Files.Read.All" in t.text and "user-0" not in t.text)
    assert "Files.Read.All" in grants.text and "20000" in summary.text  # at a glance, in the Grants section
    counts = {(row["Consent type"], row["Scope"], row["Allowed"]): row["Grants"]
              for row in grant_summary(ctx) if row["Client"] == "HD Meeting"}
    assert counts[("Principal", "Calendars.ReadWrite", True)] == 20_000  # one per user who consented
    assert counts[("Principal", "Files.Read.All", False)] == 1
    assert counts[("AllPrincipals", "User.Read", True)] == 1


def test_unread_sources_name_the_missing_permission(hostile: Page) -> None:
    callout = hostile.with_class("callout")[0]
    assert "ConsentRequest.Read.All" in callout.text and "consent_requests" in callout.text


# --- safety ------------------------------------------------------------------------------------


def test_hostile_names_are_inert_text(hostile: Page) -> None:
    for payload in (samples.XSS_IMG, samples.XSS_SCRIPT, samples.XSS_SVG, samples.XSS_ATTR, samples.FORMULA):
        assert payload in hostile.text
    assert not hostile.find("img")
    assert not hostile.find("iframe")
    handlers = [(e.tag, name) for e in hostile.elements for name in e.attrs if name.startswith("on")]
    assert handlers == []
    assert "autofocus" not in {name for e in hostile.elements for name in e.attrs}


def test_only_our_script_runs(hostile: Page) -> None:
    scripts = hostile.find("script")
    assert len(scripts) == 1
    ours = (REPORTS_DIR / "report.js").read_text(encoding="utf-8")
    assert scripts[0].text == ours and not scripts[0].attrs
    digest = base64.b64encode(hashlib.sha256(ours.encode()).digest()).decode()
    csp = hostile.find("meta", **{"http-equiv": "Content-Security-Policy"})[0].attrs["content"]
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp


def test_links_are_fragments_or_web_links_only(hostile: Page) -> None:
    hrefs = [e.attrs["href"] for e in hostile.elements if "href" in e.attrs]
    assert hrefs and all(re.match(r"#|https?://", href) for href in hrefs)
    assert not any("javascript" in href.lower() for href in hrefs)
    assert not any("xss" in href for href in hrefs)


def test_self_contained(hostile_html: str, hostile: Page) -> None:
    assert not hostile.find("link")
    assert not [e for e in hostile.elements if "src" in e.attrs]
    assert "@import" not in hostile_html and "url(" not in hostile_html.split("<body")[0]


def test_hostile_data_attributes_stay_quoted(hostile: Page) -> None:
    categories = {e.attrs["data-category"] for e in hostile.with_class("finding")}
    assert any(samples.XSS_ATTR in category for category in categories)
