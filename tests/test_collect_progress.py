"""The progress display: rounds and retries on a terminal, silence otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from auditor.collect import RetryPolicy, collect_snapshot
from auditor.collect.progress import RichProgress, SilentProgress, make_progress
from auditor.model.snapshot import CollectionTarget
from tests.fakegraph import fixtures, scenarios
from tests.fakegraph.fixtures import live_options
from tests.fakegraph.tenant import HDM_APP_ID

fake_graph = fixtures.fake_graph


def terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=120, color_system=None), buffer


def test_silent_when_quiet_or_not_a_terminal():
    console, _ = terminal()
    assert isinstance(make_progress(quiet=True, console=console), SilentProgress)
    assert isinstance(make_progress(quiet=False, console=Console(file=io.StringIO())), SilentProgress)
    assert isinstance(make_progress(quiet=False), SilentProgress)  # pytest captures stderr: not a terminal


def test_shows_rounds_and_retries_on_a_terminal(fake_graph):
    server = fake_graph(scenarios.workflow_only())
    server.fail(r"^/policies/authorizationPolicy", 429, retry_after=0.01, where="batch")
    console, buffer = terminal()
    progress = make_progress(quiet=False, console=console)
    assert isinstance(progress, RichProgress)

    collect_snapshot(
        live_options(server, quiet=False), CollectionTarget(app_id=HDM_APP_ID),
        retry_policy=RetryPolicy(max_wait=1.0), progress=progress,
    )

    text = buffer.getvalue()
    assert "Reading the tenant" in text and "round 2" in text
    assert "HTTP 429 on GET /policies/authorizationPolicy: retry 2 in 0.0 s" in text
    assert server.token not in text
