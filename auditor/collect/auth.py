"""Credentials for each `--auth` mode (azure-identity), and what to ask the token for.

Secrets never come from the command line: the client secret only from AZURE_CLIENT_SECRET, the
certificate password only from AZURE_CLIENT_CERTIFICATE_PASSWORD, a ready token only from
AUDITOR_ACCESS_TOKEN (or the variable a fleet row names in its `token_env` column). Nothing here
prints or stores a secret or a token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from datetime import datetime
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.identity import (
    AzureCliCredential,
    CertificateCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    DeviceCodeCredential,
    InteractiveBrowserCredential,
    ManagedIdentityCredential,
)

from auditor.collect.clouds import Endpoints, resolve_endpoints
from auditor.collect.options import AuthMode, LiveOptions
from auditor.model.errors import InputError, remember_secret

SECRET_ENV = "AZURE_CLIENT_SECRET"
CERTIFICATE_PASSWORD_ENV = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
TOKEN_ENV = "AUDITOR_ACCESS_TOKEN"  # the default of LiveOptions.token_env
# Also read by azure-identity's EnvironmentCredential in the default chain.
_SECRET_ENVS = (SECRET_ENV, CERTIFICATE_PASSWORD_ENV, "AZURE_PASSWORD")

# "Microsoft Graph Command Line Tools", the public client of Microsoft Graph PowerShell: it lets
# an administrator consent to the read permissions below on first sign-in, so interactive modes
# work without registering an app first. --client-id replaces it with your own public client.
GRAPH_COMMAND_LINE_TOOLS_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

# The delegated permissions interactive sign-in asks for (the application permissions of the
# same names are what an app registration needs; see the README).
DELEGATED_PERMISSIONS: tuple[str, ...] = (
    "Policy.Read.All",
    "Application.Read.All",
    "Directory.Read.All",
    "RoleManagement.Read.Directory",
    "ConsentRequest.Read.All",
)

_INTERACTIVE = (AuthMode.DEVICE_CODE, AuthMode.BROWSER)

# azure-identity logs a warning for each failed sign-in attempt; without a handler Python prints it
# on stderr next to the one-line error the CLI already shows for it (unless logging is configured).
logging.getLogger("azure.identity").addHandler(logging.NullHandler())


class StaticTokenCredential:
    """A TokenCredential that hands out a bearer token obtained elsewhere, as is (`--auth token`)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        # The real expiry is unknown: claim an hour, Graph answers 401 if it is over.
        return AccessToken(self._token, int(time.time()) + 3600)

    def close(self) -> None:
        """Nothing to release (TokenCredential protocol)."""

    def __repr__(self) -> str:
        return "StaticTokenCredential(<token from the environment>)"


def _require(options: LiveOptions, *names: str) -> None:
    missing = [f"--{name.replace('_', '-')}" for name in names if not getattr(options, name)]
    if missing:
        raise InputError(f"--auth {options.auth.value} needs {' and '.join(missing)}")


def _env(name: str, mode: AuthMode) -> str:
    value = os.environ.get(name, "").strip()  # a token file saved on Windows ends in CR LF
    if not value:
        raise InputError(f"--auth {mode.value} needs the environment variable {name}")
    return value


def _token(name: str) -> str:
    """The bearer token in `name`, refused (without echoing it) unless it is printable ASCII: HTTP
    libraries quote a header value they reject in their error message, which would show the token."""
    token = _env(name, AuthMode.TOKEN)
    if not all("!" <= char <= "~" for char in token):
        raise InputError(f"--auth token: {name} holds spaces or characters no bearer token has")
    return token


def _show_device_code(verification_uri: str, user_code: str, expires_on: datetime) -> None:
    # sys.stderr is looked up at call time: the progress display may have wrapped it.
    print(
        f"To sign in, open {verification_uri} and enter the code {user_code} "
        f"(valid until {expires_on:%H:%M}).",
        file=sys.stderr,
        flush=True,
    )


def _certificate_credential(options: LiveOptions, authority: str) -> TokenCredential:
    _require(options, "tenant_id", "client_id", "certificate")
    path = options.certificate
    assert path is not None  # checked by _require
    if not path.is_file():
        raise InputError(f"--certificate {path}: file not found")
    try:
        return CertificateCredential(
            options.tenant_id,
            options.client_id,
            certificate_path=str(path),
            password=os.environ.get(CERTIFICATE_PASSWORD_ENV) or None,
            authority=authority,
        )
    except TypeError:  # cryptography: "Password was not given but private key is encrypted"
        raise InputError(
            f"--certificate {path}: the private key is encrypted: put its password in {CERTIFICATE_PASSWORD_ENV}"
        ) from None
    except (ValueError, OSError) as exc:
        raise InputError(
            f"--certificate {path}: cannot load it as a PEM or PFX certificate with its private key "
            f"(is {CERTIFICATE_PASSWORD_ENV} right?): {exc}"
        ) from None


class OffLoopCredential:
    """A blocking azure-identity credential made awaitable for an event loop that several tenants share.

    Signing in (certificate, secret, device code, ...) calls the authority over the network; run on
    the loop, one tenant's sign-in would stall every other tenant of the fleet worker. Its token
    requests run in a thread of their own instead; the credential, its token cache and its tokens
    stay this tenant's. kiota's access token provider awaits what `get_token` returns.
    """

    def __init__(self, credential: TokenCredential) -> None:
        self._credential = credential

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return await asyncio.to_thread(self._credential.get_token, *scopes, **kwargs)

    def __repr__(self) -> str:
        return f"OffLoopCredential({self._credential!r})"


def for_event_loop(credential: TokenCredential) -> TokenCredential | OffLoopCredential:
    """`credential` as the Graph client should call it on a shared loop: a token from the environment
    needs no network, so it is used as is (no thread per request)."""
    return credential if isinstance(credential, StaticTokenCredential) else OffLoopCredential(credential)


def build_credential(options: LiveOptions, endpoints: Endpoints | None = None) -> TokenCredential:
    """The azure-identity credential for `options.auth`; missing or bad inputs are one InputError line."""
    endpoints = endpoints or resolve_endpoints(options)
    for name in (*_SECRET_ENVS, options.token_env):
        remember_secret(os.environ.get(name, "").strip())
    try:
        return _credential(options, endpoints.authority_host)
    except ValueError as exc:  # azure-identity's check of a tenant or client id
        raise InputError(f"--auth {options.auth.value}: {exc}") from None


def _credential(options: LiveOptions, authority: str) -> TokenCredential:
    mode = options.auth
    if mode is AuthMode.TOKEN:
        return StaticTokenCredential(_token(options.token_env))
    if mode is AuthMode.SECRET:
        _require(options, "tenant_id", "client_id")
        secret = _env(SECRET_ENV, mode)
        return ClientSecretCredential(options.tenant_id, options.client_id, secret, authority=authority)
    if mode is AuthMode.CERTIFICATE:
        return _certificate_credential(options, authority)
    if mode is AuthMode.DEVICE_CODE:
        return DeviceCodeCredential(
            client_id=options.client_id or GRAPH_COMMAND_LINE_TOOLS_CLIENT_ID,
            tenant_id=options.tenant_id or "organizations",
            authority=authority,
            prompt_callback=_show_device_code,
        )
    if mode is AuthMode.BROWSER:
        return InteractiveBrowserCredential(
            client_id=options.client_id or GRAPH_COMMAND_LINE_TOOLS_CLIENT_ID,
            tenant_id=options.tenant_id or "organizations",
            authority=authority,
        )
    if mode is AuthMode.AZURE_CLI:
        # The Azure CLI signs in against its own configured cloud (`az cloud set`).
        return AzureCliCredential(tenant_id=options.tenant_id or "")
    if mode is AuthMode.MANAGED_IDENTITY:
        return ManagedIdentityCredential(client_id=options.client_id)
    extra: dict[str, Any] = {}
    if options.client_id:
        extra["managed_identity_client_id"] = options.client_id
    if options.tenant_id:
        extra["additionally_allowed_tenants"] = [options.tenant_id]
    return DefaultAzureCredential(authority=authority, **extra)


def token_scopes(options: LiveOptions, endpoints: Endpoints) -> list[str]:
    """Interactive sign-in asks for the read permissions by name (the administrator can consent
    on the spot); every other mode asks for `.default`, the permissions granted to the app."""
    if options.auth in _INTERACTIVE:
        return [f"{endpoints.graph_resource}/{name}" for name in DELEGATED_PERMISSIONS]
    return [f"{endpoints.graph_resource}/.default"]


def token_request_options(options: LiveOptions) -> dict[str, str]:
    """Extra get_token keywords: the default chain is pointed at --tenant-id this way."""
    if options.auth is AuthMode.DEFAULT and options.tenant_id:
        return {"tenant_id": options.tenant_id}
    return {}
