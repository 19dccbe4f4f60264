"""A full scan of a typical tenant whose lists fit in one page costs at most three sequential rounds
and at most four HTTP requests to Graph (a `$batch` counts once; issue 6, then issue 10 with PIM,
custom roles and permission grant policies): one round of independent reads, one round for what
their ids name, one for what those name. Permission grant policies (request 17) are read from v1.0 in
round 2; only one that could admit HD Meeting's scopes is read again from /beta (v1.0 does not return
`certifiedClientApplicationsOnly`), in the next round's `$batch` of its own: `legacy_user_consent`
(the legacy policy admits them) takes a third request for it. The consent-path tenants are held to
the same limit in tests/test_consent_paths_live.py.

The counts are exact and deterministic, so any change in how the collector groups its requests
shows here. `many_objects` is the one shape above three: its 26 service principals need 78 list
requests in round 2 (93 with the reviewers), and Graph takes at most 20 requests per `$batch`
(1 + 5 calls).
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.collect.live import collect_snapshot
from auditor.collect.progress import SilentProgress
from auditor.model.snapshot import CollectionTarget
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.consent_scenarios import CASES
from tests.fakegraph.contract import violations
from tests.fakegraph.fixtures import cli_args, live_options
from tests.fakegraph.server import FakeGraph, FakeGraphHost
from tests.fakegraph.tenant import HDM_APP_ID, FakeTenant

ONE_PAGE = 999  # Graph's largest page: every list of these tenants fits in one

# Scenario → (HTTP requests of a full scan, requests inside them).
EXPECTED: dict[str, tuple[int, int]] = {
    "deleted_reviewer": (2, 24),
    "disabled_app": (2, 23),
    "fully_consented": (2, 23),
    "legacy_user_consent": (3, 25),
    "lookalikes_and_leftovers": (2, 26),
    "many_objects": (6, 100),
    "workflow_only": (3, 30),
}
TYPICAL_LIMIT = 4  # HTTP requests; rounds ≤ 3


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
    server = fake_graph(_scenarios()[name](), page_size=ONE_PAGE)

    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")

    assert run.code in (0, 1), run.stderr
    assert json.loads((tmp_path / "result.json").read_text())["summary"]["error"] == 0
    assert violations(server.requests, server.minted_skiptokens) == []
    assert not any("$skiptoken" in r.params for r in server.requests)  # every list in one page
    sub_requests = sum(r.in_batch or r.path not in ("/$batch", "/beta/$batch") for r in server.requests)
    assert (server.http_requests, sub_requests) == EXPECTED[name]


def test_typical_tenants_take_at_most_three_round_trips() -> None:
    typical = {name: http for name, (http, _) in EXPECTED.items() if name != "many_objects"}
    assert max(typical.values()) <= TYPICAL_LIMIT


def test_tenants_behind_one_host_count_their_own_requests_and_wait_their_latency(
    cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the fleet benchmark relies on: many tenants on one server, each with its own token,
    request count and latency per HTTP request."""
    latency = 0.2
    graphs = [FakeGraph(scenarios.fully_consented(), page_size=ONE_PAGE, latency=latency),
              FakeGraph(scenarios.workflow_only(), page_size=ONE_PAGE)]
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
    assert [graph.http_requests for graph in graphs] == [EXPECTED["fully_consented"][0], EXPECTED["workflow_only"][0]]
    # Two sequential rounds, each waiting the latency; round 2's /beta $batch waits beside the v1.0 one.
    assert elapsed[0] >= 2 * latency


class _RoundCounter(SilentProgress):
    def __init__(self) -> None:
        self.rounds = 0

    def round(self, number: int, what: str) -> None:
        self.rounds = number


def _typical() -> dict[str, Callable[[], FakeTenant]]:
    tenants = {name: build for name, build in _scenarios().items() if name != "many_objects"}
    tenants.update({f"consent:{name}": (lambda build=build: build()[0]) for name, build in CASES.items()})
    return tenants


@pytest.mark.parametrize("name", sorted(_typical()))
def test_a_typical_tenant_takes_at_most_three_rounds_and_four_http_requests(
    name: str, fake_graph: Callable[..., FakeGraph]
) -> None:
    server = fake_graph(_typical()[name](), page_size=ONE_PAGE)
    counter = _RoundCounter()
    collect_snapshot(live_options(server), CollectionTarget(app_id=HDM_APP_ID), progress=counter)
    assert counter.rounds <= 3
    assert server.http_requests <= TYPICAL_LIMIT
