"""A fake Microsoft Graph: a real HTTP server on 127.0.0.1 serving a FakeTenant.

It serves the paths of DESIGN §3 under /v1.0 the way Graph does (JSON shapes, `$filter` forms,
`$select`, `$top` capped by a small page size, `@odata.nextLink` with `$skiptoken`, `$count`,
JSON batching with sub-responses in reverse order, bearer-token check), records every request
(sub-requests of a batch included) and injects faults on demand:

    server.fail(r"^/users/", 404)                         # once, on the first matching request
    server.fail(r"^/organization", 429, retry_after=0, where="batch", times=2)
    server.fail(r"^/\\$batch", 503, retry_after=0)         # the batch call itself
    server.fail(r"^/policies/authorizationPolicy", 403, times=None)   # always
    server.fail(r"^/organization", hang=True)               # never answers (timeouts)
    server.fail(r"^/organization", kind="slow", delay=9.0)  # the answer trickles in over 9 s (a whole $batch)
    server.fail(r"^/users/", kind="garbage")                # 200 with a body that is not JSON
    server.fail(r"^/users/", kind="truncated")              # 200 with the JSON body cut in half
    server.fail(r"^/users/", kind="reset")                  # the connection drops mid-body (a whole $batch)
    server.fail(r"^/roleManagement/", kind="loop")          # a list page whose nextLink is the page itself
    server.fail(r"oauth2PermissionGrants", kind="link", to=URL)  # a list page whose nextLink is URL
    server.fail(r"^/users/", kind="wrong_id", to=OTHER_ID)  # a single object answered with another one's id
    server.fail(r"^/organization", kind="partial")          # the real answer, as 206 Partial Content
    server.fail(r"^/policies/authorizationPolicy", kind="body", body={})  # 200 with this JSON body instead
    server.fail(r"^/\\$batch", kind="redirect", to=URL)       # 307 Temporary Redirect to URL
    server.fail(r".", 429, retry_after=0, times=2, each=True)  # every request throttled twice (a storm)

`latency` delays every HTTP request (a `$batch` once) like a distant Graph; `FakeGraphHost` serves
many fake tenants from one server and thread, each under its own base URL (fleet benchmarks).

Rounds are measured here, at the HTTP level, not from what the collector says: each HTTP request's
wave is one more than the highest wave among the HTTP requests already answered when it arrived
(`waves`; `rounds` is the deepest). A request is marked answered before its first byte is sent, so a
request that needed an answer always arrives after it and counts one wave more: the count never falls
short of the real chain of sequential round trips. It can only exceed it when one of two requests sent
together is answered before the other arrives; a `latency` longer than the client's gap between the
two (milliseconds) rules that out.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from tests.fakegraph.tenant import MICROSOFT_GRAPH_APP_ID, FakeTenant

API = "/v1.0"
BETA = "/beta"  # served for request 17 only, as "/beta/..." targets
QUERY_SAFE = "'(),:/$"
# Graph's default user properties: accountEnabled is only returned when selected.
DEFAULT_USER_PROPERTIES = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
    "preferredLanguage", "surname", "userPrincipalName", "id",
)
_ERROR_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    405: "MethodNotAllowed",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_MESSAGES = {
    401: "Access token validation failure. Invalid audience.",
    403: "Insufficient privileges to complete the operation.",
    429: "Too many requests, retry after the time given in Retry-After.",
    503: "The service is temporarily unavailable.",
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # relative to /v1.0, e.g. /users/{id}
    params: dict[str, str]  # decoded query parameters
    in_batch: bool
    authorized: bool = True
    authorization: str | None = None  # the Authorization header sent (a batch's, for its sub-requests)

    @property
    def target(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return self.path + (f"?{query}" if query else "")


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    times: int | None  # None: every time
    code: str
    message: str
    retry_after: float | None
    where: str  # "any", "batch" (sub-requests only) or "plain" (top-level requests only)
    hang: bool
    kind: str = "status"  # "status" (answer with it), "slow", "garbage", "truncated", "reset" or "loop"
    delay: float = 0.0  # seconds over which a "slow" answer trickles
    each: bool = False  # `times` counts per request (path?query), not over all requests
    to: str | None = ""  # the nextLink ("link"), the id ("wrong_id") or the Location ("redirect") a fault sends
    body: Any = None  # the JSON body a "body" fault sends
    hits: int = 0
    hits_by_target: dict[str, int] = field(default_factory=dict)

    def applies(self, target: str, in_batch: bool) -> bool:
        if self.where == ("plain" if in_batch else "batch"):
            return False
        hits = self.hits_by_target.get(target, 0) if self.each else self.hits
        if self.times is not None and hits >= self.times:
            return False
        return bool(self.pattern.search(target))


class GraphFailure(Exception):
    def __init__(self, status: int, code: str | None = None, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _ERROR_CODES.get(status, f"HTTP{status}")
        self.message = message or _MESSAGES.get(status, "")


Reply = tuple[int, dict[str, str], Any]


@dataclass(frozen=True)
class Raw:
    """A reply body sent as these bytes, not as JSON (in a $batch: as a JSON string of them)."""

    content: bytes


class ConnectionCut(Exception):
    """Send the head and half of `payload`, then reset the connection."""

    def __init__(self, payload: bytes) -> None:
        super().__init__("connection reset")
        self.payload = payload


def _spoiled(reply: Reply, fault: Fault, own_link: str) -> Reply:
    """The reply as a fault of `fault.kind` sends it ("slow" changes nothing)."""
    status, headers, body = reply
    payload = json.dumps(body).encode()
    kind = fault.kind
    if kind == "reset":
        raise ConnectionCut(payload)
    if kind in ("loop", "link") and isinstance(body, dict):
        return status, headers, {**body, "@odata.nextLink": own_link if kind == "loop" else fault.to}
    if kind == "wrong_id" and isinstance(body, dict):
        return status, headers, {**body, "id": fault.to}
    if kind == "partial":
        return 206, headers, body
    if kind == "body":
        return status, headers, fault.body
    if kind == "redirect":
        return 307, {**headers, "Location": fault.to}, {}
    if kind == "truncated":
        return status, headers, Raw(payload[: len(payload) // 2])
    if kind == "garbage":
        return 200, headers, Raw(b"<html><body><h1>502 Bad Gateway</h1></body></html>")
    return reply


def error_body(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2025-01-01T00:00:00", "request-id": "fake", "client-request-id": "fake"},
        }
    }


_GUID = r"[0-9a-fA-F-]{36}"


class FakeGraph:
    def __init__(
        self,
        tenant: FakeTenant,
        *,
        page_size: int = 3,
        token: str | None = None,
        next_link_base: str | None = None,
        latency: float = 0.0,
    ) -> None:
        self.tenant = tenant
        self.page_size = page_size
        self.latency = latency  # seconds every HTTP request waits before it is answered
        self.next_link_base = next_link_base  # a fault: nextLinks pointing elsewhere than base_url
        self.serves_beta = True  # False: /beta answers 404, like a replay or proxy that only knows v1.0
        self.meeting: Meeting | None = None  # watches overlap with other tenants' graphs
        self.record_requests = True  # False: no request log (fleets of thousands, memory measurements)
        self.token = token or "fake-" + secrets.token_urlsafe(24)
        self.requests: list[RecordedRequest] = []
        self.http_requests = 0  # top-level HTTP requests (a $batch counts once)
        self.waves: list[int] = []  # each top-level HTTP request's wave, in arrival order (see the docstring)
        self._answered_wave = 0  # the highest wave among the HTTP requests answered so far
        self.minted_skiptokens: set[str] = set()
        self._cursors: dict[str, tuple[list[Any], int]] = {}
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._trickle = threading.local()  # seconds over which this thread's current answer trickles
        self._server: ThreadingHTTPServer | None = None
        self._root: str | None = None  # http://127.0.0.1:PORT[/prefix], once served
        self._routes: list[tuple[re.Pattern[str], Callable[..., Any]]] = [
            (re.compile(r"^/organization$"), lambda p: self._list(tenant.organization, p, "/organization")),
            (re.compile(r"^/policies/adminConsentRequestPolicy$"), lambda p: tenant.admin_consent_request_policy),
            (re.compile(r"^/policies/authorizationPolicy$"), lambda p: tenant.authorization_policy),
            (re.compile(r"^/servicePrincipals$"), self._service_principals),
            (re.compile(rf"^/servicePrincipals/(?P<id>{_GUID})/(?P<rel>oauth2PermissionGrants|appRoleAssignments"
                        r"|appRoleAssignedTo)$"), self._service_principal_list),
            (re.compile(rf"^/users/(?P<id>{_GUID})$"), self._user),
            (re.compile(rf"^/groups/(?P<id>{_GUID})$"), self._group),
            (re.compile(rf"^/groups/(?P<id>{_GUID})/(?P<rel>transitiveMembers|members)"
                        r"(?P<cast>/(?:microsoft\.graph|graph)\.user)?$"), self._group_members),
            (re.compile(r"^/roleManagement/directory/roleAssignments$"), self._role_assignments),
            (re.compile(r"^/roleManagement/directory/roleEligibilityScheduleInstances$"), self._role_eligibilities),
            (re.compile(r"^/roleManagement/directory/roleDefinitions$"), self._role_definitions),
            (re.compile(r"^(?P<version>/beta)?/policies/permissionGrantPolicies/(?P<id>[A-Za-z0-9._-]+)"
                        r"/(?P<part>includes|excludes)$"), self._policy_part),
            (re.compile(rf"^/servicePrincipals/(?P<id>{_GUID})/delegatedPermissionClassifications$"),
             self._classifications),
            (re.compile(r"^/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances$"),
             self._group_eligibilities),
            (re.compile(r"^/identityGovernance/appConsent/appConsentRequests$"), self._consent_requests),
            (re.compile(rf"^/identityGovernance/appConsent/appConsentRequests/(?P<id>{_GUID})/userConsentRequests$"),
             self._user_consent_requests),
        ]

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._root is not None, "start() the server first"
        return f"{self._root}{API}"

    def start(self) -> FakeGraph:
        self._server = _serve(self._own)
        self._root = _root_url(self._server)
        return self

    def _own(self, path: str) -> tuple[FakeGraph, str] | None:
        """The target below /v1.0; /beta targets keep their "/beta" prefix."""
        if path.startswith(API + "/"):
            return self, path[len(API) :]
        if path.startswith(BETA + "/") and self.serves_beta:
            return self, path
        return None

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeGraph:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def proxied_requests(self) -> int:
        """Requests that reached this server as an HTTP proxy (an absolute URL as their target)."""
        assert isinstance(self._server, _Server), "start() the server first"
        return self._server.proxied

    @property
    def rounds(self) -> int:
        """Sequential rounds of HTTP requests: the longest chain of requests each sent after the
        previous one was answered."""
        return max(self.waves, default=0)

    def _arrived(self) -> int:
        with self._lock:
            self.http_requests += 1
            self.waves.append(self._answered_wave + 1)
            return self.waves[-1]

    def _answered(self, wave: int) -> None:
        with self._lock:
            self._answered_wave = max(self._answered_wave, wave)

    # -- faults ------------------------------------------------------------------------------------

    def fail(
        self,
        pattern: str,
        status: int = 500,
        *,
        times: int | None = 1,
        code: str | None = None,
        message: str = "",
        retry_after: float | None = None,
        where: str = "any",
        hang: bool = False,
        kind: str = "status",
        delay: float = 0.0,
        each: bool = False,
        to: str | None = "",
        body: Any = None,
    ) -> Fault:
        """Answer requests whose path?query matches `pattern` (re.search) with an error, or spoil their
        answer (`kind`, see the module's docstring)."""
        fault = Fault(
            re.compile(pattern),
            status,
            times,
            code or _ERROR_CODES.get(status, f"HTTP{status}"),
            message or _MESSAGES.get(status, "Injected fault."),
            retry_after,
            where,
            hang,
            kind,
            delay,
            each,
            to,
            body,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def _fault_for(self, target: str, in_batch: bool) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.applies(target, in_batch):
                    fault.hits += 1
                    fault.hits_by_target[target] = fault.hits_by_target.get(target, 0) + 1
                    return fault
        return None

    # -- requests ----------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, *, in_batch: bool, body: bytes = b"", authorized: bool = True,
        authorization: str | None = None,
    ) -> Reply:
        """Answer one request; `target` is path?query relative to /v1.0."""
        parts = urlsplit(target if target.startswith("/") else "/" + target)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        record = RecordedRequest(method, parts.path, params, in_batch, authorized, authorization)
        if self.record_requests:
            with self._lock:
                self.requests.append(record)
        if not authorized:
            return self._error(GraphFailure(401), {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'})
        fault = self._fault_for(record.target, in_batch)
        if fault is not None and fault.hang:
            self._release.wait()
            return self._error(GraphFailure(504))
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return self._error(GraphFailure(fault.status, fault.code, fault.message), headers)
        if fault is not None and fault.kind == "slow":
            self._trickle.seconds = fault.delay
        reply = self._serve(method, parts.path, params, in_batch=in_batch, body=body, authorization=authorization)
        return reply if fault is None else _spoiled(reply, fault, self.base_url + target)

    def _serve(
        self, method: str, path: str, params: dict[str, str], *, in_batch: bool, body: bytes, authorization: str | None
    ) -> Reply:
        try:
            if path in ("/$batch", BETA + "/$batch"):
                if in_batch or method != "POST":
                    raise GraphFailure(400, message="A $batch request must be a top-level POST.")
                return 200, {}, self._batch(body, authorization, path.removesuffix("/$batch"))
            if method != "GET":
                raise GraphFailure(405, message=f"{method} is not allowed here: this fake Graph is read-only.")
            return 200, {}, self._route(path, params)
        except GraphFailure as failure:
            return self._error(failure)

    def _error(self, failure: GraphFailure, headers: dict[str, str] | None = None) -> Reply:
        return failure.status, headers or {}, error_body(failure.code, failure.message)

    def _route(self, path: str, params: dict[str, str]) -> Any:
        for pattern, view in self._routes:
            match = pattern.match(path)
            if match:
                return view(params, **match.groupdict())
        raise GraphFailure(400, message=f"Resource not found for the segment '{path.strip('/').split('/')[0]}'.")

    def _batch(self, body: bytes, authorization: str | None, version: str = "") -> dict[str, Any]:
        try:
            requests = json.loads(body)["requests"]
            assert isinstance(requests, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise GraphFailure(400, message="Invalid batch payload.") from None
        if len(requests) > 20:
            raise GraphFailure(400, message="The number of requests in a batch cannot exceed 20.")
        responses = []
        for sub in requests:
            url = str(sub.get("url", ""))
            if url.startswith("http"):
                status, headers, reply = 400, {}, error_body("BadRequest", "Use URLs relative to the version.")
            else:
                status, headers, reply = self.handle(
                    str(sub.get("method", "GET")).upper(), version + "/" + url.lstrip("/"), in_batch=True,
                    authorization=authorization,
                )
            if isinstance(reply, Raw):
                reply = reply.content.decode("utf-8", "replace")
            responses.append(
                {"id": sub.get("id"), "status": status, "headers": {"Content-Type": "application/json", **headers},
                 "body": reply}
            )
        # Graph may answer in any order: reverse it so that nobody relies on the order.
        return {"responses": list(reversed(responses))}

    # -- collections -------------------------------------------------------------------------------

    def _list(self, items: list[Any], params: dict[str, str], path: str, select_users: bool = False) -> Any:
        token = params.get("$skiptoken")
        if token is not None:
            with self._lock:
                cursor = self._cursors.get(token)
            if cursor is None:
                raise GraphFailure(400, message="Invalid $skiptoken.")
            items, offset = cursor
        else:
            items, offset = [self._project(item, params, select_users) for item in items], 0
        top = int(params.get("$top", self.page_size))
        if not 1 <= top <= 999:
            raise GraphFailure(400, message="Invalid page size specified.")
        size = min(top, self.page_size)
        page = {"@odata.context": f"{self.base_url}/$metadata#{path}", "value": items[offset : offset + size]}
        if params.get("$count") == "true":
            page["@odata.count"] = len(items)
        if offset + size < len(items):
            new_token = secrets.token_urlsafe(12)
            with self._lock:
                self._cursors[new_token] = (items, offset + size)
                self.minted_skiptokens.add(new_token)
            kept = [f"{k}={quote(v, safe=QUERY_SAFE)}" for k, v in params.items() if k != "$skiptoken"]
            query = "&".join([*kept, f"$skiptoken={new_token}"])
            own = self._root if path.startswith(BETA + "/") else self.base_url  # beta paths carry their version
            page["@odata.nextLink"] = f"{self.next_link_base or own}{path}?{query}"
        return page

    def _project(self, item: dict[str, Any], params: dict[str, str], select_users: bool) -> dict[str, Any]:
        select = params.get("$select")
        is_user = item.get("@odata.type", "#microsoft.graph.user") == "#microsoft.graph.user"
        if select:
            wanted = {"id", "@odata.type", *select.split(",")}
        elif select_users and is_user:
            wanted = {"@odata.type", *DEFAULT_USER_PROPERTIES}
        else:
            return dict(item)
        if is_user and self.tenant.limited_users and "userPrincipalName" in item:
            # Graph's "limited information" answer: id and @odata.type, every other property null.
            return {"@odata.type": "#microsoft.graph.user", "id": item["id"],
                    **{k: None for k in wanted if k in item and k not in ("id", "@odata.type")}}
        return {k: v for k, v in item.items() if k in wanted}

    @staticmethod
    def _filtered(items: list[dict[str, Any]], params: dict[str, str], forms: dict[str, Callable]) -> list:
        expression = params.get("$filter")
        if expression is None:
            return items
        for form, predicate in forms.items():
            match = re.fullmatch(form, expression.strip())
            if match:
                return [item for item in items if predicate(item, match.group(1))]
        raise GraphFailure(400, "Request_UnsupportedQuery", f"Unsupported or invalid query filter clause: {expression}")

    def _service_principals(self, params: dict[str, str]) -> Any:
        forms = {
            r"appId eq '([^']*)'": lambda sp, value: sp["appId"].lower() == value.lower(),
            r"startswith\(displayName,\s*'((?:[^']|'')*)'\)": lambda sp, value: sp["displayName"].lower().startswith(
                value.replace("''", "'").lower()
            ),
        }
        return self._list(self._filtered(self.tenant.service_principals, params, forms), params, "/servicePrincipals")

    def _service_principal_list(self, params: dict[str, str], id: str, rel: str) -> Any:
        if self.tenant.service_principal(id) is None:
            raise GraphFailure(404, message=f"Resource '{id}' does not exist.")
        if rel == "oauth2PermissionGrants":
            items = [g for g in self.tenant.oauth2_permission_grants if g["clientId"] == id]
        elif rel == "appRoleAssignments":
            items = [a for a in self.tenant.app_role_assignments if a["principalId"] == id]
        else:
            items = [a for a in self.tenant.app_role_assignments if a["resourceId"] == id]
        return self._list(items, params, f"/servicePrincipals/{id}/{rel}")

    def _single(self, item: dict[str, Any] | None, object_id: str, params: dict[str, str], kind: str) -> Any:
        if item is None:
            raise GraphFailure(
                404, message=f"Resource '{object_id}' does not exist or one of its queried reference-property "
                "objects are not present."
            )
        return {"@odata.context": f"{self.base_url}/$metadata#{kind}/$entity",
                **self._project(item, params, select_users=kind == "users")}

    def _user(self, params: dict[str, str], id: str) -> Any:
        return self._single(self.tenant.users.get(id.lower()), id, params, "users")

    def _group(self, params: dict[str, str], id: str) -> Any:
        return self._single(self.tenant.groups.get(id.lower()), id, params, "groups")

    def _group_members(self, params: dict[str, str], id: str, rel: str, cast: str | None) -> Any:
        group_id = id.lower()
        if group_id not in self.tenant.groups:
            raise GraphFailure(404, message=f"Resource '{id}' does not exist.")
        member_ids = self.tenant.transitive_members(group_id) if rel == "transitiveMembers" else (
            self.tenant.members.get(group_id, [])
        )
        members = [m for m in map(self.tenant.directory_object, member_ids) if m is not None]
        if cast:
            members = [{k: v for k, v in m.items() if k != "@odata.type"} for m in members
                       if m["@odata.type"] == "#microsoft.graph.user"]
        return self._list(members, params, f"/groups/{id}/{rel}{cast or ''}", select_users=True)

    def _role_assignments(self, params: dict[str, str]) -> Any:
        forms = {
            r"roleDefinitionId eq '([^']*)'": lambda a, value: a["roleDefinitionId"].lower() == value.lower(),
            r"principalId eq '([^']*)'": lambda a, value: a["principalId"].lower() == value.lower(),
        }
        if "$filter" not in params:
            raise GraphFailure(400, "Request_UnsupportedQuery", "Filter on roleDefinitionId or principalId.")
        items = self._expanded(self._filtered(self.tenant.role_assignments, params, forms), params)
        return self._list(items, params, "/roleManagement/directory/roleAssignments")

    def _expanded(self, assignments: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
        """`$expand=principal`: each assignment with its principal's properties — all of them, `accountEnabled`
        included, as Graph expands a user (unlike `GET /users`, which returns it only when selected)."""
        expand = params.get("$expand")
        if expand is None:
            return assignments
        if expand != "principal":
            raise GraphFailure(400, "Request_UnsupportedQuery", f"Unsupported $expand: {expand}")
        expanded = []
        for assignment in assignments:
            principal = self.tenant.directory_object(assignment["principalId"]) or {"id": assignment["principalId"]}
            every = {"$select": ",".join(principal)}  # limited information still applies (`limited_users`)
            expanded.append({**assignment, "principal": self._project(principal, every, select_users=False)})
        return expanded

    def _premium_only(self) -> None:
        if not self.tenant.premium:
            raise GraphFailure(400, "AadPremiumLicenseRequired",
                               "The tenant needs an AAD Premium 2 license or Microsoft Entra ID Governance.")

    def _role_eligibilities(self, params: dict[str, str]) -> Any:
        self._premium_only()
        forms = {
            r"roleDefinitionId eq '([^']*)'": lambda a, value: a["roleDefinitionId"].lower() == value.lower(),
            r"principalId eq '([^']*)'": lambda a, value: a["principalId"].lower() == value.lower(),
        }
        items = self._expanded(self._filtered(self.tenant.role_eligibilities, params, forms), params)
        return self._list(items, params, "/roleManagement/directory/roleEligibilityScheduleInstances")

    def _group_eligibilities(self, params: dict[str, str]) -> Any:
        self._premium_only()
        if "$filter" not in params:
            raise GraphFailure(400, "Request_UnsupportedQuery", "Filter on groupId or principalId.")
        forms = {r"groupId eq '([^']*)'": lambda i, value: i["groupId"].lower() == value.lower()}
        items = self._filtered(self.tenant.group_eligibilities, params, forms)
        return self._list(items, params, "/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances")

    def _role_definitions(self, params: dict[str, str]) -> Any:
        forms = {r"isBuiltIn eq (false)": lambda d, value: d["isBuiltIn"] is False}
        items = self._filtered(self.tenant.role_definitions, params, forms)
        return self._list(items, params, "/roleManagement/directory/roleDefinitions")

    def _policy_part(self, params: dict[str, str], version: str | None, id: str, part: str) -> Any:
        policy = self.tenant.permission_grant_policies.get(id.lower())
        if policy is None:
            raise GraphFailure(404, message=f"Permission grant policy '{id}' does not exist.")
        sets = policy[part]
        if version is None:  # v1.0 does not return certifiedClientApplicationsOnly
            sets = [{k: v for k, v in condition_set.items() if k != "certifiedClientApplicationsOnly"}
                    for condition_set in sets]
        return self._list(sets, params, f"{version or ''}/policies/permissionGrantPolicies/{id}/{part}")

    def _classifications(self, params: dict[str, str], id: str) -> Any:
        sp = self.tenant.service_principal(id)
        if sp is None:
            raise GraphFailure(404, message=f"Resource '{id}' does not exist.")
        items = self.tenant.classifications if sp["appId"] == MICROSOFT_GRAPH_APP_ID else []
        return self._list(items, params, f"/servicePrincipals/{id}/delegatedPermissionClassifications")

    def _consent_requests(self, params: dict[str, str]) -> Any:
        in_progress = self.tenant.user_consent_requests
        forms = {
            r"appId eq '([^']*)'": lambda r, value: r["appId"].lower() == value.lower(),
            r"userConsentRequests/any\(u:\s*u/status eq '(InProgress)'\)": lambda r, value: any(
                u["status"] == value for u in in_progress.get(r["id"], [])
            ),
        }
        items = self._filtered(self.tenant.consent_requests, params, forms)
        return self._list(items, params, "/identityGovernance/appConsent/appConsentRequests")

    def _user_consent_requests(self, params: dict[str, str], id: str) -> Any:
        if id.lower() not in self.tenant.user_consent_requests:
            raise GraphFailure(404, message=f"Resource '{id}' does not exist.")
        forms = {r"status eq '([^']*)'": lambda u, value: u["status"] == value}
        items = self._filtered(self.tenant.user_consent_requests[id.lower()], params, forms)
        return self._list(items, params, f"/identityGovernance/appConsent/appConsentRequests/{id}/userConsentRequests")


class Meeting:
    """Watches several FakeGraphs (one per tenant) from the server's side: how many tenants had a request in
    flight at once (`peak`), and, with `parties`, each tenant's first request waits until that many
    tenants have arrived — proof that they really overlapped (a fleet that ran them one by one would
    time out here instead of passing by luck)."""

    def __init__(self, graphs: Sequence[FakeGraph], parties: int = 0, timeout: float = 20.0) -> None:
        self.peak = 0
        self._in_flight: dict[int, int] = {}
        self._seen: set[int] = set()
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(parties, timeout=timeout) if parties else None
        for graph in graphs:
            graph.meeting = self

    def arrive(self, graph: FakeGraph) -> None:
        with self._lock:
            first = id(graph) not in self._seen
            self._seen.add(id(graph))
            self._in_flight[id(graph)] = self._in_flight.get(id(graph), 0) + 1
            self.peak = max(self.peak, sum(1 for count in self._in_flight.values() if count))
        if first and self._barrier is not None:
            self._barrier.wait()

    def leave(self, graph: FakeGraph) -> None:
        with self._lock:
            self._in_flight[id(graph)] -= 1


class FakeGraphHost:
    """Many FakeGraphs behind one HTTP server and thread: graph number n answers under
    http://127.0.0.1:PORT/n/v1.0 (its `base_url`), with its own token, latency and request log."""

    def __init__(self, graphs: Sequence[FakeGraph]) -> None:
        self.graphs = list(graphs)
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeGraphHost:
        self._server = _serve(self._route)
        root = _root_url(self._server)
        for number, graph in enumerate(self.graphs):
            graph._root = f"{root}/{number}"
        return self

    def stop(self) -> None:
        for graph in self.graphs:
            graph._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeGraphHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connections(self) -> int:
        """TCP connections accepted so far, all tenants together."""
        assert isinstance(self._server, _Server), "start() the host first"
        return self._server.connections

    def _route(self, path: str) -> tuple[FakeGraph, str] | None:
        number, _, rest = path.lstrip("/").partition("/")
        if not number.isdigit() or int(number) >= len(self.graphs):
            return None
        return self.graphs[int(number)]._own("/" + rest)


Route = Callable[[str], "tuple[FakeGraph, str] | None"]  # request path → the graph and the path below /v1.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A fleet's tenants connect to one FakeGraphHost at once: with the default backlog of 5 the accept
    # queue overflows and the kernel resets some connections.
    request_queue_size = 128
    connections = 0  # accepted so far
    proxied = 0  # requests that came as to an HTTP proxy: an absolute URL as the target (RFC 9112 §3.2.2)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1  # serve_forever's one thread accepts them all
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet when the client hung up (it timed out: a test's point); loud for anything else."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _serve(route: Route) -> ThreadingHTTPServer:
    server = _Server(("127.0.0.1", 0), _handler_for(route))
    threading.Thread(target=server.serve_forever, args=(0.02,), name="fake-graph", daemon=True).start()
    return server


def _root_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _handler_for(route: Route) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # headers and body in one send: no Nagle / delayed-ACK stalls

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_PATCH(self) -> None:
            self._answer()

        def do_PUT(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def _origin_form(self) -> str:
            """The request's path; a proxy's absolute-form target is served as the request it forwards."""
            target = urlsplit(self.path)
            if not target.scheme:
                return self.path
            self.server.proxied += 1  # type: ignore[attr-defined]
            return target.path + (f"?{target.query}" if target.query else "")

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            found = route(self._origin_form())
            trickle = 0.0
            if found is None:
                status, headers, reply = 404, {}, error_body("BadRequest", "Invalid version.")
            else:
                graph, target = found
                wave = graph._arrived()
                if graph.meeting:
                    graph.meeting.arrive(graph)
                try:
                    time.sleep(graph.latency)
                    authorization = self.headers.get("Authorization")
                    graph._trickle.seconds = 0.0
                    status, headers, reply = graph.handle(
                        self.command, target, in_batch=False, body=body,
                        authorized=authorization == f"Bearer {graph.token}", authorization=authorization,
                    )
                except ConnectionCut as cut:
                    graph._answered(wave)
                    self._reset(cut.payload)
                    return
                finally:
                    if graph.meeting:
                        graph.meeting.leave(graph)
                graph._answered(wave)  # before the first byte leaves: see the module's docstring
                trickle = graph._trickle.seconds
            payload = reply.content if isinstance(reply, Raw) else json.dumps(reply).encode()
            self._head(status, headers, len(payload))
            if trickle:
                self._dribble(payload, trickle, graph._release)
            else:
                self.wfile.write(payload)

        def _dribble(self, payload: bytes, seconds: float, stop: threading.Event) -> None:
            """Send the body in pieces 0.1 s apart over `seconds`: every read is quick, the whole answer slow."""
            pieces = max(1, int(seconds / 0.1))
            size = -(-len(payload) // pieces)
            for start in range(0, len(payload), size):
                self.wfile.write(payload[start : start + size])
                self.wfile.flush()
                stop.wait(0.1)

        def _head(self, status: int, headers: dict[str, str], length: int) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true")
            self.send_header("Content-Length", str(length))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def _reset(self, payload: bytes) -> None:
            """Promise the whole payload, send half of it, then reset the connection (RST, not FIN)."""
            self._head(200, {}, len(payload))
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is `FakeGraph.requests`."""

    return Handler


def unused_local_url() -> str:
    """A Graph base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{API}"
