"""pytest fixtures for the fake Graph. In a conftest.py or a test module:

    from tests.fakegraph.fixtures import fake_graph  # noqa: F401  (the fixture)
    from tests.fakegraph.fixtures import live_options, cli_args

    def test_something(fake_graph):
        server = fake_graph(scenarios.fully_consented())   # started; AUDITOR_ACCESS_TOKEN is set
        snapshot = collect_snapshot(live_options(server), target)
        # or: runner.invoke(app, ["scan", *cli_args(server), "--out", str(tmp_path)])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from auditor.collect.options import AuthMode, LiveOptions
from tests.fakegraph.server import FakeGraph
from tests.fakegraph.tenant import FakeTenant

TOKEN_ENV = "AUDITOR_ACCESS_TOKEN"


@pytest.fixture
def fake_graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FakeGraph]]:
    """Start a FakeGraph for a FakeTenant (keyword arguments go to FakeGraph, e.g. page_size);
    sets AUDITOR_ACCESS_TOKEN to its token; every server started is stopped after the test."""
    started: list[FakeGraph] = []

    def start(tenant: FakeTenant, **kwargs: Any) -> FakeGraph:
        server = FakeGraph(tenant, **kwargs).start()
        started.append(server)
        monkeypatch.setenv(TOKEN_ENV, server.token)
        return server

    yield start
    for server in started:
        server.stop()


def live_options(server: FakeGraph | str, **overrides: Any) -> LiveOptions:
    """Live options reading `server` (or a base URL) with `--auth token`, no progress display."""
    url = server if isinstance(server, str) else server.base_url
    return LiveOptions(**{"auth": AuthMode.TOKEN, "graph_url": url, "quiet": True, **overrides})


def cli_args(server: FakeGraph | str) -> list[str]:
    """The live options of `auditor scan` / `auditor collect` for `server` (or a base URL)."""
    url = server if isinstance(server, str) else server.base_url
    return ["--auth", "token", "--graph-url", url, "--quiet"]
