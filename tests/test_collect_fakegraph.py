"""The fake Graph itself: the contract check catches what DESIGN §3 forbids, and the server
behaves like Graph where the collector depends on it."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fakegraph import fixtures, scenarios
from tests.fakegraph.contract import violation
from tests.fakegraph.server import RecordedRequest
from tests.fakegraph.tenant import FakeTenant, group_query

fake_graph = fixtures.fake_graph
GUID = "5d0b7c4e-8a55-4bb8-9a73-2f3f5e0e6a11"


@pytest.mark.parametrize(
    ("method", "path", "params", "in_batch"),
    [
        ("GET", "/organization", {}, False),
        ("POST", "/$batch", {}, False),
        ("GET", "/servicePrincipals", {"$filter": f"appId eq '{GUID}'", "$top": "999"}, True),
        ("GET", "/servicePrincipals", {"$filter": "startswith(displayName,'HD ''Meeting''')"}, True),
        ("GET", f"/groups/{GUID}/transitiveMembers/microsoft.graph.user", {"$select": "id", "$count": "true"}, True),
        ("GET", "/roleManagement/directory/roleAssignments", {"$filter": f"principalId eq '{GUID}'"}, True),
        ("GET", "/identityGovernance/appConsent/appConsentRequests",
         {"$filter": "userConsentRequests/any(u:u/status eq 'InProgress')"}, False),
        ("GET", f"/identityGovernance/appConsent/appConsentRequests/{GUID}/userConsentRequests", {}, True),
    ],
)
def test_contract_allows_design_requests(method, path, params, in_batch):
    assert violation(RecordedRequest(method, path, params, in_batch)) is None


@pytest.mark.parametrize(
    ("method", "path", "params", "in_batch"),
    [
        ("PATCH", "/policies/adminConsentRequestPolicy", {}, True),
        ("POST", "/$batch", {}, True),
        ("GET", "/servicePrincipals", {}, False),  # unfiltered: every app in the tenant
        ("GET", "/servicePrincipals", {"$filter": "accountEnabled eq false"}, False),
        ("GET", "/users", {}, False),
        ("GET", f"/users/{GUID}", {"$expand": "memberOf"}, False),
        ("GET", "/users/me", {}, False),
        ("GET", "/roleManagement/directory/roleAssignments", {}, True),
        ("GET", "/organization", {"$skiptoken": "forged"}, True),
        ("GET", "/me/manager", {}, True),
    ],
)
def test_contract_flags_everything_else(method, path, params, in_batch):
    assert violation(RecordedRequest(method, path, params, in_batch)) is not None


def test_contract_accepts_only_skiptokens_the_server_minted():
    request = RecordedRequest("GET", "/organization", {"$skiptoken": "abc"}, True)
    assert violation(request, {"abc"}) is None
    assert violation(request, {"xyz"}) is not None


def test_server_checks_the_bearer_token(fake_graph):
    server = fake_graph(scenarios.fully_consented())

    wrong = httpx.get(f"{server.base_url}/organization", headers={"Authorization": "Bearer nope"})
    right = httpx.get(f"{server.base_url}/organization", headers={"Authorization": f"Bearer {server.token}"})

    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert right.status_code == 200 and right.json()["value"][0]["displayName"] == "Fabrikam"


def test_server_batches_pages_and_selects_like_graph(fake_graph):
    tenant = FakeTenant("Coho")
    members = [tenant.add_user(f"User {n}") for n in range(5)]
    group = tenant.add_group("Group", members)
    tenant.enable_admin_consent_workflow(group_query(group))
    server = fake_graph(tenant, page_size=2)
    auth = {"Authorization": f"Bearer {server.token}"}
    requests = [
        {"id": "1", "method": "GET", "url": f"/groups/{group}/transitiveMembers?$select=id,accountEnabled"},
        {"id": "2", "method": "GET", "url": f"/users/{members[0]}"},
        {"id": "3", "method": "GET", "url": "/users/00000000-0000-0000-0000-000000000000"},
    ]

    answer = httpx.post(f"{server.base_url}/$batch", json={"requests": requests}, headers=auth).json()
    too_many = httpx.post(f"{server.base_url}/$batch", json={"requests": requests * 7}, headers=auth)

    by_id = {r["id"]: r for r in answer["responses"]}
    page = by_id["1"]["body"]
    assert page["value"] == [{"@odata.type": "#microsoft.graph.user", "id": m, "accountEnabled": True}
                             for m in members[:2]]
    assert page["@odata.nextLink"].startswith(f"{server.base_url}/groups/{group}/transitiveMembers?")
    assert "accountEnabled" not in by_id["2"]["body"]  # not one of Graph's default properties
    assert by_id["3"]["status"] == 404 and by_id["3"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert too_many.status_code == 400
    next_page = httpx.get(page["@odata.nextLink"], headers=auth).json()
    assert [m["id"] for m in next_page["value"]] == members[2:4]
    assert json.dumps(server.requests[-1].params).count("$skiptoken") == 1
