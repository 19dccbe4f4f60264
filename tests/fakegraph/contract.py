"""DESIGN §3 (contract) as a check on a FakeGraph request log.

Written independently of the collector on purpose: it restates the table of allowed requests,
so a collector bug cannot hide behind shared code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from tests.fakegraph.server import RecordedRequest

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_LITERAL = r"'(?:[^']|'')*'"

# (path, allowed $filter forms, whether a $filter is required)
_ALLOWED: list[tuple[str, list[str], bool]] = [
    (r"/organization", [], False),  # 1
    (r"/policies/adminConsentRequestPolicy", [], False),  # 2
    (r"/policies/authorizationPolicy", [], False),  # 3
    (r"/servicePrincipals", [rf"appId eq '{_GUID}'", rf"startswith\(displayName,{_LITERAL}\)"], True),  # 4, 5
    (rf"/servicePrincipals/{_GUID}/(oauth2PermissionGrants|appRoleAssignments|appRoleAssignedTo)", [], False),  # 6-8
    (rf"/users/{_GUID}", [], False),  # 9
    (rf"/groups/{_GUID}", [], False),  # 10
    (rf"/groups/{_GUID}/(transitiveMembers|members)(/(microsoft\.graph|graph)\.user)?", [], False),  # 10
    (r"/roleManagement/directory/roleAssignments", [rf"(roleDefinitionId|principalId) eq '{_GUID}'"], True),  # 11, 12
    (r"/roleManagement/directory/roleEligibilityScheduleInstances",
     [rf"(roleDefinitionId|principalId) eq '{_GUID}'"], True),  # 15
    (rf"/roleManagement/directory/roleDefinitions(/{_GUID})?", ["isBuiltIn eq false"], False),  # 16
    (r"/policies/permissionGrantPolicies/[A-Za-z0-9._-]+(/(includes|excludes))?", [], False),  # 17
    (rf"/servicePrincipals/{_GUID}/delegatedPermissionClassifications", [], False),  # 18
    (r"/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances", [rf"groupId eq '{_GUID}'"],
     True),  # 19
    (
        r"/identityGovernance/appConsent/appConsentRequests",
        [rf"appId eq '{_GUID}'", r"userConsentRequests/any\(u:u/status eq 'InProgress'\)"],
        False,
    ),  # 13
    (
        rf"/identityGovernance/appConsent/appConsentRequests/{_GUID}/userConsentRequests",
        ["status eq 'InProgress'"],
        False,
    ),  # 14
]
_FREE_PARAMETERS = {"$select", "$top", "$count"}
_BETA_ALLOWED = r"/beta/policies/permissionGrantPolicies/[A-Za-z0-9._-]+(/(includes|excludes))?"
# Requests 11 and 15 may expand their principal.
_EXPANDABLE = {r"/roleManagement/directory/roleAssignments",
               r"/roleManagement/directory/roleEligibilityScheduleInstances"}


def violation(request: RecordedRequest, minted_skiptokens: Iterable[str] = ()) -> str | None:
    """Why `request` is not allowed by DESIGN §3, or None when it is."""
    if request.path.startswith("/beta/"):  # request 17 may be sent to /beta (DESIGN §3)
        beta_ok = request.path == "/beta/$batch" or re.fullmatch(_BETA_ALLOWED, request.path)
        if not beta_ok:
            return f"{request.target}: only request 17 may go to /beta"
        request = replace(request, path=request.path.removeprefix("/beta"))
    if request.path == "/$batch":
        ok = request.method == "POST" and not request.in_batch
        return None if ok else f"{request.method} /$batch {'inside a batch' if request.in_batch else ''}".strip()
    if request.method != "GET":
        return f"{request.method} {request.target}: only GET (and POST /$batch) are allowed"
    for path, filters, filter_required in _ALLOWED:
        if not re.fullmatch(path, request.path):
            continue
        extra = set(request.params) - _FREE_PARAMETERS - {"$filter", "$skiptoken"}
        if "$expand" in extra and request.params["$expand"] == "principal" and path in _EXPANDABLE:
            extra.discard("$expand")
        if extra:
            return f"{request.target}: parameters {sorted(extra)} are not allowed"
        token = request.params.get("$skiptoken")
        if token is not None and token not in set(minted_skiptokens):
            return f"{request.target}: $skiptoken not taken from an @odata.nextLink"
        expression = request.params.get("$filter")
        if expression is None:
            return f"{request.target}: a $filter is required" if filter_required and token is None else None
        if any(re.fullmatch(form, expression) for form in filters):
            return None
        return f"{request.target}: $filter {expression!r} is not one of DESIGN §3"
    return f"{request.target}: not a DESIGN §3 request"


def violations(requests: Iterable[RecordedRequest], minted_skiptokens: Iterable[str] = ()) -> list[str]:
    minted = set(minted_skiptokens)
    return [problem for request in requests if (problem := violation(request, minted)) is not None]
