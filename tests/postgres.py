"""A real, throwaway PostgreSQL server for the history tests, and the `history_url` fixture over both backends.

The server (Debian's `postgresql` package: /usr/lib/postgresql/*/bin) runs from a temporary folder,
listens on 127.0.0.1 at a free port with trust authentication, and is stopped at the end of the
session. As root, its programs run as the `postgres` user (PostgreSQL refuses to run as root).
Without PostgreSQL the tests skip locally, and fail in CI (`CI=true`), where `.ci/run` installs it.

Use it from a test module with `pytest_plugins = ["tests.postgres"]`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

SERVER_USER = "postgres"


def _binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (AUDITOR_TEST_PG_BIN overrides)."""
    override = os.environ.get("AUDITOR_TEST_PG_BIN")
    candidates = [override] if override else glob.glob("/usr/lib/postgresql/*/bin")
    found = [Path(c) for c in candidates if (Path(c) / "initdb").is_file()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._as_server_user = os.geteuid() == 0

    def run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self._as_server_user:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            log = self.root / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{detail}")

    def start(self) -> None:
        if self._as_server_user:
            account = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database, so that each test starts with no history."""
        import psycopg

        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    bin_dir = _binaries()
    if bin_dir is None:
        _unavailable("no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user(SERVER_USER)):
        _unavailable(f"running as root needs runuser and the '{SERVER_USER}' user")
    # Not under pytest's tmp_path: its folders are private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="auditor-pg-"))
    server = Server(bin_dir, root)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(f"the test server did not start: {exc}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def postgres_url(postgres_server: Server) -> str:
    """The URL of a new, empty database on the test server."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty history: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "history" / "runs.db")
    return str(request.getfixturevalue("postgres_url"))
