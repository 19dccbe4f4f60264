"""A full scan of a typical tenant whose lists fit in one page takes two sequential rounds (issue 14):
one round of independent reads, one round for what their ids name. Rounds are counted by the fake
Graph at the HTTP level (tests/fakegraph/server.py: each HTTP request's wave is one more than the
highest wave already answered when it arrived), never from what the collector reports; the server's
latency keeps requests sent together in one wave (without it a fast answer to one could make its
sibling look like a wave of its own: an over-count, never an under-count).

What each round must read follows from DESIGN §3: round 1 reads the 17 requests needing no id
(organization, both policies, the service principals by the app id, Microsoft Graph's and Exchange
Online's ids and by name, the active and PIM-eligible holders of the four consent-capable roles, the
custom roles, the consent requests); round 2 what they name. A role holder's expanded principal is
whole (`accountEnabled` included), so a reviewer role's holder needs no `/users/{id}` of its own.
Permission grant policies (request 17) are read from /beta only, in round 2 in a `$batch` of its own
beside the v1.0 one (v1.0 does not return `certifiedClientApplicationsOnly`, and no `$batch` mixes
versions): every tenant here has a user consent policy assigned, so each takes three HTTP requests in
two rounds. Reading v1.0 first and /beta only for a policy that could admit HD Meeting's scopes
saved that HTTP request (~2 ms of CPU, bench/collect_cpu.py) for most tenants but cost
`legacy_user_consent` a third round; v1.0 is now read only when /beta does not answer
(tests/test_round_sources.py). The consent-path tenants are held to two rounds here too.

The counts are exact and deterministic, so any change in how the collector groups its requests
shows here. `many_objects` is the one shape above two rounds: its 26 service principals need 78 list
requests in round 2 (81 with the reviewer group and the classifications), Graph takes at most 20
requests per `$batch` and at most four are in flight at once, so the fifth waits for one of them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from auditor.collect.live import collect_snapshot
from auditor.model.snapshot import CollectionTarget
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.consent_scenarios import CASES
from tests.fakegraph.contract import violations
from tests.fakegraph.fixtures import cli_args, live_options
from tests.fakegraph.server import FakeGraph, FakeGraphHost
from tests.fakegraph.tenant import HDM_APP_ID, FakeTenant

ONE_PAGE = 999  # Graph's largest page: every list of these tenants fits in one

# Scenario → (sequential rounds, HTTP requests of a full scan, requests inside them).
EXPECTED: dict[str, tuple[int, int, int]] = {
    # round 2: HD Meeting's requests 6-8, Graph's classifications, the user consent policy from /beta
    "fully_consented": (2, 3, 17 + 3 + 1 + 2),
    "disabled_app": (2, 3, 17 + 3 + 1 + 2),
    "legacy_user_consent": (2, 3, 17 + 3 + 1 + 2),
    # round 2: a deleted user, a deleted group and its members, a live user; no HD Meeting to read
    "deleted_reviewer": (2, 3, 17 + (1 + 2 + 1) + 1 + 2),
    # round 2: requests 6-8 of HD Meeting and of its look-alike "HD Meeting (old)"
    "lookalikes_and_leftovers": (2, 3, 17 + 2 * 3 + 1 + 2),
    # round 2: the user, group (+ members) and Global Reader reviewers, Graph's classifications, the
    # role-assignable group holding Application Administrator (group, members, PIM for Groups), the
    # policy from /beta, the askers of the app's consent request; the reviewer roles' users come expanded
    "workflow_only": (2, 3, 17 + (1 + 2 + 1) + 1 + 3 + 2 + 1),
    # round 2: 26 service principals' requests 6-8, the group reviewer, classifications: 81 in 5 $batch
    # calls (4 at once, the fifth after), the policy from /beta beside them
    "many_objects": (3, 1 + 5 + 1, 17 + 26 * 3 + 2 + 1 + 2),
}
TYPICAL_ROUNDS, TYPICAL_HTTP = 2, 3
LATENCY = 0.05  # seconds: far longer than the client's gap between requests it sends together


def _scenarios() -> dict[str, Callable[[], FakeTenant]]:
    return {
        name: build
        for name, build in inspect.getmembers(scenarios, inspect.isfunction)
        if build.__module__ == scenarios.__name__ and not name.startswith("_")
    }


def test_every_scenario_has_an_expected_count() -> None:
    assert set(_scenarios()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_full_scan_round_trips(
    name: str, cli: Callable[..., Run], fake_graph: Callable[..., FakeGraph], tmp_path: Path
) -> None:
    server = fake_graph(_scenarios()[name](), page_size=ONE_PAGE, latency=LATENCY)

    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")

    assert run.code in (0, 1), run.stderr
    assert json.loads((tmp_path / "result.json").read_text())["summary"]["error"] == 0
    assert violations(server.requests, server.minted_skiptokens) == []
    assert not any("$skiptoken" in r.params for r in server.requests)  # every list in one page
    sub_requests = sum(r.in_batch or r.path not in ("/$batch", "/beta/$batch") for r in server.requests)
    assert (server.rounds, server.http_requests, sub_requests) == EXPECTED[name]


def test_typical_tenants_take_two_rounds() -> None:
    typical = {name: counts[:2] for name, counts in EXPECTED.items() if name != "many_objects"}
    assert set(typical.values()) == {(TYPICAL_ROUNDS, TYPICAL_HTTP)}


def test_a_request_sent_after_an_answer_is_a_round_of_its_own(fake_graph: Callable[..., FakeGraph]) -> None:
    """The fake Graph's round counting itself: requests sent together are one wave, one sent after an
    answer is the next."""
    server = fake_graph(scenarios.fully_consented(), latency=LATENCY)

    async def requests() -> None:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {server.token}"}) as client:
            await asyncio.gather(*(client.get(f"{server.base_url}/organization") for _ in range(3)))
            await client.get(f"{server.base_url}/organization")

    asyncio.run(requests())
    assert server.waves == [1, 1, 1, 2] and server.rounds == 2


def test_tenants_behind_one_host_count_their_own_requests_and_wait_their_latency(
    cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the fleet benchmark relies on: many tenants on one server, each with its own token,
    request count and latency per HTTP request."""
    latency = 0.2
    graphs = [FakeGraph(scenarios.fully_consented(), page_size=ONE_PAGE, latency=latency),
              FakeGraph(scenarios.workflow_only(), page_size=ONE_PAGE, latency=LATENCY)]
    elapsed = []
    with FakeGraphHost(graphs):
        for number, graph in enumerate(graphs):
            monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", graph.token)
            started = time.perf_counter()
            run = cli("scan", *cli_args(graph), "--app-id", HDM_APP_ID, "--out", str(tmp_path / str(number)),
                      "--format", "json")
            elapsed.append(time.perf_counter() - started)
            assert run.code == 1, run.stderr

    assert len({graph.base_url for graph in graphs}) == 2
    assert [(graph.rounds, graph.http_requests) for graph in graphs] == [EXPECTED["fully_consented"][:2],
                                                                          EXPECTED["workflow_only"][:2]]
    # Two sequential rounds, each waiting the latency; round 2's /beta $batch waits beside the v1.0 one.
    assert elapsed[0] >= 2 * latency


def _typical() -> dict[str, Callable[[], FakeTenant]]:
    tenants = {name: build for name, build in _scenarios().items() if name != "many_objects"}
    tenants.update({f"consent:{name}": (lambda build=build: build()[0]) for name, build in CASES.items()})
    return tenants


@pytest.mark.parametrize("name", sorted(_typical()))
def test_a_typical_tenant_takes_two_rounds_and_three_http_requests(
    name: str, fake_graph: Callable[..., FakeGraph]
) -> None:
    server = fake_graph(_typical()[name](), page_size=ONE_PAGE, latency=LATENCY)
    collect_snapshot(live_options(server), CollectionTarget(app_id=HDM_APP_ID))
    assert server.rounds == TYPICAL_ROUNDS
    assert server.http_requests <= TYPICAL_HTTP
