"""The Excel workbook: opens in openpyxl and pandas, every sheet filterable, formula-like tenant text inert."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from datetime import datetime
from io import BytesIO

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

import auditor.report.render.sheets
from auditor.report.render.sheets import FORMULA_PREFIXES
from auditor.report.render.xlsx import render_xlsx
from auditor.report.reporting import build_report
from tests import report_samples as samples
from tests.factory import Tenant, default_pack

SHEETS = ["Summary", "Paths", "Findings", "Changes", "Grants", "Per-user grants", "App permissions", "Reviewers",
          "Consent requests", "Leftovers", "Sources"]
TABLE_SHEETS = SHEETS[1:]


@pytest.fixture(scope="module")
def ordinary_bytes() -> bytes:
    return render_xlsx(samples.ordinary())


@pytest.fixture(scope="module")
def hostile_bytes() -> bytes:
    return render_xlsx(samples.hostile())


def workbook(data: bytes) -> Workbook:
    return load_workbook(BytesIO(data))


def header(ws: Worksheet) -> list[str]:
    return [c.value for c in ws[1]]


def column(ws: Worksheet, name: str) -> list[object]:
    index = header(ws).index(name)
    return [row[index] for row in ws.iter_rows(min_row=2, values_only=True)]


def test_sheets_open_in_openpyxl_and_pandas(ordinary_bytes: bytes) -> None:
    assert workbook(ordinary_bytes).sheetnames == SHEETS
    frames = pd.read_excel(BytesIO(ordinary_bytes), sheet_name=None)
    assert list(frames) == SHEETS
    assert len(frames["Findings"]) == 17
    assert len(frames["Reviewers"]) == 3 and len(frames["Sources"]) == 7


@pytest.mark.parametrize("name", TABLE_SHEETS)
def test_table_sheets_have_a_frozen_styled_filtered_header(ordinary_bytes: bytes, name: str) -> None:
    ws = workbook(ordinary_bytes)[name]
    assert ws.freeze_panes == "A2"
    first = ws["A1"]
    assert first.font.bold and first.fill.fgColor.rgb.endswith("1F3864")
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
    assert all(ws.column_dimensions[c.column_letter].width > 8 for c in ws[1])


def test_findings_sheet_has_the_consultant_columns(ordinary_bytes: bytes) -> None:
    ws = workbook(ordinary_bytes)["Findings"]
    assert header(ws) == ["ID", "Title", "Severity", "Status", "Message", "Evidence", "Steps", "Microsoft Graph",
                          "Microsoft Graph PowerShell", "Category", "Frameworks", "References", "Risk acceptance",
                          "Owner", "Due date", "Remediation status"]
    assert column(ws, "ID") == [f.rule_id for f in samples.ordinary().result.findings]
    assert set(column(ws, "Owner")) == {None, "it-security@contoso.com"}
    assert column(ws, "Microsoft Graph PowerShell")[0].startswith("Update-MgPolicyAdminConsentRequestPolicy -IsEnabled")
    assert column(ws, "Steps")[0].startswith("1. ") and "PowerShell" not in column(ws, "Steps")[0]
    assert column(ws, "Severity")[0] == "High"
    assert column(ws, "Frameworks")[0] == "CIS M365: 5.1.5.2\nScubaGear: MS.AAD.5.3v1\nEIDSCA: EIDSCA.CR01"
    validation = ws.data_validations.dataValidation[0]
    assert validation.formula1 == '"Open,In progress,Done,Accepted risk"' and "P2:P18" in str(validation.sqref)
    assert ws["E2"].alignment.wrap_text


def test_risk_acceptance_fills_the_consultant_columns(ordinary_bytes: bytes) -> None:
    ws = workbook(ordinary_bytes)["Findings"]
    row = dict(zip(header(ws), next(r for r in ws.iter_rows(values_only=True) if r[0] == "HDM-ACW-06"), strict=True))
    assert row["Risk acceptance"].startswith("Risk accepted until 2025-06-30 by it-security@contoso.com")
    assert (row["Owner"], row["Due date"], row["Remediation status"]) == (
        "it-security@contoso.com", datetime(2025, 6, 30), "Accepted risk")


def test_changes_sheet_only_with_a_previous_scan(ordinary_bytes: bytes) -> None:
    ws = workbook(ordinary_bytes)["Changes"]
    rows = {row[0]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["HDM-REQ-01"][3:6] == ("Regressed", "Pass", "Fail")
    assert rows["HDM-ACW-01"][3:6] == ("Improved", "Fail", "Pass")
    assert len(rows) == 17
    plain = render_xlsx(replace(samples.ordinary(), drift=None))
    assert "Changes" not in workbook(plain).sheetnames


def test_status_cells_are_coloured(ordinary_bytes: bytes) -> None:
    ws = workbook(ordinary_bytes)["Findings"]
    fills = {row[3].value: row[3].fill.fgColor.rgb[-6:] for row in ws.iter_rows(min_row=2)}
    assert fills == {"Pass": "C6EFCE", "Fail": "FFC7CE", "Not applicable": "E7E6E6"}
    hostile = workbook(render_xlsx(samples.hostile()))["Findings"]
    assert {row[3].fill.fgColor.rgb[-6:] for row in hostile.iter_rows(min_row=2) if row[3].value == "Error"} == {
        "F8CBAD"}


def test_summary_shows_verdict_score_counts_and_a_chart(ordinary_bytes: bytes) -> None:
    ws = workbook(ordinary_bytes)["Summary"]
    rows = list(ws.iter_rows(values_only=True))
    values = {row[0]: row[1] for row in rows if row[0]}  # the facts in A:B
    values |= {row[3]: row[4] for row in rows if len(row) > 4 and row[3]}  # the counts in D:E
    assert values["Verdict"] == "Ready via the admin consent workflow"
    assert values["Score (0–100)"] == 54.5
    assert values["Tenant"] == "Contoso Ltd" and values["Prepared by"] == "Fabrikam Consulting · J. Doe"
    assert values["Collected at (UTC)"] == datetime(2025, 5, 12, 8, 30)
    assert "global consent" in values["Next steps"]
    assert (values["Fail"], values["Error"], values["Pass"], values["Not applicable"]) == (5, 0, 6, 6)
    assert values["Medium"] == 3  # failing medium rules, first count column of the severity table
    with zipfile.ZipFile(BytesIO(ordinary_bytes)) as archive:
        assert any(name.startswith("xl/charts/chart") for name in archive.namelist())


def test_tenant_tables_hold_typed_values(ordinary_bytes: bytes) -> None:
    wb = workbook(ordinary_bytes)
    requests = wb["Consent requests"]
    assert column(requests, "Created")[0] == datetime(2025, 4, 29, 22, 55)
    assert column(requests, "Age (days)") == [12.4, 3.0]
    assert column(requests, "Overdue") == ["yes", "no"]
    reviewers = wb["Reviewers"]
    assert column(reviewers, "Enabled users")[2] == "adele@contoso.com\nalex@contoso.com"
    assert reviewers.cell(3, header(reviewers).index("Resolved") + 1).fill.fgColor.rgb.endswith("FFC7CE")


# --- safety ------------------------------------------------------------------------------------


def test_formula_like_text_is_stored_as_text(hostile_bytes: bytes) -> None:
    wb = workbook(hostile_bytes)
    risky = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith(FORMULA_PREFIXES)]
    assert len(risky) > 50
    assert {c.data_type for c in risky} == {"s"}
    assert all(c.quotePrefix for c in risky)
    assert samples.FORMULA in column(wb["Grants"], "Client")


def test_no_formula_or_external_link_in_the_file(hostile_bytes: bytes) -> None:
    with zipfile.ZipFile(BytesIO(hostile_bytes)) as archive:
        names = archive.namelist()
        sheets = [archive.read(name).decode() for name in names if name.startswith("xl/worksheets/")]
    assert not [name for name in names if "externalLink" in name]
    assert sheets and not any(re.search(r"<f[ >]", xml) for xml in sheets)
    assert not any("evil.example" in xml and "<hyperlink" in xml for xml in sheets)


def test_control_characters_are_replaced_not_fatal(hostile_bytes: bytes) -> None:
    frames = pd.read_excel(BytesIO(hostile_bytes), sheet_name=None)
    clients = list(frames["Grants"]["Client"])
    assert "Ctrl\ufffd\ufffd\ufffd\ufffd\ufffd-name\ufffd" in clients
    assert samples.XSS_IMG in clients and samples.FORMULA in clients


def test_large_tables_keep_every_row() -> None:
    data = render_xlsx(samples.large(20_000))
    per_user = pd.read_excel(BytesIO(data), sheet_name="Per-user grants", keep_default_na=False)
    assert list(per_user.columns) == ["Client", "User id", "Resource", "Scopes", "Outside allowed scopes"]
    assert len(per_user) == 20_000
    first, second = per_user.iloc[0].to_dict(), per_user.iloc[1].to_dict()
    assert first["Scopes"] == "User.Read Calendars.ReadWrite offline_access Files.Read.All"
    assert first["Outside allowed scopes"] == "Files.Read.All"
    assert (second["User id"], second["Outside allowed scopes"]) == ("user-000001", "")
    with zipfile.ZipFile(BytesIO(data)) as archive:
        number = workbook(data).sheetnames.index("Per-user grants") + 1
        sheet = archive.read(f"xl/worksheets/sheet{number}.xml").decode()
    assert '<autoFilter ref="A1:E20001"' in sheet


def test_paths_sheet_one_row_per_path_with_reasons_and_approvers(ordinary_bytes: bytes) -> None:
    paths = pd.read_excel(BytesIO(ordinary_bytes), sheet_name="Paths", keep_default_na=False)
    assert list(paths.columns) == ["Path", "State", "Why", "Who can approve"]
    assert list(paths["State"]) == ["Closed", "Closed", "Open"]
    assert paths["Who can approve"][2].splitlines() == [
        "Alice Admin (alice@contoso.com): Cloud Application Administrator",
        "Pat Pim (pat@contoso.com): Application Administrator via App Approvers <b> (activate in PIM first)",
    ]


def test_a_per_user_grant_of_the_app_gets_one_row_with_its_scopes_joined() -> None:
    tenant = Tenant()  # HD Meeting consented tenant-wide to three scopes
    user_id = tenant.add_per_user_grant("Paul Peruser", scope="User.Read Files.Read.All")
    leftover = tenant.add_service_principal("HD Meeting (old)")
    tenant.grant("User.Read", consent_type="Principal", client=leftover, principal_id=user_id)
    data = render_xlsx(build_report(tenant.build(), default_pack(), None))
    frames = pd.read_excel(BytesIO(data), sheet_name=None, keep_default_na=False)
    assert frames["Per-user grants"].to_dict("records") == [
        {"Client": "HD Meeting", "User id": user_id, "Resource": "Microsoft Graph",
         "Scopes": "User.Read Files.Read.All", "Outside allowed scopes": "Files.Read.All"},
    ]
    grants = frames["Grants"]
    assert list(zip(grants["Client"], grants["Consent type"], grants["Scope"], strict=True)) == [
        ("HD Meeting", "AllPrincipals", "User.Read"),
        ("HD Meeting", "AllPrincipals", "Calendars.ReadWrite"),
        ("HD Meeting", "AllPrincipals", "offline_access"),
        ("HD Meeting (old)", "Principal", "User.Read"),  # a leftover's per-user grant stays here
    ]


def test_grants_sheet_keeps_one_row_per_tenant_wide_scope() -> None:
    grants = pd.read_excel(BytesIO(render_xlsx(samples.large(10))), sheet_name="Grants")
    hd_meeting = grants[grants["Client"] == "HD Meeting"]
    assert list(hd_meeting["Scope"]) == ["User.Read", "Calendars.ReadWrite", "offline_access"]
    assert set(hd_meeting["Consent type"]) == {"AllPrincipals"}
    assert len(grants) == 2 + 3  # the leftover's two scopes, HD Meeting's three; no per-user grant




@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "constant-memory"])
def test_text_that_looks_like_the_writers_own_xml_stays_text(monkeypatch: pytest.MonkeyPatch, streamed: bool) -> None:
    """XlsxWriter copies a string that starts with <r> and ends with </r> into the file's XML as it is (it takes
    it for a rich string it built): a tenant name like this must not add a formula, in either mode."""
    if streamed:
        monkeypatch.setattr(auditor.report.render.sheets, "IN_MEMORY_ROWS", 0)
    injected = '<r><t>x</t></r></is><f>HYPERLINK("http://evil.example","y")</f><is><r><t>z</t></r>'
    context = samples.ordinary()
    grants = [replace(row, client=injected) for row in context.tables.grants]
    data = render_xlsx(replace(context, tables=replace(context.tables, grants=grants)))
    assert set(column(workbook(data)["Grants"], "Client")) == {injected}
    with zipfile.ZipFile(BytesIO(data)) as archive:
        parts = [archive.read(name).decode() for name in archive.namelist()
                 if name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml"]
    assert parts and not any(re.search(r"<f[ >]", xml) for xml in parts)
