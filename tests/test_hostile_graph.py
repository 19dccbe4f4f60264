"""A Graph stand-in that misbehaves the way real servers and proxies do (issue 11): every answer that
is not the complete, genuine answer to the request sent makes its source `error`, over the real HTTP
path (msgraph-sdk, $batch) against tests/fakegraph, never a pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.collect import RetryPolicy, collect_snapshot
from auditor.model.snapshot import CollectionTarget, Snapshot, SourceStatus
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.contract import violations
from tests.fakegraph.fixtures import cli_args, live_options
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import HDM_APP_ID, FakeTenant

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]
TARGET = CollectionTarget(app_id=HDM_APP_ID)
NO_WAITING = RetryPolicy(max_attempts=2, max_wait=0.0, max_total_wait=1.0, backoff=0.0)
NOBODY = "0badc0de-0000-4000-8000-000000000000"


def collect(server: FakeGraph) -> Snapshot:
    return collect_snapshot(live_options(server), TARGET, retry_policy=NO_WAITING)


def scan(cli: Cli, server: FakeGraph, out: Path) -> tuple[int, dict[str, str]]:
    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(out), "--format", "json")
    result = json.loads((out / "result.json").read_text())
    return run.code, {finding["rule_id"]: finding["status"] for finding in result["findings"]}


def per_user_grants() -> FakeTenant:
    """Consented tenant-wide, plus four per-user grants: with a page size of 3, the grants take two pages."""
    tenant = scenarios.fully_consented()
    for name in ("Ann", "Ben", "Cid", "Dee"):
        tenant.grant_delegated(tenant.refs["app"], tenant.refs["graph"], "User.Read", principal=tenant.add_user(name))
    return tenant


# -- an object asked for by id is that object ------------------------------------------------------


def test_a_user_answered_with_another_users_object_is_an_error(cli: Cli, fake_graph: StartGraph, tmp_path: Path):
    tenant = scenarios.workflow_only()
    server = fake_graph(tenant)
    reviewer = tenant.refs["reviewer"]
    server.fail(rf"^/users/{reviewer}", kind="wrong_id", to=tenant.refs["admin"], times=None)

    snapshot = collect(server)

    users = snapshot.source("users")
    assert users.status is SourceStatus.ERROR and users.error.code == "InvalidResponse"
    assert reviewer in users.error.message and tenant.refs["admin"] in users.error.message
    code, statuses = scan(cli, server, tmp_path)
    assert code == 3 and "pass" not in (statuses["HDM-ACW-03"], statuses["HDM-ACW-04"]), statuses


def test_an_id_in_other_letter_case_is_the_same_object(fake_graph: StartGraph):
    tenant = scenarios.workflow_only()
    server = fake_graph(tenant)
    reviewer = tenant.refs["reviewer"]
    server.fail(rf"^/users/{reviewer}", kind="wrong_id", to=reviewer.upper(), times=None)

    snapshot = collect(server)

    assert snapshot.source("users").ok


def test_a_group_answered_without_id_is_an_error(fake_graph: StartGraph):
    tenant = scenarios.workflow_only()
    server = fake_graph(tenant)
    server.fail(rf"^/groups/{tenant.refs['group']}$", kind="wrong_id", to=None, times=None)

    snapshot = collect(server)

    assert snapshot.source("groups").status is SourceStatus.ERROR
    assert "no id" in snapshot.source("groups").error.message


# -- a next page stays on the request's origin and path --------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        # another path on the Graph host that answers an empty list: the second page of grants is skipped
        "{base}/servicePrincipals?$filter=appId%20eq%20'" + NOBODY + "'",
        # a path outside DESIGN §3
        "{base}/users?$top=999",
        # dot segments out of the request's path
        "{base}/servicePrincipals/{app}/oauth2PermissionGrants/../../../users",
        # another origin
        "http://127.0.0.1:9/v1.0/servicePrincipals/{app}/oauth2PermissionGrants?$skiptoken=x",
    ],
)
def test_a_next_link_leaving_the_requests_path_is_an_error(cli: Cli, fake_graph: StartGraph, tmp_path: Path, link):
    tenant = per_user_grants()
    server = fake_graph(tenant, page_size=3)
    server.fail(r"/oauth2PermissionGrants", kind="link", times=None,
                to=link.format(base=server.base_url, app=tenant.refs["app"]))

    snapshot = collect(server)

    grants = snapshot.source("delegated_grants")
    assert grants.status is SourceStatus.ERROR and "@odata.nextLink leaves" in grants.error.message
    assert violations(server.requests, server.minted_skiptokens) == []  # nothing outside DESIGN §3 was sent
    code, statuses = scan(cli, server, tmp_path)
    assert (code, statuses["HDM-GR-02"], statuses["HDM-GR-04"]) == (3, "error", "error")


def test_next_links_of_the_same_path_are_followed(fake_graph: StartGraph):
    tenant = per_user_grants()
    server = fake_graph(tenant, page_size=3)

    snapshot = collect(server)

    assert len(snapshot.data("delegated_grants")) == 5  # the tenant-wide grant and four per-user ones


# -- redirects are not followed; only a 200 is a complete answer ------------------------------------


def test_a_batch_redirected_to_another_origin_is_not_followed(fake_graph: StartGraph):
    elsewhere = fake_graph(scenarios.fully_consented())
    server = fake_graph(scenarios.legacy_user_consent())
    server.fail(r"^/\$batch", kind="redirect", to=f"{elsewhere.base_url}/$batch", times=None)

    snapshot = collect(server)

    assert elsewhere.requests == []
    for name in ("organization", "authorization_policy", "service_principals", "consent_requests"):
        source = snapshot.source(name)
        assert source.status is SourceStatus.ERROR and source.error.http_status == 307, name
        assert f"redirect to {elsewhere.base_url}/$batch not followed" in source.error.message


def test_partial_content_is_not_a_complete_answer(cli: Cli, fake_graph: StartGraph, tmp_path: Path):
    server = fake_graph(scenarios.workflow_only())
    server.fail(r"^/roleManagement/", kind="partial", times=None)

    snapshot = collect(server)

    source = snapshot.source("role_assignments")
    assert source.status is SourceStatus.ERROR and source.error.code == "HTTP206"
    code, statuses = scan(cli, server, tmp_path)
    assert (code, statuses["HDM-ACW-04"]) == (3, "error")
