"""Property-based: whatever a file or a tenant contains, the result is a report or one InputError line."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.engine import evaluate
from auditor.errors import InputError
from auditor.facts import TenantFacts
from auditor.reporting import ReportFormat, build_report, render
from auditor.resources import DEMO_SNAPSHOT
from auditor.reviewer_query import ReviewerKind, parse_reviewer_query
from auditor.rulepack import load_rule_pack, parse_rule_pack
from auditor.snapshot import parse_snapshot
from auditor.tables import build_tables

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
    assert set(files) == {"report.html", "report.xlsx", "result.json", "report.junit.xml"}


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
