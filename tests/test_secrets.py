"""Issue 7, point 4: the client secret, the certificate password and the token given to the auditor appear
in no output (stdout, stderr, the --verbose log) and no file it writes (snapshots, results, reports,
history, fleet files), whatever the command and however it ends."""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
import pytest
from azure.core.pipeline.policies import RetryPolicy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from auditor.collect.verbose import scrub, verbose_logging
from auditor.model.resources import DEMO_SNAPSHOT
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.fixtures import cli_args
from tests.fakegraph.server import FakeGraph, unused_local_url
from tests.fakegraph.tenant import HDM_APP_ID

if TYPE_CHECKING:
    from tests.postgres import Server

pytest_plugins = ["tests.postgres"]

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.known-test-token.c2lnbmF0dXJl"
SECRET = "Kq8~known-client-secret-value-0123456789"
PASSWORD = "known-certificate-password/42"
DB_PASSWORD = "known-db@pass/word:7"
SECRETS = (TOKEN, SECRET, PASSWORD, DB_PASSWORD)
TENANT = "11111111-1111-4111-8111-111111111111"
CLIENT = "22222222-2222-4222-8222-222222222222"


def _certificate(path: Path) -> Path:
    """A self-signed certificate with its private key encrypted by PASSWORD (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auditor test")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(PASSWORD.encode())
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    return path


@pytest.fixture
def no_sign_in_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign-in requests go to a closed local port (through a proxy that is not there), fail at once and
    are not retried after a pause: no test reaches the internet or waits."""
    monkeypatch.setenv("HTTPS_PROXY", unused_local_url().removesuffix("/v1.0"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(RetryPolicy, "sleep", lambda *args, **kwargs: None)


def forms(secret: str) -> set[str]:
    """A secret as it may reach an output: as is, percent-encoded (either hex case), escaped in JSON."""
    encoded = quote(secret, safe="")
    return {secret, encoded, re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), encoded), json.dumps(secret)[1:-1]}


def echoing(*secrets: str) -> str:
    """A Graph error message that echoes secrets raw, percent-encoded in a URL and inside nested JSON."""
    return "; ".join(f"Denied: Bearer {s} see https://graph.local/err?t={quote(s, safe='')} "
                     f"{json.dumps({'inner': {'detail': json.dumps({'auth': s})}})}" for s in secrets)


def texts(path: Path) -> list[bytes]:
    """A file's bytes; for a workbook (a zip), the bytes of each of its parts."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as workbook:
            return [workbook.read(name) for name in workbook.namelist()]
    return [path.read_bytes()]


def _every_command(cli: Cli, server: FakeGraph, tmp_path: Path) -> list[Run]:
    live = [*cli_args(server), "--app-id", HDM_APP_ID, "--verbose"]
    history = ["--history", str(tmp_path / "history.db")]
    snapshot = str(tmp_path / "snapshot.json")
    certificate = str(_certificate(tmp_path / "auditor.pem"))
    sign_in = ["--tenant-id", TENANT, "--client-id", CLIENT, "--graph-url", server.base_url, "--verbose"]
    (tmp_path / "tenants.csv").write_text(f"name,graph_url,auth\nfabrikam,{server.base_url},token\n")
    (tmp_path / "stolen.csv").write_text(f"name,graph_url,auth,token_env\nx,{server.base_url},token,PGPASSWORD\n")
    closed = unused_local_url().split("//")[1].split("/")[0]
    database = f"postgresql://auditor:{quote(DB_PASSWORD, safe='')}@{closed}/auditor"
    raw_at = f"postgresql://auditor:{DB_PASSWORD}@{closed}/auditor"
    return [
        cli("scan", *live, "--out", str(tmp_path / "live-1"), *history),
        cli("scan", *live, "--out", str(tmp_path / "live-2"), *history),
        cli("collect", *live, "--out", snapshot),
        cli("scan", "--snapshot", snapshot, "--out", str(tmp_path / "offline"), "--verbose"),
        cli("scan", "--demo", "--out", str(tmp_path / "demo"), "--format", "html,xlsx,json,junit"),
        cli("rules"),
        cli("history", *history),
        cli("diff", *history, "--tenant", server.tenant.id, "--json"),
        cli("diff", str(tmp_path / "live-1" / "result.json"), str(tmp_path / "live-2" / "result.json")),
        cli("fleet", str(tmp_path / "tenants.csv"), "--out", str(tmp_path / "fleet")),
        cli("scan", "--auth", "secret", *sign_in, "--out", str(tmp_path / "secret")),
        cli("scan", "--auth", "certificate", "--certificate", certificate, *sign_in, "--out", str(tmp_path / "cert")),
        cli("collect", "--auth", "certificate", "--certificate", certificate, *sign_in, "--out", snapshot + ".2"),
        cli("scan", "--demo", "--out", str(tmp_path / "pg"), "--history", database),
        cli("history", "--history", raw_at),
        cli("fleet", str(tmp_path / "stolen.csv"), "--out", str(tmp_path / "stolen")),
    ]


def test_no_secret_in_any_output_or_file_of_any_command(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_sign_in_service: None
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", PASSWORD)
    monkeypatch.setenv("PGPASSWORD", DB_PASSWORD)
    server = fake_graph(scenarios.workflow_only(), token=TOKEN, page_size=2)
    server.fail(r"^/organization", 429, retry_after=0, where="batch")  # a retry in the log
    # Graph echoing secrets: in the error code, and in the message raw, percent-encoded and in nested JSON.
    server.fail(r"^/policies/authorizationPolicy", 403, times=None, code=f"Forbidden{TOKEN}",
                message=echoing(TOKEN, SECRET, PASSWORD, DB_PASSWORD))

    runs = _every_command(cli, server, tmp_path)

    assert [run.code for run in runs] == [3, 3, 3, 3, 1, 0, 0, 0, 0, 3, 3, 3, 3, 2, 2, 2], [r.stderr for r in runs]
    assert "'authorization': '<redacted>'" in runs[0].stderr  # the log shows the header, not its value
    assert '"error_code": "Forbidden<redacted>"' in (tmp_path / "live-1" / "result.json").read_text()
    assert "HTTP 429 on GET /organization: attempt 2" in runs[0].stderr  # and the retries
    assert "sign-in failed" in runs[12].stderr
    assert "token_env 'PGPASSWORD'" in runs[-1].stderr and not (tmp_path / "stolen").exists()
    assert all(request.authorization == f"Bearer {TOKEN}" for request in server.requests)
    every_form = [form for secret in SECRETS for form in forms(secret)]
    for run in runs:
        for form in every_form:
            assert form not in run.stdout and form not in run.stderr, (form, run.stderr)
    files = [path for path in tmp_path.rglob("*") if path.is_file() and path.suffix not in (".pem", ".csv")]
    assert len(files) > 25
    assert any(path.parent.name == "fleet" and path.suffix == ".xlsx" for path in files)
    for path in files:
        for content in texts(path):
            assert not any(form.encode() in content for form in every_form), path


def test_a_token_the_http_library_would_quote_is_refused_without_showing_it(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_graph(scenarios.fully_consented())
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", "abcdefgh-the-secret-part\ntail")  # h11 would quote it

    run = cli("scan", *cli_args(server), "--out", str(tmp_path / "out"), "--verbose")

    assert run.code == 2
    assert "the-secret-part" not in run.stderr and "AUDITOR_ACCESS_TOKEN" in run.stderr
    assert server.requests == []


def test_the_verbose_log_scrubs_what_a_library_logs(capsys: pytest.CaptureFixture[str]) -> None:
    with verbose_logging(True):
        logging.getLogger("azure.core.pipeline").info("headers: {'Authorization': 'Bearer abc.def.ghi'}")
        logging.getLogger("auditor.collect").debug("body: client_secret=s3cr3t-value&grant_type=x\n  next line")
    logging.getLogger("auditor.collect").info("after the command: not logged")

    err = capsys.readouterr().err
    assert "abc.def.ghi" not in err and "s3cr3t-value" not in err
    assert "'Authorization': '<redacted>'" in err and "client_secret=<redacted>" in err
    assert "\n  next line" in err and "after the command" not in err


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("Authorization: Bearer eyJabc.def", "Authorization: <redacted>"),
        ('{"access_token": "eyJabc", "expires_in": 3599}', '{"access_token": "<redacted>", "expires_in": 3599}'),
        ("sent bearer eyJabc.def to graph", "sent Bearer <redacted> to graph"),
        ("password=hunter22&user=x", "password=<redacted>&user=x"),
        ("\x1b[31mred", "\\x1b[31mred"),
    ],
)
def test_scrub(line: str, shown: str) -> None:
    assert scrub(line) == shown


@pytest.mark.parametrize("variable", ["AZURE_CLIENT_SECRET", "PGPASSWORD", "HOME", "AUDITOR_TOKENS"])
def test_a_fleet_row_may_only_name_a_token_variable(
    cli: Cli, fake_graph: StartGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    server = fake_graph(scenarios.fully_consented())
    monkeypatch.setenv(variable, SECRET)
    tenants = tmp_path / "tenants.csv"
    tenants.write_text(f"name,graph_url,auth,token_env\nx,{server.base_url},token,{variable}\n")

    run = cli("fleet", str(tenants), "--out", str(tmp_path / "out"))

    assert run.code == 2
    assert run.stderr == (f"auditor: {tenants} row 2: token_env '{variable}': name AUDITOR_ACCESS_TOKEN or a "
                          "variable whose name starts with AUDITOR_TOKEN_ (then letters, digits, _)\n")
    assert server.requests == [] and not (tmp_path / "out").exists()


def test_the_database_password_is_redacted_from_every_output_and_the_history(
    cli: Cli, tmp_path: Path, postgres_server: Server
) -> None:
    url = postgres_server.create_database()  # trust authentication: any password is accepted
    with_password = url.replace("postgres@", f"postgres:{quote(DB_PASSWORD, safe='')}@")
    snapshot = json.loads(DEMO_SNAPSHOT.read_text())
    snapshot["tenant"]["display_name"] = f"Contoso {DB_PASSWORD} Ltd"  # tenant data that happens to hold it
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot))

    runs = [
        cli("scan", "--snapshot", str(path), "--out", str(tmp_path / "out"), "--format", "html,xlsx,json,junit",
            "--history", with_password),
        cli("history", "--history", with_password),
        cli("diff", "--history", with_password, "--tenant", snapshot["tenant"]["id"]),
    ]

    assert [run.code for run in runs] == [1, 0, 0], [run.stderr for run in runs]
    assert "Contoso <redacted> Ltd" in runs[0].stdout  # the summary line
    every_form = forms(DB_PASSWORD)
    for run in runs:
        assert not any(form in run.stdout + run.stderr for form in every_form)
    for file in (tmp_path / "out").iterdir():
        for content in texts(file):
            assert not any(form.encode() in content for form in every_form), file
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT tenant_name FROM auditor_runs").fetchall() == [("Contoso <redacted> Ltd",)]


def test_redaction_holds_with_a_token_per_tenant_of_a_large_fleet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fleet remembers every row's token: 5,000 of them (50,000 forms) are all still found, in one pass,
    and where one secret contains another the whole of the longer one goes."""
    from auditor.model import errors

    monkeypatch.setattr(errors, "_secrets", frozenset())
    tokens = [f"tenant-token-{number:05}-{'x' * 20}" for number in range(5000)]
    for token in tokens:
        errors.remember_secret(token)
    errors.remember_secret("short-secret")
    errors.remember_secret("short-secret-and-more")
    text = (f"a {tokens[0]} b {quote(tokens[4999], safe='')} c {json.dumps(tokens[2500])} "
            "d short-secret-and-more e short-secret f")

    assert errors.redact(text) == 'a <redacted> b <redacted> c "<redacted>" d <redacted> e <redacted> f'
    assert errors.redact("nothing secret here") == "nothing secret here"
