"""The HTTP proxy the environment sets, for Graph requests (httpx) and sign-in (azure-identity, which reads
the same variables itself).

`HTTPS_PROXY` serves https URLs, `HTTP_PROXY` http ones, `ALL_PROXY` both when those are not set; `NO_PROXY`
lists hosts sent directly (comma-separated host names, `host:port`, domain suffixes such as `.example.com`,
or `*`; matched as urllib matches them, with no CIDR ranges). A
lower-case variable wins over its upper-case twin. Only these variables are read, never the whole
environment: a fleet may hold thousands of token variables, and httpx's own reading scans them all for
each client (19 ms per tenant with 10,000).

A proxy URL is `http://` or `https://`, a host and an optional port from 1 to 65535; anything else is a
usage error before any request (`environment_proxy`, `check_proxies`). Messages show a proxy as scheme://host:port only:
its user name and password are never shown (they are also remembered as secrets, see
`auditor.model.errors.remember_environment_secrets`).
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from auditor.collect.clouds import resolve_endpoints
from auditor.collect.options import AuthMode, LiveOptions
from auditor.model.errors import InputError
from auditor.model.tenant_text import has_space_or_control


@dataclass(frozen=True)
class ProxySetting:
    """One proxy variable as set: its name (as the environment spells it) and its URL."""

    variable: str
    url: str


def _variable(name: str) -> tuple[str, str] | None:
    """(the variable's name as set, its value) of NAME_proxy, the lower-case one first."""
    for variable in (f"{name}_proxy", f"{name.upper()}_PROXY"):
        value = os.environ.get(variable, "").strip()
        if value:
            return variable, value
    return None


def _setting(scheme: str) -> ProxySetting | None:
    found = _variable(scheme)
    if found is None:
        return None
    variable, value = found
    return ProxySetting(variable, value if "://" in value else f"http://{value}")


def check_proxies(urls: Iterable[str]) -> None:
    """The proxy the environment sets for each of `urls` (those the run will reach) is usable, else InputError
    (exit 2) naming its variable: a setting of the machine is the command line's error, found before any
    request or file is made. A variable no URL uses (ALL_PROXY behind HTTPS_PROXY, a host in NO_PROXY) is
    not judged: a developer's SOCKS ALL_PROXY must not stop a scan that never uses it."""
    for url in dict.fromkeys(urls):
        environment_proxy(url)


def reached_urls(options: LiveOptions) -> list[str]:
    """The URLs a collection with `options` reaches: Graph, and the sign-in authority unless a token is given."""
    endpoints = resolve_endpoints(options)
    sign_in = [] if options.auth is AuthMode.TOKEN else [f"https://{endpoints.authority_host}/"]
    return [endpoints.graph_url, *sign_in]


def _usable(url: str) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is no number or out of range, a broken IPv6 address
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0 and not has_space_or_control(url)


def environment_proxy(url: str) -> str | None:
    """The proxy URL (credentials included, for the proxy) the environment sets for `url`, or None;
    InputError naming the variable when that proxy cannot be used."""
    chosen = _chosen(url)
    if chosen is None:
        return None
    if not _usable(chosen.url):
        raise InputError(f"{chosen.variable} is not a usable proxy URL: expected http://host:port or "
                         "https://host:port, with a port from 1 to 65535 (SOCKS proxies are not supported)")
    return chosen.url


def _chosen(url: str) -> ProxySetting | None:
    target = urlsplit(url)
    chosen = _setting(target.scheme) or _setting("all")
    return None if chosen is None or _bypassed(target.hostname or "", target.port) else chosen


def _bypassed(host: str, port: int | None) -> bool:
    """NO_PROXY names the host (urllib's matching, with or without the port), or holds a `*` entry."""
    found = _variable("no")
    if found is None:
        return False
    entries = found[1]
    if "*" in (entry.strip() for entry in entries.split(",")):
        return True
    return urllib.request.proxy_bypass_environment(f"{host}:{port}" if port else host, {"no": entries})


def shown(proxy: str) -> str:
    """A proxy URL as messages show it: scheme://host:port as written, without user name or password."""
    parts = urlsplit(proxy)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
