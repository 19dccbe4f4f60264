"""Tenants collected on one event loop may share connections to Graph (`shared_connections`, issue 14),
never a token, a cookie or an answer (DESIGN §10, ScubaGear #6: one credential and one client per tenant)."""

from __future__ import annotations

import asyncio

from auditor.collect.auth import StaticTokenCredential
from auditor.collect.clouds import resolve_endpoints
from auditor.collect.graph_client import GraphClient, shared_connections
from auditor.collect.options import AuthMode, LiveOptions
from auditor.collect.progress import SilentProgress
from auditor.collect.retry import RetryPolicy, WaitBudget
from tests.fakegraph import scenarios
from tests.fakegraph.server import FakeGraph, FakeGraphHost


def _client(graph: FakeGraph) -> GraphClient:
    endpoints = resolve_endpoints(LiveOptions(auth=AuthMode.TOKEN, graph_url=graph.base_url))
    return GraphClient(StaticTokenCredential(graph.token), endpoints, scopes=["https://graph.microsoft.com/.default"],
                       token_options={}, timeout=10, budget=WaitBudget(RetryPolicy()), reporter=SilentProgress())


async def _read_each(graphs: list[FakeGraph]) -> list[str]:
    """Each tenant in turn, with its own client: the tenant id its /organization answered."""
    seen = []
    for graph in graphs:
        client = _client(graph)
        try:
            answer = await client.batch([("1", "/organization"), ("2", "/policies/authorizationPolicy")])
        finally:
            await client.aclose()
        (organization,) = [r for r in answer.body["responses"] if r["id"] == "1"]
        seen.append(organization["body"]["value"][0]["id"])
    return seen


async def _shared(graphs: list[FakeGraph]) -> list[str]:
    async with shared_connections():
        return await _read_each(graphs)


def _tenants() -> list[FakeGraph]:
    return [FakeGraph(build(), page_size=999) for build in (scenarios.fully_consented, scenarios.workflow_only,
                                                            scenarios.legacy_user_consent)]


def test_tenants_on_one_loop_share_one_connection_but_each_sends_only_its_own_token() -> None:
    graphs = _tenants()
    with FakeGraphHost(graphs) as host:
        seen = asyncio.run(_shared(graphs))
        assert host.connections == 1

    assert seen == [graph.tenant.id for graph in graphs]  # each answer reached the tenant that asked
    for graph in graphs:
        assert graph.requests and all(r.authorized for r in graph.requests)
        assert {r.authorization for r in graph.requests} == {f"Bearer {graph.token}"}


def test_without_it_each_client_has_its_own_connections() -> None:
    graphs = _tenants()
    with FakeGraphHost(graphs) as host:
        asyncio.run(_read_each(graphs))
        assert host.connections == len(graphs)
