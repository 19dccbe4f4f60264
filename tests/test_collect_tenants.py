"""collect_snapshot against fake tenants: what lands in the snapshot, and which requests were made."""

from __future__ import annotations

from typing import Any

import pytest

from auditor import __version__
from auditor.collect import RetryPolicy, collect_snapshot
from auditor.collect.live import DEFAULT_CONSENT_CAPABLE_ROLE_IDS
from auditor.model.snapshot import CollectionTarget, Snapshot, SourceStatus
from auditor.model.snapshot_file import parse_snapshot
from tests.fakegraph import fixtures, scenarios
from tests.fakegraph.contract import violations
from tests.fakegraph.fixtures import live_options
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import (
    APPLICATION_ADMINISTRATOR,
    EXCHANGE_ONLINE_APP_ID,
    GLOBAL_READER,
    HDM_APP_ID,
    MICROSOFT_GRAPH_APP_ID,
    FakeTenant,
    role_query,
)

fake_graph = fixtures.fake_graph
TARGET = CollectionTarget(app_id=HDM_APP_ID)
NO_WAITING = RetryPolicy(max_attempts=4, max_wait=0.0, max_total_wait=1.0, backoff=0.0)


def collect(server: FakeGraph, target: CollectionTarget = TARGET, **options: Any) -> Snapshot:
    snapshot = collect_snapshot(live_options(server, **options), target, retry_policy=NO_WAITING)
    assert violations(server.requests, server.minted_skiptokens) == []
    return snapshot


def ids(objects: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in objects}


def requested_paths(server: FakeGraph) -> list[str]:
    return [r.path for r in server.requests if r.path != "/$batch"]


def test_fully_consented_tenant_in_two_round_trips(fake_graph):
    tenant = scenarios.fully_consented()
    server = fake_graph(tenant)

    snapshot = collect(server)

    assert all(source.status is SourceStatus.OK for source in snapshot.sources.values())
    assert snapshot.tenant.id == tenant.id and snapshot.tenant.display_name == "Fabrikam"
    assert snapshot.graph_url == server.base_url
    assert snapshot.tool.version == __version__
    # What was looked for, and the consent-capable roles whose holders were read (the default pack's four).
    assert snapshot.target == TARGET.model_copy(update={"consent_role_ids": list(DEFAULT_CONSENT_CAPABLE_ROLE_IDS)})
    assert snapshot.collected_at.tzinfo is not None
    sps = snapshot.data("service_principals")
    assert {sp["appId"] for sp in sps} == {HDM_APP_ID, MICROSOFT_GRAPH_APP_ID, EXCHANGE_ONLINE_APP_ID}
    graph = next(sp for sp in sps if sp["appId"] == MICROSOFT_GRAPH_APP_ID)
    assert "Calendars.ReadWrite" in {scope["value"] for scope in graph["oauth2PermissionScopes"]}
    (grant,) = snapshot.data("delegated_grants")
    assert grant["id"] == tenant.refs["grant"] and grant["consentType"] == "AllPrincipals"
    assert grant["scope"].split() == ["User.Read", "Calendars.ReadWrite", "offline_access", "openid", "profile"]
    assert snapshot.data("admin_consent_request_policy")["isEnabled"] is False
    assert "@odata.context" not in snapshot.data("authorization_policy")
    # A consent-capable role's holder matters only as a reviewer: not read on its own; the assignment
    # carries its principal ($expand=principal) so that groups are told from users in the same round.
    assert tenant.refs["admin"] not in snapshot.data("users")
    held = [a for a in snapshot.data("role_assignments") if a["principalId"] == tenant.refs["admin"]]
    assert held and held[0]["principal"]["@odata.type"] == "#microsoft.graph.user"
    # Everything in $batch calls, two rounds: round 2 reads the user consent policy from /beta in a $batch
    # of its own beside the v1.0 one; grants are read for the app only.
    assert server.http_requests == 3
    top_level = [(r.method, r.path) for r in server.requests if not r.in_batch]
    assert sorted(top_level) == [("POST", "/$batch"), ("POST", "/$batch"), ("POST", "/beta/$batch")]
    sp_lists = {p for p in requested_paths(server) if p.startswith("/servicePrincipals/")}
    assert sp_lists == {f"/servicePrincipals/{tenant.refs['app']}/{rel}"
                        for rel in ("oauth2PermissionGrants", "appRoleAssignments", "appRoleAssignedTo")} | {
        f"/servicePrincipals/{tenant.refs['graph']}/delegatedPermissionClassifications"  # of Graph alone
    }


def test_snapshot_round_trips_through_json_without_the_token(fake_graph):
    server = fake_graph(scenarios.workflow_only())

    snapshot = collect(server)
    text = snapshot.to_json()

    assert parse_snapshot(text) == snapshot
    assert server.token not in text


def test_workflow_reviewers_users_groups_roles_and_their_holders(fake_graph):
    tenant = scenarios.workflow_only()
    refs = tenant.refs
    server = fake_graph(tenant, latency=0.05)  # keeps requests sent together in one round (fakegraph/server.py)

    snapshot = collect(server)

    users, groups, members = snapshot.data("users"), snapshot.data("groups"), snapshot.data("group_members")
    # the user reviewer and the principals of the reviewer roles (not Grace, who holds a role but reviews nothing)
    assert refs["admin"] not in users
    for name in ("reviewer", "scoped_admin", "reader"):
        assert users[refs[name]]["id"] == refs[name] and "accountEnabled" in users[refs[name]]
    assert all(key == key.lower() for key in [*users, *groups, *members])
    # group reviewer: transitive members, users and the nested group, with their @odata.type
    assert groups[refs["group"]]["displayName"] == "App Approvers"
    by_id = {m["id"]: m for m in members[refs["group"]]}
    assert set(by_id) == {refs["inner_group"], refs["nested_member"], refs["disabled_member"]}
    assert by_id[refs["nested_member"]]["@odata.type"] == "#microsoft.graph.user"
    assert by_id[refs["inner_group"]]["@odata.type"] == "#microsoft.graph.group"
    assert by_id[refs["disabled_member"]]["accountEnabled"] is False
    # a role-assignable group holding a consent-capable role: its expanded principal says "group", so it is
    # read as one (with who may join it through PIM) in the round after, never tried as a user
    assert refs["role_group"] not in users
    assert groups[refs["role_group"]]["isAssignableToRole"] is True
    assert [m["id"] for m in members[refs["role_group"]]] == [refs["role_member"]]
    # role assignments: consent-capable roles and reviewer roles, app-scoped ones kept as they are
    assignments = {a["id"]: a for a in snapshot.data("role_assignments")}
    assert assignments[refs["scoped_assignment"]]["directoryScopeId"] == f"/{refs['scoped_object']}"
    assert assignments[refs["group_assignment"]]["principalId"] == refs["role_group"]
    assert {a["roleDefinitionId"] for a in assignments.values()} >= {APPLICATION_ADMINISTRATOR, GLOBAL_READER}
    # the app's consent request with who asked; an unrelated app's request is left out
    (consent_request,) = snapshot.data("consent_requests")
    assert consent_request["id"] == refs["consent_request"]
    (asked,) = consent_request["userConsentRequests"]
    assert asked["status"] == "InProgress" and asked["createdBy"]["user"]["id"] == refs["asker"]
    # the unknown reviewer form was never fetched (the contract check in collect() also says so)
    assert not any("manager" in r.target for r in server.requests)
    # Two rounds (a reviewer role's users come whole in the expanded principal); round 2 with a /beta $batch
    assert (server.rounds, server.http_requests) == (2, 3)


def test_consent_requests_found_by_name_when_no_app_id_is_known(fake_graph):
    tenant = scenarios.workflow_only()
    server = fake_graph(tenant)

    snapshot = collect(server, CollectionTarget(app_id=None, app_display_name="hd meeting"))

    assert [r["id"] for r in snapshot.data("consent_requests")] == [tenant.refs["consent_request"]]


def test_disabled_app_keeps_its_state_and_assignments(fake_graph):
    tenant = scenarios.disabled_app()
    server = fake_graph(tenant)

    snapshot = collect(server)

    app = next(sp for sp in snapshot.data("service_principals") if sp["appId"] == HDM_APP_ID)
    assert app["accountEnabled"] is False and app["appRoleAssignmentRequired"] is True
    (assigned,) = snapshot.data("app_role_assigned_to")
    assert assigned["principalId"] == tenant.refs["assigned_group"] and assigned["principalType"] == "Group"


def test_legacy_user_consent_and_no_service_principal(fake_graph):
    tenant = scenarios.legacy_user_consent()
    tenant.service_principals = [sp for sp in tenant.service_principals if sp["appId"] != HDM_APP_ID]
    server = fake_graph(tenant)

    snapshot = collect(server)

    policies = snapshot.data("authorization_policy")["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"]
    assert "ManagePermissionGrantsForSelf.microsoft-user-default-legacy" in policies
    assert HDM_APP_ID not in {sp["appId"] for sp in snapshot.data("service_principals")}
    assert snapshot.data("delegated_grants") == [] and snapshot.source("delegated_grants").ok


def test_lookalikes_and_legacy_leftovers_by_name_and_legacy_app_id(fake_graph):
    tenant = scenarios.lookalikes_and_leftovers()
    refs = tenant.refs
    server = fake_graph(tenant)
    target = CollectionTarget(app_id=None, app_display_name="HD Meeting", legacy_app_ids=[scenarios.LEGACY_APP_ID])

    snapshot = collect(server, target)

    assert ids(snapshot.data("service_principals")) == {
        refs["app"], refs["lookalike"], refs["legacy"], refs["graph"], refs["exchange"]
    }
    grants = snapshot.data("delegated_grants")
    assert {g["clientId"] for g in grants} == {refs["app"], refs["lookalike"]}
    assert refs["per_user_grant"] in ids(grants)
    assert ids(snapshot.data("app_role_assignments")) == {refs["legacy_role"]}
    read_lists_of = {p.split("/")[2] for p in requested_paths(server)
                     if p.startswith("/servicePrincipals/") and not p.endswith("/delegatedPermissionClassifications")}
    assert read_lists_of == {refs["app"], refs["lookalike"], refs["legacy"]}


def test_deleted_reviewers_are_null(fake_graph):
    tenant = scenarios.deleted_reviewer()
    refs = tenant.refs
    server = fake_graph(tenant)

    snapshot = collect(server)

    assert snapshot.source("users").ok and snapshot.source("groups").ok
    assert snapshot.data("users")[refs["gone_user"]] is None
    assert snapshot.data("groups")[refs["gone_group"]] is None
    assert refs["gone_group"] not in snapshot.data("group_members")
    assert snapshot.data("users")[refs["admin"]]["displayName"] == "Grace Admin"
    # a direct-members reviewer query is read as direct members
    assert any(r.path == f"/groups/{refs['gone_group']}/members" for r in server.requests)


def test_every_page_of_every_list_is_read(fake_graph):
    tenant = scenarios.many_objects(count=25)
    server = fake_graph(tenant, page_size=2)

    snapshot = collect(server)

    assert len(snapshot.data("service_principals")) == 1 + 25 + 2
    assert len(snapshot.data("group_members")[tenant.refs["group"]]) == 25
    assert len(snapshot.data("role_assignments")) == len(tenant.role_assignments)
    assert all(user is not None for user in snapshot.data("users").values())
    assert sum("$skiptoken" in r.params for r in server.requests) >= 12 + 12


def test_next_link_to_another_host_is_not_followed(fake_graph):
    server = fake_graph(scenarios.many_objects(count=5), page_size=2, next_link_base="https://evil.example/v1.0")

    snapshot = collect(server)

    source = snapshot.source("service_principals")
    assert source.status is SourceStatus.ERROR and source.error.code == "InvalidResponse"
    assert "evil.example" not in "".join(r.target for r in server.requests)


@pytest.mark.parametrize("prefix", ["", "/v1.0", "/beta", "https://graph.microsoft.com/v1.0"])
def test_role_reviewer_query_forms(fake_graph, prefix):
    tenant = FakeTenant("Coho")
    reader = tenant.add_user("Reader")
    tenant.assign_role(GLOBAL_READER, reader)
    tenant.enable_admin_consent_workflow(role_query(GLOBAL_READER, prefix=prefix))
    server = fake_graph(tenant)

    snapshot = collect(server)

    assert snapshot.data("users")[reader]["displayName"] == "Reader"
    assert any(a["roleDefinitionId"] == GLOBAL_READER for a in snapshot.data("role_assignments"))
