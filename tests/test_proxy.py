"""Proxies from the environment: Graph requests go through HTTPS_PROXY / HTTP_PROXY unless NO_PROXY
exempts the host, as for every httpx client (consultants and scheduled jobs often sit behind one).

The fake Graph also answers as a forward proxy (a request whose target is an absolute URL, RFC 9112
§3.2.2), counting those requests apart, so a test sees whether the scan really went through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph, unused_local_url
from tests.fakegraph.tenant import HDM_APP_ID

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]


def _root(server: FakeGraph) -> str:
    return server.base_url.rsplit("/", 1)[0]  # http://127.0.0.1:PORT


def test_scan_goes_through_the_http_proxy_of_the_environment(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.workflow_only())
    monkeypatch.setenv("HTTP_PROXY", _root(server))
    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    assert run.code == 1, run.stderr  # ACW-01 fails in this scenario (DESIGN §4), as without a proxy
    assert json.loads((tmp_path / "result.json").read_text())["verdict"] == "ready-via-workflow"
    assert server.http_requests > 0
    assert server.proxied_requests == server.http_requests


def test_no_proxy_sends_the_host_directly(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.workflow_only())
    monkeypatch.setenv("HTTP_PROXY", unused_local_url())  # would fail the scan if it were used
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    assert run.code == 1, run.stderr
    assert (server.http_requests > 0, server.proxied_requests) == (True, 0)


def test_a_proxy_that_refuses_is_named_without_its_password(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.workflow_only())
    proxy = unused_local_url().removesuffix("/v1.0")  # http://127.0.0.1:PORT, nothing listening
    monkeypatch.setenv("HTTP_PROXY", proxy.replace("http://", "http://scanner:Pr0xy-S3cret@"))
    run = cli("scan", *cli_args(server), "--out", str(tmp_path), "--format", "json")
    assert run.code == 3  # unreachable Graph (DESIGN §3, §6)
    assert run.stderr.strip() == (f"auditor: Microsoft Graph at {server.base_url} through the proxy {proxy} refused "
                                  "the connection: check HTTPS_PROXY / HTTP_PROXY / NO_PROXY and that the proxy is up")
    assert server.http_requests == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("setting", ["ftp://scanner:Pr0xy-S3cret@127.0.0.1:21", "http://scanner:Pr0xy-S3cret@[::1",
                                     "socks5://scanner:Pr0xy-S3cret@127.0.0.1:1080"])
def test_an_unusable_proxy_setting_is_a_usage_error_that_shows_no_password(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    server = fake_graph(scenarios.workflow_only())
    monkeypatch.setenv("HTTP_PROXY", setting)
    run = cli("scan", *cli_args(server), "--out", str(tmp_path), "--format", "json")
    assert run.code == 2  # DESIGN §6: usage or input error, nothing written
    assert run.stderr.strip() == (
        "auditor: the proxy the environment sets (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) is not a usable proxy URL: "
        "expected http://host:port or https://host:port (SOCKS proxies are not supported)")
    assert (server.http_requests, list(tmp_path.iterdir())) == (0, [])
