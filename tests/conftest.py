"""Shared fixtures: run the real CLI entry point in-process and capture what it prints."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from auditor.cli.app import main
from tests.fakegraph.fixtures import fake_graph  # noqa: F401  (the fake Graph server fixture)


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake Graph is on 127.0.0.1: a proxy set for the machine running the suite (a CI runner's) must
    not carry the suite's requests; tests of proxies set their own."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Call `auditor ARGS...` through its console entry point; returns exit code and output."""

    def run(*args: str) -> Run:
        monkeypatch.setattr(sys, "argv", ["auditor", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return run
