"""Property-based: whatever a file or a tenant contains, the result is a report or one InputError line."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from auditor.collect.options import LiveOptions
from auditor.evaluate.engine import evaluate, load_rule_pack, parse_rule_pack
from auditor.evaluate.facts import TenantFacts
from auditor.evaluate.reviewer_query import ReviewerKind, parse_reviewer_query
from auditor.fleet.tenants_file import COLUMNS, load_tenants
from auditor.model.errors import InputError
from auditor.model.graph_objects import scopes
from auditor.model.resources import DEMO_SNAPSHOT
from auditor.model.snapshot_file import parse_snapshot
from auditor.report.reporting import ReportFormat, build_report, render
from auditor.report.tables import build_tables
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import HDM_APP_ID, user_query

PACK = load_rule_pack()
DEMO = json.loads(DEMO_SNAPSHOT.read_text())

odd_text = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=("Cs",)), max_size=40
) | st.sampled_from(["<script>alert(1)</script>", "=HYPERLINK(\"http://evil.example\",\"x\")", "\x00", "é" * 500])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


DEMO_PATHS = [path for path in _paths(DEMO) if path]


def _replace(node: Any, path: tuple, value: Any) -> Any:
    copy = json.loads(json.dumps(node))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(DEMO_PATHS), json_values), min_size=1, max_size=4))
def test_a_snapshot_with_hostile_values_loads_and_evaluates_or_is_rejected(
    changes: list[tuple[tuple, Any]],
) -> None:
    data = DEMO
    for path, value in changes:
        try:
            data = _replace(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    try:
        snapshot = parse_snapshot(json.dumps(data), origin="snap.json")
    except InputError as error:
        assert "\n" not in str(error)
        return
    result = evaluate(snapshot, PACK)
    assert len(result.findings) == len(PACK.rules)
    build_tables(TenantFacts(snapshot, PACK.parameters))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["users", "groups", "service_principals", "delegated_grants", "consent_requests",
                        "role_assignments", "admin_consent_request_policy"]), json_values)
def test_hostile_graph_objects_still_render_every_format(source: str, value: Any) -> None:
    data = json.loads(json.dumps(DEMO))
    objects = data["sources"][source]["data"]
    if isinstance(objects, list) and objects:
        objects[0]["displayName"] = value
    elif isinstance(objects, dict) and objects:
        first = next(iter(objects))
        if isinstance(objects[first], dict):
            objects[first]["displayName"] = value
    snapshot = parse_snapshot(json.dumps(data))
    files = render(build_report(snapshot, PACK, None), list(ReportFormat))
    assert set(files) == {"report.html", "report.xlsx", "result.json", "report.junit.xml", "remediation.ps1"}


@given(st.text(max_size=300) | json_values)
def test_any_yaml_text_is_a_pack_or_one_line_error(text: Any) -> None:
    try:
        parse_rule_pack(text if isinstance(text, str) else json.dumps(text), origin="pack.yaml")
    except InputError as error:
        assert "\n" not in str(error)


@given(st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_json_text_is_a_snapshot_or_one_line_error(text: str) -> None:
    try:
        parse_snapshot(text, origin="snap.json")
    except InputError as error:
        assert "\n" not in str(error)


@given(json_values)
def test_reviewer_query_parser_never_crashes(query: Any) -> None:
    parsed = parse_reviewer_query(query)
    assert parsed.kind in ReviewerKind
    if parsed.kind is not ReviewerKind.UNKNOWN:
        assert parsed.id and len(parsed.id) == 36


# -- scopes: any `scope` value parses; matching is case-insensitive and whitespace-proof ---------------

GRAPH_SP_ID = "4727bd9c-7fa0-4999-be78-786df7227811"  # Microsoft Graph in the demo tenant
REQUIRED = [scope.lower() for scope in PACK.parameters.required_graph_scopes]
ALLOWED = [scope.lower() for scope in PACK.parameters.allowed_graph_scopes]


def _any_case(word: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    return flips.map(lambda upper: "".join(c.upper() if up else c for c, up in zip(word, upper, strict=True)))


scope_tokens = st.sampled_from(ALLOWED).flatmap(_any_case) | odd_text.filter(lambda t: t.split() == [t])


def _with_app_grant(scope: Any) -> dict[str, Any]:
    """The demo tenant with HD Meeting's service principal, consented tenant-wide on Graph for `scope`."""
    data = json.loads(json.dumps(DEMO))
    app = {"id": "0d9f3c1e-5b7a-4c2d-9e8f-1a2b3c4d5e6f", "appId": data["target"]["app_id"],
           "displayName": "HD Meeting", "accountEnabled": True, "appRoleAssignmentRequired": False}
    data["sources"]["service_principals"]["data"].append(app)
    data["sources"]["delegated_grants"]["data"].append(
        {"id": "grant-1", "clientId": app["id"], "consentType": "AllPrincipals", "resourceId": GRAPH_SP_ID,
         "principalId": None, "scope": scope})
    return data


@given(json_values)
def test_any_scope_value_parses_into_clean_tokens(value: Any) -> None:
    tokens = scopes({"scope": value})
    assert all(token and token.split() == [token] for token in tokens)
    assert scopes({"scope": " ".join(tokens)}) == tokens


@settings(max_examples=60, deadline=None)
@given(st.lists(scope_tokens, max_size=8), st.lists(st.sampled_from([" ", "  ", "\t", "\n"]), min_size=9, max_size=9))
def test_scopes_match_whatever_their_case_and_spacing(tokens: list[str], gaps: list[str]) -> None:
    scope = gaps[0] + "".join(token + gap for token, gap in zip(tokens, gaps[1:], strict=False))
    result = evaluate(parse_snapshot(json.dumps(_with_app_grant(scope))), PACK)
    statuses = {finding.rule_id: finding.status.value for finding in result.findings}
    granted = {token.lower() for token in tokens}
    assert statuses["HDM-GR-01"] == ("pass" if granted >= set(REQUIRED) else "fail")
    assert statuses["HDM-GR-02"] == ("pass" if granted <= set(ALLOWED) else "fail")


# -- the tenants file of `auditor fleet` ----------------------------------------------------------------

SAFE_FOLDER = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
cell_text = odd_text | st.sampled_from(["token", "secret", "global", "china", "http://127.0.0.1:1/v1.0",
                                        "https://graph.microsoft.com/v1.0", "..", "CON", "fleet.json",
                                        "../../etc", HDM_APP_ID, "AUDITOR_TOKEN_B", "=cmd|' /c calc'!A1"])


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    # Python 3.10's csv writer cannot write NUL (3.11's can): raw text with NULs is drawn below instead.
    csv.writer(buffer).writerows([[cell.replace("\x00", "") for cell in row] for row in rows])
    return buffer.getvalue()


def _table(header: list[str]) -> st.SearchStrategy[str]:
    rows = st.lists(st.lists(cell_text, min_size=1, max_size=len(header) + 1), min_size=1, max_size=4)
    return rows.map(lambda cells: _csv([header, *cells]))


headers = st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=5, unique=True)
tenants_csv = (headers | st.lists(st.sampled_from([*COLUMNS, "Extra", ""]), min_size=1, max_size=4)).flatmap(_table)


@settings(max_examples=150, deadline=None)
@given(tenants_csv | st.text(max_size=300))
def test_any_tenants_file_is_tenants_with_safe_folders_or_one_line_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tenants.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            tenants = load_tenants(path, LiveOptions(quiet=True))
        except InputError as error:
            assert "\n" not in str(error)
            return
    assert tenants
    assert all(SAFE_FOLDER.match(tenant.folder) for tenant in tenants)
    assert len({tenant.folder.lower() for tenant in tenants}) == len(tenants)


# -- huge strings and odd Unicode from Graph, end to end -------------------------------------------------

HOSTILE = "\u202e<script>alert(1)</script><img src=x onerror=alert(2)>\x00\u200b\U0001f4a9\ufffe"
HUGE_NAME = "HD Meeting " + HOSTILE * 40_000  # ~2 MB, a look-alike of the app: evidence and Leftovers table
FORMULA_NAME = "=HYPERLINK(\"http://evil.example\",\"Rita\")"


def test_huge_and_hostile_graph_values_reach_every_report_inertly(
    cli: Callable[..., Run], fake_graph: Callable[..., FakeGraph], tmp_path: Path
) -> None:
    tenant = scenarios.fully_consented()
    tenant.add_service_principal(HUGE_NAME)
    reviewer = tenant.add_user(FORMULA_NAME)
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    server = fake_graph(tenant)

    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path))

    assert run.code in (0, 1), run.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    leftovers = next(f for f in result["findings"] if f["rule_id"] == "HDM-LEG-01")["evidence"]["leftovers"]
    assert HUGE_NAME in [leftover["displayName"] for leftover in leftovers]  # whole, for machines
    html = (tmp_path / "report.html").read_text()
    assert html.count("<script") == 1 and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    workbook = load_workbook(tmp_path / "report.xlsx")
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert not [cell for cell in cells if cell.data_type == "f"]  # no formula, from the tenant or anyone
    assert any(cell.value.startswith("HD Meeting \u202e<script>") for cell in cells)
    assert any(cell.value.startswith(f"{FORMULA_NAME} (=hyperlink(") for cell in cells)  # "Name (UPN)", as text
