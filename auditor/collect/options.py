"""The live options of `auditor scan` / `auditor collect` (DESIGN §6, contract)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class AuthMode(str, Enum):
    DEFAULT = "default"
    SECRET = "secret"
    CERTIFICATE = "certificate"
    DEVICE_CODE = "device-code"
    BROWSER = "browser"
    AZURE_CLI = "azure-cli"
    MANAGED_IDENTITY = "managed-identity"
    TOKEN = "token"


class Cloud(str, Enum):
    GLOBAL = "global"
    USGOV = "usgov"
    USGOVDOD = "usgovdod"
    CHINA = "china"


@dataclass(frozen=True)
class LiveOptions:
    tenant_id: str | None = None
    client_id: str | None = None
    auth: AuthMode = AuthMode.DEFAULT
    certificate: Path | None = None
    cloud: Cloud = Cloud.GLOBAL
    graph_url: str | None = None  # overrides the cloud's Graph base URL, e.g. http://127.0.0.1:8080/v1.0
    quiet: bool = False  # no progress display
    timeout: float = 60.0  # seconds for each HTTP request to Graph, its whole answer included
    deadline: float = 900.0  # seconds for the whole collection: what is unread then is `error`
    token_env: str = "AUDITOR_ACCESS_TOKEN"  # where --auth token reads the token (a fleet row may name another)
