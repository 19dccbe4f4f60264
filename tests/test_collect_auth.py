"""Sign-in (`--auth`), national clouds and `--graph-url`: credentials, endpoints and input errors."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from azure.identity import (
    AzureCliCredential,
    CertificateCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    DeviceCodeCredential,
    InteractiveBrowserCredential,
    ManagedIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from auditor.collect import auth, collect_snapshot
from auditor.collect.auth import StaticTokenCredential, build_credential, token_scopes
from auditor.collect.clouds import resolve_endpoints
from auditor.collect.options import AuthMode, Cloud, LiveOptions
from auditor.model.errors import InputError
from auditor.model.snapshot import CollectionTarget

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"


@pytest.fixture(autouse=True)
def no_secrets_in_environment(monkeypatch):
    for name in (auth.SECRET_ENV, auth.CERTIFICATE_PASSWORD_ENV, auth.TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("cloud", "authority", "graph"),
    [
        (Cloud.GLOBAL, "login.microsoftonline.com", "https://graph.microsoft.com"),
        (Cloud.USGOV, "login.microsoftonline.us", "https://graph.microsoft.us"),
        (Cloud.USGOVDOD, "login.microsoftonline.us", "https://dod-graph.microsoft.us"),
        (Cloud.CHINA, "login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
    ],
)
def test_cloud_sets_authority_graph_host_and_token_audience(monkeypatch, cloud, authority, graph):
    monkeypatch.setenv(auth.SECRET_ENV, "s3cret")
    options = LiveOptions(tenant_id=TENANT, client_id=CLIENT, auth=AuthMode.SECRET, cloud=cloud)

    endpoints = resolve_endpoints(options)
    credential = build_credential(options)

    assert (endpoints.authority_host, endpoints.graph_url) == (authority, f"{graph}/v1.0")
    assert credential._authority == f"https://{authority}"
    assert token_scopes(options, endpoints) == [f"{graph}/.default"]


def test_graph_url_overrides_the_base_url_but_not_the_audience():
    options = LiveOptions(cloud=Cloud.USGOV, graph_url="https://proxy.example.com/v1.0/")

    endpoints = resolve_endpoints(options)

    assert endpoints.graph_url == "https://proxy.example.com/v1.0"
    assert token_scopes(options, endpoints) == ["https://graph.microsoft.us/.default"]


@pytest.mark.parametrize("url", ["http://graph.example.com/v1.0", "http://10.0.0.5:8080/v1.0"])
def test_plain_http_is_refused_except_to_loopback(url):
    with pytest.raises(InputError, match="plain http is only allowed to localhost"):
        resolve_endpoints(LiveOptions(auth=AuthMode.TOKEN, graph_url=url))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1.0", "http://localhost:1/v1.0", "http://[::1]:9/v1.0"])
def test_plain_http_to_loopback_is_allowed(url):
    assert resolve_endpoints(LiveOptions(auth=AuthMode.TOKEN, graph_url=url)).graph_url == url


@pytest.mark.parametrize("url", ["graph.microsoft.com", "ftp://x/v1.0", "https://u:p@graph.microsoft.com/v1.0"])
def test_malformed_graph_url_is_an_input_error(url):
    with pytest.raises(InputError):
        resolve_endpoints(LiveOptions(graph_url=url))


def test_token_mode_hands_out_the_environment_token_as_is(monkeypatch):
    monkeypatch.setenv(auth.TOKEN_ENV, "eyJ.raw.token")

    credential = build_credential(LiveOptions(auth=AuthMode.TOKEN))

    assert isinstance(credential, StaticTokenCredential)
    assert credential.get_token("https://graph.microsoft.com/.default", enable_cae=True).token == "eyJ.raw.token"
    assert "eyJ" not in repr(credential)


def test_token_mode_without_the_token_is_an_input_error():
    with pytest.raises(InputError, match="needs the environment variable AUDITOR_ACCESS_TOKEN"):
        build_credential(LiveOptions(auth=AuthMode.TOKEN))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (LiveOptions(auth=AuthMode.SECRET, client_id=CLIENT), "--auth secret needs --tenant-id"),
        (LiveOptions(auth=AuthMode.SECRET), "--auth secret needs --tenant-id and --client-id"),
        (LiveOptions(auth=AuthMode.SECRET, tenant_id=TENANT, client_id=CLIENT), "AZURE_CLIENT_SECRET"),
        (LiveOptions(auth=AuthMode.CERTIFICATE, tenant_id=TENANT, client_id=CLIENT), "needs --certificate"),
        (
            LiveOptions(auth=AuthMode.CERTIFICATE, tenant_id=TENANT, client_id=CLIENT, certificate=Path("/nope.pem")),
            "/nope.pem: file not found",
        ),
        (LiveOptions(auth=AuthMode.DEVICE_CODE, tenant_id="not a tenant!"), "--auth device-code: "),
    ],
)
def test_missing_or_bad_inputs_are_one_line_input_errors(options, message):
    with pytest.raises(InputError, match=message) as caught:
        build_credential(options)
    assert "\n" not in str(caught.value)


def test_secret_comes_from_the_environment_only(monkeypatch):
    monkeypatch.setenv(auth.SECRET_ENV, "s3cret")

    credential = build_credential(LiveOptions(auth=AuthMode.SECRET, tenant_id=TENANT, client_id=CLIENT))

    assert isinstance(credential, ClientSecretCredential)
    assert credential._tenant_id == TENANT and credential._client_id == CLIENT


def _certificate(tmp_path: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auditor")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_certificate_from_pem(tmp_path):
    key, cert = _certificate(tmp_path)
    pem = tmp_path / "auditor.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    options = LiveOptions(auth=AuthMode.CERTIFICATE, tenant_id=TENANT, client_id=CLIENT, certificate=pem)

    assert isinstance(build_credential(options), CertificateCredential)


def test_certificate_from_pfx_with_password_from_the_environment(tmp_path, monkeypatch):
    key, cert = _certificate(tmp_path)
    pfx = tmp_path / "auditor.pfx"
    encryption = serialization.BestAvailableEncryption(b"pfx-pass")
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(b"auditor", key, cert, None, encryption))
    options = LiveOptions(auth=AuthMode.CERTIFICATE, tenant_id=TENANT, client_id=CLIENT, certificate=pfx)

    with pytest.raises(InputError, match="AZURE_CLIENT_CERTIFICATE_PASSWORD"):
        build_credential(options)
    monkeypatch.setenv(auth.CERTIFICATE_PASSWORD_ENV, "pfx-pass")
    assert isinstance(build_credential(options), CertificateCredential)


def test_garbage_certificate_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")

    with pytest.raises(InputError, match="cannot load it as a PEM or PFX certificate"):
        build_credential(LiveOptions(auth=AuthMode.CERTIFICATE, tenant_id=TENANT, client_id=CLIENT, certificate=bad))


def test_device_code_prompt_goes_to_stderr(capsys):
    options = LiveOptions(auth=AuthMode.DEVICE_CODE, tenant_id=TENANT, cloud=Cloud.CHINA)

    credential = build_credential(options)
    credential._prompt_callback("https://microsoft.com/devicelogin", "ABCD-1234", datetime.datetime(2025, 1, 1, 9, 45))

    assert isinstance(credential, DeviceCodeCredential)
    assert credential._client_id == auth.GRAPH_COMMAND_LINE_TOOLS_CLIENT_ID
    assert credential._authority == "https://login.chinacloudapi.cn"
    out, err = capsys.readouterr()
    assert out == "" and "enter the code ABCD-1234" in err and "https://microsoft.com/devicelogin" in err


def test_interactive_modes_ask_for_the_read_permissions_by_name():
    options = LiveOptions(auth=AuthMode.BROWSER, client_id=CLIENT)

    credential = build_credential(options)

    assert isinstance(credential, InteractiveBrowserCredential) and credential._client_id == CLIENT
    assert token_scopes(options, resolve_endpoints(options)) == [
        f"https://graph.microsoft.com/{name}" for name in auth.DELEGATED_PERMISSIONS
    ]


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        (AuthMode.AZURE_CLI, AzureCliCredential),
        (AuthMode.MANAGED_IDENTITY, ManagedIdentityCredential),
        (AuthMode.DEFAULT, DefaultAzureCredential),
    ],
)
def test_ambient_modes(mode, kind):
    options = LiveOptions(auth=mode, tenant_id=TENANT, client_id=CLIENT)

    assert isinstance(build_credential(options), kind)
    assert auth.token_request_options(options) == ({"tenant_id": TENANT} if mode is AuthMode.DEFAULT else {})


@pytest.mark.parametrize(
    "target",
    [
        CollectionTarget(app_id="not-a-guid"),
        CollectionTarget(legacy_app_ids=["../../users"]),
    ],
)
def test_ids_that_are_not_guids_are_refused_before_any_request(target, monkeypatch):
    monkeypatch.setenv(auth.TOKEN_ENV, "token")

    with pytest.raises(InputError, match="is not a GUID"):
        collect_snapshot(LiveOptions(auth=AuthMode.TOKEN, graph_url="http://127.0.0.1:9/v1.0"), target)
