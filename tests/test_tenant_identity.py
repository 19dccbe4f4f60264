"""Issue 12, point 3: a tenant whose identity cannot be read is not a tenant in the history. When /organization
cannot be read, the run's tenant id is --tenant-id (a GUID or a domain name) when given; otherwise the
verdict is unknown, the exit code 3, and the history refuses to store the run under a guessed id."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.history.store import open_history
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]


def _unreadable_organization(fake_graph: StartGraph) -> FakeGraph:
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/organization", 403, times=None)
    return server


def test_without_a_readable_identity_the_verdict_is_unknown_exit_3_and_the_history_refuses_the_run(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = _unreadable_organization(fake_graph)
    history = str(tmp_path / "history.db")

    runs = [cli("scan", *cli_args(server), "--out", str(tmp_path / f"out-{n}"), "--history", history)
            for n in range(2)]

    assert [run.code for run in runs] == [3, 3]
    result = json.loads((tmp_path / "out-1" / "result.json").read_text())
    assert (result["tenant"]["id"], result["verdict"]) == ("unknown", "unknown")
    assert runs[1].stderr.splitlines()[-1] == (
        f"auditor: history {history}: run not stored: the tenant's id is unknown (/organization could not be "
        "read; give --tenant-id, the tenant's GUID or domain)")
    with open_history(history, create=False) as store:
        assert store.summaries() == []


@pytest.mark.parametrize("given", ["Contoso.onmicrosoft.com", "0F3C5D2A-7B41-4E8C-9A6D-2B1E4F7C8D90"])
def test_the_tenant_id_given_stands_in_for_an_unreadable_organization(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, given: str
) -> None:
    server = _unreadable_organization(fake_graph)
    history = str(tmp_path / "history.db")

    run = cli("scan", *cli_args(server), "--tenant-id", given, "--out", str(tmp_path / "out"), "--history", history)

    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert run.code == 1, run.stderr  # what the fully consented tenant gives; not 3
    assert (result["tenant"]["id"], result["verdict"]) == (given.lower(), "ready")
    with open_history(history, create=False) as store:
        assert [summary.tenant_id for summary in store.summaries()] == [given.lower()]


def test_a_tenant_id_that_is_neither_a_guid_nor_a_domain_is_not_taken_as_an_identity(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path
) -> None:
    server = _unreadable_organization(fake_graph)
    run = cli("scan", *cli_args(server), "--tenant-id", "organizations", "--out", str(tmp_path / "out"))
    assert run.code == 3
    assert json.loads((tmp_path / "out" / "result.json").read_text())["tenant"]["id"] == "unknown"


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
        (" Fabrikam.COM ", "fabrikam.com"),
        ("0f3c5d2a-7b41-4e8c-9a6d-2b1e4f7c8d90", "0f3c5d2a-7b41-4e8c-9a6d-2b1e4f7c8d90"),
        ("unknown", None),
        ("common", None),
        ("contoso", None),
        ("-contoso.com", None),
        ("contoso..com", None),
        ("contoso.com/../x", None),
        ("", None),
        (None, None),
    ],
)
def test_tenant_key(value: str | None, key: str | None) -> None:
    from auditor.evaluate.tenant_identity import tenant_key

    assert tenant_key(value) == key


def test_the_id_graph_reports_wins_over_the_one_given() -> None:
    from auditor.evaluate.tenant_identity import identify

    reported = "9637ff4c-4575-4b96-a318-5c366e9683f1"
    assert identify(reported, "contoso.onmicrosoft.com") == reported
    assert identify("unknown", "contoso.onmicrosoft.com") == "contoso.onmicrosoft.com"
    assert identify("unknown", None) == "unknown"
