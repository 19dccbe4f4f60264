"""Input files and options that used to end in a traceback, an internal error or a misleading message
(issue 11): each is one line on stderr and exit 2, nothing written, or is read as the user meant."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from auditor.collect.options import AuthMode, LiveOptions
from auditor.fleet.tenants_file import load_tenants
from auditor.model.resources import DEFAULT_RULE_PACK, DEMO_SNAPSHOT
from tests.conftest import Run
from tests.fakegraph import scenarios
from tests.fakegraph.server import FakeGraph
from tests.test_collect_auth import _certificate

Cli = Callable[..., Run]
StartGraph = Callable[..., FakeGraph]
TENANT = "0f3c5d2a-7b41-4e8c-9a6d-2b1e4f7c8d90"
CLIENT = "11111111-2222-3333-4444-555555555555"


def one_line_exit_2(run: Run, *needles: str) -> None:
    assert run.code == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "internal error" not in run.stderr, run.stderr
    for needle in needles:
        assert needle in run.stderr, run.stderr


# -- /beta ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["scan", "collect"])
def test_a_beta_graph_url_is_refused_before_any_request(cli: Cli, fake_graph: StartGraph, tmp_path: Path, command):
    server = fake_graph(scenarios.legacy_user_consent())
    beta = server.base_url.removesuffix("/v1.0") + "/beta"
    out = tmp_path / ("out" if command == "scan" else "snapshot.json")

    run = cli(command, "--auth", "token", "--graph-url", beta, "--quiet", "--out", str(out))

    one_line_exit_2(run, "beta endpoint is not supported", server.base_url)  # names the v1.0 URL to use
    assert server.requests == [] and not out.exists()


# -- YAML aliases ------------------------------------------------------------------------------------------

# Four levels (9**5 strings) so that a parser without the guard survives the test; eight would be 9**9.
BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]" for n in range(4)]
)


def test_a_rule_pack_with_yaml_aliases_is_refused(cli: Cli, tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(DEFAULT_RULE_PACK.read_text(encoding="utf-8") + "\nx-bomb:\n  " + BILLION_LAUGHS.replace(
        "\n", "\n  "), encoding="utf-8")

    run = cli("scan", "--demo", "--rules", str(pack), "--out", str(tmp_path / "out"))

    one_line_exit_2(run, str(pack), "YAML alias")
    assert not (tmp_path / "out").exists()


def test_an_exceptions_file_with_a_yaml_merge_key_is_refused(cli: Cli, tmp_path: Path) -> None:
    risks = tmp_path / "risks.yaml"
    risks.write_text(
        "base: &base {owner: ops, reason: waiting, expires: 2099-01-01}\n"
        "accepted:\n  - <<: *base\n    rule_id: HDM-ACW-06\n", encoding="utf-8")

    run = cli("scan", "--demo", "--exceptions", str(risks), "--out", str(tmp_path / "out"))

    one_line_exit_2(run, str(risks), "YAML alias", "line 3")


# -- numbers and keys ---------------------------------------------------------------------------------------


def test_a_5000_digit_integer_in_a_snapshot_is_an_input_error(cli: Cli, tmp_path: Path) -> None:
    data = json.loads(DEMO_SNAPSHOT.read_text(encoding="utf-8"))
    text = json.dumps(data).replace('"requestDurationInDays": 30', '"requestDurationInDays": ' + "9" * 5000)
    assert "9" * 5000 in text
    snapshot = tmp_path / "big.json"
    snapshot.write_text(text, encoding="utf-8")

    run = cli("scan", "--snapshot", str(snapshot), "--out", str(tmp_path / "out"))

    one_line_exit_2(run, str(snapshot), "not valid JSON (a number too long to read: more than 4300 digits)")
    assert not (tmp_path / "out").exists()


def test_an_encrypted_key_without_its_password_is_an_input_error(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", raising=False)
    key, cert = _certificate(tmp_path)
    pem = tmp_path / "auditor.pem"
    encryption = serialization.BestAvailableEncryption(b"a-password")
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
                    + cert.public_bytes(serialization.Encoding.PEM))

    run = cli("collect", "--auth", "certificate", "--tenant-id", TENANT, "--client-id", CLIENT,
              "--certificate", str(pem), "--out", str(tmp_path / "s.json"))

    one_line_exit_2(run, str(pem), "encrypted", "AZURE_CLIENT_CERTIFICATE_PASSWORD")


# -- the fleet's tenants file ----------------------------------------------------------------------------

ROWS = [["name", "tenant_id", "app_id"], ["Contoso", "contoso.onmicrosoft.com", ""],
        ["Müller; Söhne", "mueller.onmicrosoft.com", CLIENT]]


@pytest.mark.parametrize(
    ("prefix", "delimiter", "bom"),
    [("", ",", False), ("", ";", False), ("", "\t", False), ("sep=;\r\n", ";", False), ("", ";", True),
     ("sep=,\n", ",", True), ("sep=\t\n", "\t", False)],
)
def test_tenants_files_as_spreadsheets_save_them_are_read(tmp_path: Path, prefix: str, delimiter: str, bom: bool):
    def cell(value: str) -> str:
        return f'"{value}"' if delimiter in value else value

    text = prefix + "\r\n".join(delimiter.join(cell(value) for value in row) for row in ROWS) + "\r\n"
    path = tmp_path / "tenants.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))

    rows = load_tenants(path, LiveOptions(auth=AuthMode.TOKEN))

    assert [(r.name, r.tenant_id, r.app_id) for r in rows] == [
        ("Contoso", "contoso.onmicrosoft.com", None), ("Müller; Söhne", "mueller.onmicrosoft.com", CLIENT)]
    assert rows[1].row == 3 + bool(prefix)  # as a text editor numbers the lines


def test_an_unreadable_tenants_file_names_the_delimiter_and_the_encoding(cli: Cli, tmp_path: Path) -> None:
    pipes = tmp_path / "pipes.csv"
    pipes.write_text("name|tenant_id\nA|a\n", encoding="utf-8")
    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes("name;tenant_id\nM\xfcller;a\n".encode("cp1252"))

    one_line_exit_2(cli("fleet", str(pipes), "--out", str(tmp_path / "out")),
                    "unknown column 'name|tenant_id'", "comma-separated UTF-8")
    one_line_exit_2(cli("fleet", str(cp1252), "--out", str(tmp_path / "out")),
                    "not UTF-8", "byte 0xfc", "cp1252")
    assert not (tmp_path / "out").exists()
