"""Where to sign in and which Graph to read, per national cloud (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from azure.identity import AzureAuthorityHosts

from auditor.collect.options import Cloud, LiveOptions
from auditor.model.errors import InputError


@dataclass(frozen=True)
class Endpoints:
    authority_host: str  # e.g. login.microsoftonline.com
    graph_resource: str  # the token audience, e.g. https://graph.microsoft.com
    graph_url: str  # the base URL requests go to, e.g. https://graph.microsoft.com/v1.0

    @property
    def graph_host(self) -> str:
        return urlsplit(self.graph_url).hostname or ""


_CLOUDS: dict[Cloud, tuple[str, str]] = {
    Cloud.GLOBAL: (AzureAuthorityHosts.AZURE_PUBLIC_CLOUD, "https://graph.microsoft.com"),
    Cloud.USGOV: (AzureAuthorityHosts.AZURE_GOVERNMENT, "https://graph.microsoft.us"),
    Cloud.USGOVDOD: (AzureAuthorityHosts.AZURE_GOVERNMENT, "https://dod-graph.microsoft.us"),
    Cloud.CHINA: (AzureAuthorityHosts.AZURE_CHINA, "https://microsoftgraph.chinacloudapi.cn"),
}


# The hosts the SDK's authentication provider accepts over plain http.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def resolve_endpoints(options: LiveOptions) -> Endpoints:
    """The cloud's endpoints, with `graph_url` (if given) replacing the Graph base URL.

    A token is never sent over plain http except to this machine (a local fake or replay).
    """
    authority_host, graph_resource = _CLOUDS[options.cloud]
    graph_url = (options.graph_url or f"{graph_resource}/v1.0").rstrip("/")
    parts = urlsplit(graph_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError(f"--graph-url {graph_url!r} is not an http(s) URL such as https://graph.microsoft.com/v1.0")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InputError("--graph-url must be a plain base URL (no user, query or fragment)")
    segments = parts.path.split("/")
    if "beta" in (segment.lower() for segment in segments):
        # Refused, not rewritten: beta answers differently (e.g. the consent policies' property), and a
        # rewritten URL could reach something the user did not name.
        v1 = "/".join("v1.0" if segment.lower() == "beta" else segment for segment in segments)
        raise InputError(f"--graph-url {graph_url!r}: the Graph beta endpoint is not supported; "
                         f"the auditor reads v1.0 only (e.g. {parts.scheme}://{parts.netloc}{v1})")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InputError(
            f"--graph-url {graph_url!r}: plain http is only allowed to localhost, 127.0.0.1 or [::1]; use https"
        )
    return Endpoints(authority_host, graph_resource, graph_url)
