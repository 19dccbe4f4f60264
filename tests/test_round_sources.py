"""What lets a typical tenant finish in two rounds, and what sends a read to a third (issue 14).

A reviewer role's user holder is recorded from the role assignment's expanded `principal` only when it
is that principal, whole (every property request 9 selects, `accountEnabled` a boolean, as Graph
expands a user); anything else is read by id in the next round (DESIGN §3: an answer that is not the
object asked for, or lacks `accountEnabled`, is never data). Request 17 comes from /beta; when /beta
does not answer, from v1.0 in the next round, and the v1.0 answer stands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from auditor.collect import collect_snapshot
from auditor.model.snapshot import CollectionTarget, Snapshot
from tests.fakegraph import scenarios
from tests.fakegraph.contract import violations
from tests.fakegraph.fixtures import live_options
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import GLOBAL_READER, HDM_APP_ID, FakeTenant

StartGraph = Callable[..., FakeGraph]
LATENCY = 0.05  # keeps requests sent together in one wave (tests/fakegraph/server.py)
# Request 9's $select (DESIGN §3: accountEnabled is returned only when selected).
SELECTED = ("id", "displayName", "userPrincipalName", "mail", "userType", "accountEnabled")
POLICY = "microsoft-user-default-low"


def _collect(server: FakeGraph) -> Snapshot:
    snapshot = collect_snapshot(live_options(server), CollectionTarget(app_id=HDM_APP_ID))
    assert violations(server.requests, server.minted_skiptokens) == []
    return snapshot


def _user_reads(server: FakeGraph, user_id: str) -> int:
    return sum(r.path == f"/users/{user_id}" for r in server.requests)


def test_a_reviewer_roles_holder_comes_whole_from_the_expansion_trimmed_to_what_request_9_selects(
    fake_graph: StartGraph,
) -> None:
    tenant = scenarios.workflow_only()
    reader = tenant.refs["reader"]
    server = fake_graph(tenant, latency=LATENCY)

    users = _collect(server).data("users")

    assert _user_reads(server, reader) == 0 and server.rounds == 2
    assert users[reader] == {name: tenant.users[reader][name] for name in SELECTED}


def _whole(tenant: FakeTenant, user_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.user", **tenant.users[user_id]}


# How an expanded principal can fail to be the whole user asked for.
SPOILED: dict[str, Callable[[FakeTenant, str], dict[str, Any]]] = {
    "another user's id": lambda tenant, user: {**_whole(tenant, user), "id": tenant.refs["reviewer"]},
    "no id": lambda tenant, user: {k: v for k, v in _whole(tenant, user).items() if k != "id"},
    "accountEnabled not expanded": lambda tenant, user: {
        k: v for k, v in _whole(tenant, user).items() if k != "accountEnabled"},
    "userPrincipalName not expanded": lambda tenant, user: {
        k: v for k, v in _whole(tenant, user).items() if k != "userPrincipalName"},
    "accountEnabled as text": lambda tenant, user: {**_whole(tenant, user), "accountEnabled": "true"},
    "limited information": lambda tenant, user: {"@odata.type": "#microsoft.graph.user", "id": user,
                                                 **{name: None for name in SELECTED if name != "id"}},
}


@pytest.mark.parametrize("spoil", sorted(SPOILED))
def test_an_expansion_that_is_not_the_whole_user_is_read_by_id_in_the_next_round(
    spoil: str, fake_graph: StartGraph
) -> None:
    tenant = scenarios.workflow_only()
    reader = tenant.refs["reader"]
    (assignment,) = [a for a in tenant.role_assignments if a["roleDefinitionId"] == GLOBAL_READER]
    server = fake_graph(tenant, latency=LATENCY)
    body = {"value": [{**assignment, "principal": SPOILED[spoil](tenant, reader)}]}
    server.fail(GLOBAL_READER, kind="body", body=body, times=None)

    users = _collect(server).data("users")

    assert _user_reads(server, reader) == 1 and server.rounds == 3
    assert users[reader] == {name: tenant.users[reader][name] for name in SELECTED}


def _policy(snapshot: Snapshot) -> dict[str, Any]:
    return snapshot.data("permission_grant_policies")[POLICY]


def test_request_17_comes_from_beta_alone_in_round_2(fake_graph: StartGraph) -> None:
    server = fake_graph(scenarios.fully_consented(), latency=LATENCY)

    policy = _policy(_collect(server))

    assert policy["apiVersion"] == "beta" and set(policy) == {"id", "apiVersion", "includes", "excludes"}
    policy_reads = [r.path for r in server.requests if "/permissionGrantPolicies/" in r.path]
    assert sorted(policy_reads) == [f"/beta/policies/permissionGrantPolicies/{POLICY}/{part}"
                                    for part in ("excludes", "includes")]
    assert server.rounds == 2


@pytest.mark.parametrize("failure", [
    {"status": 403, "times": None},  # /beta refused
    {"status": 404, "times": None},  # a proxy or replay that serves v1.0 only
    {"status": 500, "times": 1, "pattern": "excludes"},  # one half failed: both halves come from v1.0
])
def test_when_beta_does_not_answer_v1_does_in_the_next_round_and_stands(
    failure: dict[str, Any], fake_graph: StartGraph
) -> None:
    tenant = scenarios.fully_consented()
    server = fake_graph(tenant, latency=LATENCY)
    server.fail(rf"^/beta/policies/permissionGrantPolicies/.*{failure.get('pattern', '')}", failure["status"],
                times=failure["times"])

    snapshot = _collect(server)

    policy = _policy(snapshot)
    assert snapshot.source("permission_grant_policies").status.value == "ok"
    assert policy["apiVersion"] == "v1.0" and set(policy) == {"id", "apiVersion", "includes", "excludes"}
    # v1.0 omits certifiedClientApplicationsOnly; otherwise the tenant's policy as it is
    expected = tenant.permission_grant_policies[POLICY]
    strip = [{k: v for k, v in s.items() if k != "certifiedClientApplicationsOnly"} for s in expected["includes"]]
    assert policy["includes"] == strip
    assert sum(r.path == f"/policies/permissionGrantPolicies/{POLICY}/includes" for r in server.requests) == 1
    assert server.rounds == 3
