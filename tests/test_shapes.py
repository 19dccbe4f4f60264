"""One validation layer for Graph answers and the snapshots that record them (issue 11): a property a
rule reads that is missing, mistyped or null, or an object filed under another object's id, makes its
source `error` (over the real HTTP path, and when a snapshot file is loaded); and, mutating recorded
answers at random, no rule that reads the mutated part ever passes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.collect import collect_snapshot
from auditor.evaluate.checks import CHECKS
from auditor.evaluate.engine import evaluate, load_rule_pack
from auditor.model.resources import DEMO_SNAPSHOT
from auditor.model.snapshot import CollectionTarget, SourceStatus
from auditor.model.snapshot_file import parse_snapshot
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import TOKEN_ENV, cli_args, live_options
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import HDM_APP_ID
from tests.test_hostile_input import _paths  # every path (keys and indexes) into a JSON value

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]
PACK = load_rule_pack(None)


def scan(cli: Cli, server: FakeGraph, out: Path) -> tuple[int, dict[str, str]]:
    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(out), "--format", "json")
    result = json.loads((out / "result.json").read_text())
    return run.code, {finding["rule_id"]: finding["status"] for finding in result["findings"]}


# -- answers over HTTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"id": "authorizationPolicy", "defaultUserRolePermissions": {}},
        {"value": [{"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": []}}]},
        {"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": None}},
        {"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": "ManagePermissionGrantsForSelf.x"}},
    ],
)
def test_an_authorization_policy_without_its_policy_list_is_an_error(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, body: dict
) -> None:
    server = fake_graph(scenarios.legacy_user_consent())
    server.fail(r"^/policies/authorizationPolicy", kind="body", body=body, times=None)

    code, statuses = scan(cli, server, tmp_path)

    assert (code, statuses["HDM-UC-01"]) == (3, "error")


def test_a_service_principal_without_appRoleAssignmentRequired_is_an_error(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = scenarios.fully_consented()
    tenant.assign_to_app(tenant.refs["app"], tenant.refs["admin"])
    del tenant.service_principal(tenant.refs["app"])["appRoleAssignmentRequired"]
    server = fake_graph(tenant)

    snapshot = collect_snapshot(live_options(server), CollectionTarget(app_id=HDM_APP_ID))

    source = snapshot.source("service_principals")
    assert source.status is SourceStatus.ERROR and source.error.code == "UnexpectedShape"
    assert "appRoleAssignmentRequired" in source.error.message and tenant.refs["app"] in source.error.message
    code, statuses = scan(cli, server, tmp_path)
    assert (code, statuses["HDM-SP-03"]) == (3, "error")


def test_users_with_limited_information_are_an_incomplete_source_not_disabled_users(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    tenant = scenarios.workflow_only()
    for user in tenant.users.values():  # what Graph answers without User.Read.All
        for key in list(user):
            if key not in ("id", "@odata.type"):
                user[key] = None
    server = fake_graph(tenant)

    snapshot = collect_snapshot(live_options(server), CollectionTarget(app_id=HDM_APP_ID))
    code, statuses = scan(cli, server, tmp_path)

    users = snapshot.source("users")
    assert users.status is SourceStatus.ERROR and "accountEnabled" in users.error.message
    assert code == 3 and "pass" not in (statuses["HDM-ACW-03"], statuses["HDM-ACW-04"]), statuses


# -- snapshot files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("authorization_policy", "HDM-UC-01"),
        ("admin_consent_request_policy", "HDM-ACW-01"),
        ("delegated_grants", "HDM-LEG-01"),
        ("service_principals", "HDM-SP-01"),
        ("consent_requests", "HDM-REQ-01"),
    ],
)
def test_a_snapshot_source_ok_with_null_data_is_an_error(cli: Cli, tmp_path: Path, source: str, rule: str) -> None:
    raw = json.loads(DEMO_SNAPSHOT.read_text(encoding="utf-8"))
    raw["sources"][source] = {"status": "ok", "data": None}
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(raw), encoding="utf-8")

    run = cli("scan", "--snapshot", str(path), "--out", str(tmp_path / "out"), "--format", "json")

    findings = json.loads((tmp_path / "out" / "result.json").read_text())["findings"]
    finding = next(f for f in findings if f["rule_id"] == rule)
    assert (run.code, finding["status"]) == (3, "error"), finding
    assert "no data (null)" in finding["message"]


# -- mutated recorded answers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded() -> Iterator[dict[str, Any]]:
    """A snapshot as the collector wrote it from a fake tenant where every kind of object is present."""
    tenant = scenarios.workflow_only()
    app = tenant.add_service_principal("HD Meeting", app_id=HDM_APP_ID, assignment_required=True)
    tenant.grant_delegated(app, tenant.refs["graph"], "User.Read Calendars.ReadWrite offline_access")
    tenant.grant_delegated(app, tenant.refs["graph"], "User.Read", principal=tenant.refs["nested_member"])
    tenant.assign_to_app(app, tenant.refs["group"])
    request = tenant.add_consent_request(HDM_APP_ID, "HD Meeting")
    tenant.add_user_consent_request(request, tenant.refs["reviewer"])
    with FakeGraph(tenant) as server, pytest.MonkeyPatch.context() as environment:
        environment.setenv(TOKEN_ENV, server.token)
        snapshot = collect_snapshot(live_options(server), CollectionTarget(app_id=HDM_APP_ID))
    assert all(source.ok for source in snapshot.sources.values())
    yield json.loads(snapshot.to_json())


# The properties the rules read, by source, as paths ("*": any index or id): the shapes of
# auditor/model/shapes.py restated, so that a property dropped from the table there makes this test fail.
EACH = "*"
_OBJECTS = {
    "service_principals": ("id", "appId", "accountEnabled", "appRoleAssignmentRequired"),
    "delegated_grants": ("id", "clientId", "consentType", "resourceId", "scope"),
    "app_role_assignments": ("id", "appRoleId", "principalId", "principalType", "resourceId"),
    "app_role_assigned_to": ("id", "appRoleId", "principalId", "principalType", "resourceId"),
    "users": ("id", "accountEnabled"),
    "role_assignments": ("id", "roleDefinitionId", "principalId", "directoryScopeId"),
    "consent_requests": ("id", "appId", "userConsentRequests"),
}
READ: dict[str, list[tuple[str, ...]]] = {
    "admin_consent_request_policy": [("isEnabled",), ("notifyReviewers",), ("remindersEnabled",),
                                     ("requestDurationInDays",), ("reviewers",), ("reviewers", EACH, "query")],
    "authorization_policy": [("defaultUserRolePermissions",),
                             ("defaultUserRolePermissions", "permissionGrantPoliciesAssigned")],
    **{source: [(EACH, key) for key in keys] for source, keys in _OBJECTS.items()},
}
READ["consent_requests"].append((EACH, "userConsentRequests", EACH, "status"))
MUTATIONS = ("drop", "retype", "null")


def _is_read(source: str, path: tuple) -> bool:
    return any(len(path) == len(pattern) and all(p in (EACH, step) for p, step in zip(pattern, path, strict=True))
               for pattern in READ[source])


def _mutable_paths(recorded: dict[str, Any]) -> list[tuple]:
    data = recorded["sources"]
    return [(name, *path) for name in READ for path in _paths(data[name]["data"]) if _is_read(name, path)]


def _mutate(raw: dict[str, Any], path: tuple, how: str) -> None:
    parent = raw["sources"][path[0]]["data"]
    for step in path[1:-1]:
        parent = parent[step]
    key = path[-1]
    if how == "drop":
        del parent[key]
    elif how == "null":
        parent[key] = None
    else:  # another JSON type: a string for a boolean, number or list; a list for a string
        parent[key] = [parent[key]] if isinstance(parent[key], str) else json.dumps(parent[key])


# Declared sources a check does not read here: HDM-REQ-01 reads the service principals only to learn the
# app id (the recorded snapshot names it); HDM-GR-03 judges app role assignments, not delegated grants.
NOT_READ_HERE = {("service_principals", "HDM-REQ-01"), ("delegated_grants", "HDM-GR-03")}


def _not_passing_readers(raw: dict[str, Any], source: str) -> dict[str, str]:
    """The statuses of the rules that read `source` (as their checks declare it)."""
    result = evaluate(parse_snapshot(json.dumps(raw)), PACK)
    return {f.rule_id: f.status.value for f in result.findings
            if source in CHECKS[f.rule_id].sources and (source, f.rule_id) not in NOT_READ_HERE}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_rule_passes_on_a_mutated_property_it_reads(recorded: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_mutable_paths(recorded)), label="path")
    how = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    raw = copy.deepcopy(recorded)
    _mutate(raw, path, how)

    statuses = _not_passing_readers(raw, path[0])

    assert "pass" not in statuses.values(), (path, how, statuses)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_no_rule_passes_on_an_object_filed_under_another_id(recorded: dict[str, Any], data: st.DataObject) -> None:
    raw = copy.deepcopy(recorded)
    users = raw["sources"]["users"]["data"]
    first, second = data.draw(st.lists(st.sampled_from(sorted(users)), min_size=2, max_size=2, unique=True))
    users[first], users[second] = users[second], users[first]

    statuses = _not_passing_readers(raw, "users")

    assert "pass" not in statuses.values(), statuses


@pytest.mark.parametrize("source", sorted(READ))
def test_a_null_list_or_object_is_never_read_as_empty(recorded: dict[str, Any], source: str) -> None:
    raw = copy.deepcopy(recorded)
    raw["sources"][source]["data"] = None

    assert "pass" not in _not_passing_readers(raw, source).values()


def test_the_recorded_snapshot_passes_where_it_should(recorded: dict[str, Any]) -> None:
    """The baseline of the mutations: its rules do pass (else the tests above would prove nothing)."""
    result = evaluate(parse_snapshot(json.dumps(recorded)), PACK)
    statuses = {f.rule_id: f.status.value for f in result.findings}
    assert statuses["HDM-UC-01"] == statuses["HDM-ACW-01"] == statuses["HDM-SP-03"] == "pass", statuses
    assert statuses["HDM-GR-01"] == statuses["HDM-GR-03"] == statuses["HDM-ACW-04"] == "pass", statuses
