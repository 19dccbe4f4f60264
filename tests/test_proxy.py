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

from auditor.model.errors import redact, remember_environment_secrets
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph, unused_local_url
from tests.fakegraph.tenant import HDM_APP_ID
from tests.test_fleet import write_tenants

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


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "127.0.0.1:{port}", "localhost, *", ".0.0.1", "*"])
def test_no_proxy_sends_the_host_directly(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    server = fake_graph(scenarios.workflow_only())
    monkeypatch.setenv("HTTP_PROXY", unused_local_url())  # would fail the scan if it were used
    monkeypatch.setenv("NO_PROXY", no_proxy.format(port=_root(server).rsplit(":", 1)[1]))
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


UNUSABLE = ["ftp://scanner:Pr0xy-S3cret@127.0.0.1:21", "http://scanner:Pr0xy-S3cret@[::1",
            "socks5://scanner:Pr0xy-S3cret@127.0.0.1:1080", "http://scanner:Pr0xy-S3cret@127.0.0.1:99999",
            "http://scanner:Pr0xy-S3cret@127.0.0.1:-1", "http://", "http://127.0.0.1:0"]


def _unusable(variable: str) -> str:
    return (f"auditor: {variable} is not a usable proxy URL: expected http://host:port or https://host:port, "
            "with a port from 1 to 65535 (SOCKS proxies are not supported)")


@pytest.mark.parametrize("setting", UNUSABLE)
def test_an_unusable_proxy_setting_is_a_usage_error_that_shows_no_password(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    server = fake_graph(scenarios.workflow_only())
    monkeypatch.setenv("http_proxy", setting)  # the lower-case one is the one used, and named
    run = cli("scan", *cli_args(server), "--out", str(tmp_path), "--format", "json")
    assert (run.code, run.stderr.strip()) == (2, _unusable("http_proxy"))  # DESIGN §6: usage error, nothing written
    assert (server.http_requests, list(tmp_path.iterdir())) == (0, [])


def test_the_sign_in_proxy_is_checked_too_even_when_graph_goes_direct(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://scanner:Pr0xy-S3cret@127.0.0.1:1080")
    monkeypatch.setenv("NO_PROXY", "graph.microsoft.com")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-real-secret-value")
    run = cli("scan", "--tenant-id", "contoso.onmicrosoft.com", "--auth", "secret", "--client-id",
              "11111111-2222-3333-4444-555555555555", "--out", str(tmp_path / "out"))
    assert (run.code, run.stderr.strip()) == (2, _unusable("HTTPS_PROXY"))
    assert not (tmp_path / "out").exists()


def test_a_fleet_with_an_unusable_proxy_writes_and_records_nothing(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.workflow_only())
    tenants = write_tenants(tmp_path / "tenants.csv", [{"name": "Lab", "graph_url": server.base_url}])
    monkeypatch.setenv("HTTP_PROXY", "http://scanner:Pr0xy-S3cret@127.0.0.1:99999")
    run = cli("fleet", str(tenants), "--out", str(tmp_path / "fleet"), "--auth", "token",
              "--history", str(tmp_path / "history.db"), "--workers", "1")
    assert (run.code, run.stderr.strip()) == (2, _unusable("HTTP_PROXY"))  # one line, not one per tenant
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tenants.csv"]  # no pages, no history


def test_the_proxy_credentials_are_redacted_wherever_a_library_quotes_the_url(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", "http://scanner:Pr0xy%2FS3cret@proxy.example.com:8080")
    remember_environment_secrets()
    text = ("Failed to parse: http://scanner:Pr0xy%2FS3cret@proxy.example.com:8080; "
            "decoded: scanner:Pr0xy/S3cret, password alone: Pr0xy/S3cret")
    assert redact(text) == ("Failed to parse: http://<redacted>@proxy.example.com:8080; "
                            "decoded: <redacted>, password alone: <redacted>")


def _source_errors(cli: Cli, server: FakeGraph, tmp_path: Path, *options: str) -> dict[str, str]:
    run = cli("collect", *cli_args(server), "--out", str(tmp_path / "snapshot.json"), *options)
    assert run.code == 3, run.stderr
    sources = json.loads((tmp_path / "snapshot.json").read_text())["sources"]
    return {name: source["error"]["message"] for name, source in sources.items() if source.get("error")}


def test_a_timeout_through_a_proxy_names_the_proxy(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.workflow_only())
    server.fail(r"organization", hang=True, times=None)
    monkeypatch.setenv("HTTP_PROXY", _root(server))
    errors = _source_errors(cli, server, tmp_path, "--timeout", "1")
    assert errors["organization"] == f"no complete answer within the timeout of 1 s (through the proxy {_root(server)})"


def test_a_407_asks_for_the_proxy_credentials(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.workflow_only())
    server.fail(r"authorizationPolicy", 407, times=None)
    monkeypatch.setenv("HTTP_PROXY", _root(server))
    assert _source_errors(cli, server, tmp_path)["authorization_policy"] == (
        "the proxy asks for authentication: check the user name and password in HTTP_PROXY / HTTPS_PROXY")


def test_a_proxy_variable_the_run_does_not_use_is_not_judged(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A developer's SOCKS ALL_PROXY, behind an HTTP_PROXY that serves the (plain-http) Graph URL."""
    server = fake_graph(scenarios.workflow_only())
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    monkeypatch.setenv("HTTP_PROXY", _root(server))
    run = cli("scan", *cli_args(server), "--app-id", HDM_APP_ID, "--out", str(tmp_path), "--format", "json")
    assert run.code == 1, run.stderr
    assert server.proxied_requests == server.http_requests > 0
