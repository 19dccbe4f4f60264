"""The hosts of each national cloud, so that links and remediation name the tenant's own cloud
(`tenant.cloud` in the snapshot), even when the snapshot was collected behind `--graph-url`.

Rule packs are written for the global cloud; `localize` rewrites their hosts and adds
`-Environment` to `Connect-MgGraph` for the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CloudHosts:
    graph: str
    login: str
    entra: str  # the Microsoft Entra admin center
    powershell_environment: str  # Connect-MgGraph -Environment


HOSTS = {
    "global": CloudHosts("graph.microsoft.com", "login.microsoftonline.com", "entra.microsoft.com", "Global"),
    "usgov": CloudHosts("graph.microsoft.us", "login.microsoftonline.us", "entra.microsoft.us", "USGov"),
    "usgovdod": CloudHosts("dod-graph.microsoft.us", "login.microsoftonline.us", "entra.microsoft.us", "USGovDoD"),
    "china": CloudHosts("microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn", "entra.microsoftonline.cn",
                        "China"),
}
_GLOBAL = HOSTS["global"]
_CONNECT = re.compile(r"\bConnect-MgGraph\b(?![^\n]*-Environment)")


def localize(text: str, cloud: str) -> str:
    """Text written for the global cloud, with the hosts (and PowerShell environment) of `cloud`."""
    hosts = HOSTS[cloud]
    if hosts == _GLOBAL:
        return text
    for field in ("graph", "login", "entra"):
        text = text.replace(f"://{getattr(_GLOBAL, field)}", f"://{getattr(hosts, field)}")
    return _CONNECT.sub(f"Connect-MgGraph -Environment {hosts.powershell_environment}", text)
