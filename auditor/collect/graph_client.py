"""msgraph-sdk's GraphServiceClient, set up for the auditor, exchanging raw Graph JSON.

Every request goes through the SDK's request adapter: its authentication provider (the token
goes to the Graph host only), its middleware pipeline (redirects, retries with our budget,
telemetry) and its httpx client. Responses are read as raw JSON rather than as SDK models, so
the snapshot keeps the objects exactly as Graph sent them (`@odata.type` included). The batch
body is built here too: msgraph-core's BatchResponseItem drops JSON sub-response bodies (it
only decodes base64 strings).

Failures split in two: Graph cannot be used at all (no connection, sign-in refused) raises a
CollectionError; a request that was sent but got no usable answer (timed out, connection broken
mid-response) becomes a failed GraphResponse, so that only the sources it carried are `error`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import socket
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.headers_collection import HeadersCollection
from kiota_abstractions.method import Method
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.request_option import RequestOption
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import (
    BaseMiddleware,
    BodyInspectionHandler,
    HeadersInspectionHandler,
    ParametersNameDecodingHandler,
    RedirectHandler,
    RetryHandler,
    UrlReplaceHandler,
)
from kiota_http.middleware.options import ResponseHandlerOption, RetryHandlerOption
from msgraph import GraphServiceClient
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph_core import GraphClientFactory
from msgraph_core.middleware import GraphTelemetryHandler

from auditor.collect.auth import OffLoopCredential
from auditor.collect.clouds import Endpoints
from auditor.collect.proxy import environment_proxy, shown
from auditor.collect.retry import BudgetedRetryHandler, RetryReporter, WaitBudget
from auditor.model.errors import REDACTED, CollectionError, InputError, redact
from auditor.model.snapshot import GraphError
from auditor.model.tenant_text import may_hold_lone_surrogates, without_lone_surrogates

log = logging.getLogger(__name__)

# Kiota's default middleware this client leaves out. RedirectHandler: a redirect is never followed (its
# target's answers would become tenant data). The others act only on what the auditor never sends or
# reads, yet cost CPU on every request (each opens a tracing span; header inspection copies every
# header): ParametersNameDecodingHandler decodes `%24` into `$` in query names (our URLs are built with
# `$`), UrlReplaceHandler swaps the SDK's `/users/me-token-to-replace` placeholder for `/me`, and the
# inspection handlers keep headers and bodies for request options nobody sets here.
_LEFT_OUT = (RedirectHandler, ParametersNameDecodingHandler, UrlReplaceHandler, HeadersInspectionHandler,
             BodyInspectionHandler)

# Transport failures that mean Graph cannot be reached or spoken to at all (the rest: one request failed).
_UNUSABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError, httpx.UnsupportedProtocol,
             httpx.LocalProtocolError)


@dataclass(frozen=True)
class GraphResponse:
    """One response, top-level or inside a batch: status, headers and the parsed JSON body."""

    status: int  # 0: no usable HTTP answer (see `failed`)
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        """Only a 200 is a complete answer: a 206 or another success is not (DESIGN §3)."""
        return self.status == 200

    def error(self) -> GraphError:
        """The Graph error of a failed response (`{"error": {"code", "message"}}`)."""
        if 200 < self.status < 400:
            return _not_an_answer(self.status, self.headers)
        if self.status == 407:  # a proxy on the way, whatever its body (plain http; an https tunnel fails earlier)
            return GraphError(code="HTTP407", message="the proxy asks for authentication: check the user name and "
                              "password in HTTP_PROXY / HTTPS_PROXY", http_status=407)
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(error, dict) and error.get("code"):
            message = redact(str(error.get("message") or ""))  # a proxy may echo what it was sent
            return GraphError(code=str(error["code"]), message=message, http_status=self.status or None)
        return GraphError(code=f"HTTP{self.status}", message="no Graph error in the response", http_status=self.status)

    @classmethod
    def failed(cls, code: str, message: str) -> GraphResponse:
        """A request that got no usable answer: a timeout, a broken connection, an unreadable body."""
        return cls(0, {}, {"error": {"code": code, "message": message}})


def _not_an_answer(status: int, headers: Mapping[str, str]) -> GraphError:
    """A success other than 200 (e.g. 206 Partial Content), or a redirect: never followed, never data."""
    if status >= 300:
        location = next((str(v) for k, v in headers.items() if k.lower() == "location"), "")
        target = urlsplit(location)
        where = f" to {target.scheme}://{target.netloc}{target.path}" if target.netloc else ""
        return GraphError(code=f"HTTP{status}", message=f"redirect{where} not followed", http_status=status)
    return GraphError(code=f"HTTP{status}", message="not a complete answer (only a 200 is)", http_status=status)


class GraphClient:
    """One GraphServiceClient per collection (one credential, one tenant: no session leaks between tenants)."""

    def __init__(
        self,
        credential: TokenCredential | OffLoopCredential,
        endpoints: Endpoints,
        *,
        scopes: list[str],
        token_options: dict[str, str],
        timeout: float,
        budget: WaitBudget,
        reporter: RetryReporter,
    ) -> None:
        self.base_url = endpoints.graph_url
        self._timeout = timeout
        middleware = [
            BudgetedRetryHandler(budget, reporter, self.describe) if isinstance(handler, RetryHandler) else handler
            for handler in KiotaClientFactory.get_default_middleware(None)
            if not isinstance(handler, _LEFT_OUT)
        ]
        wire = _WireHandler(timeout)
        middleware += [GraphTelemetryHandler(), wire]
        # One pool of connections per tenant: a pool shared by a worker's tenants was tried and doubled the CPU
        # per tenant (httpcore checks every pooled connection on each request). The proxy is given, not left
        # to httpx's trust_env: that reads the whole environment per client (19 ms with a fleet's 10,000
        # token variables) and would also send ~/.netrc passwords.
        self._proxy = environment_proxy(self.base_url)  # an unusable one: InputError, as the command line says
        try:
            client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), http2=True, verify=_tls_context(),
                                       proxy=self._proxy, trust_env=False)
        except (ValueError, httpx.InvalidURL, ImportError):  # their text would show the proxy's password
            raise InputError(f"httpx cannot use the proxy {shown(self._proxy or '')} the environment sets for "
                             f"{self.base_url}") from None
        self._http = GraphClientFactory.create_with_custom_middleware(middleware, client=client)
        # Some msgraph-core releases wrap the client's transports in ones whose aclose() does not close them:
        # the transports requests really went through are closed too.
        self._closing = [self._http.aclose, wire.close_transports]
        auth = AzureIdentityAuthenticationProvider(
            credential, options=token_options or None, scopes=scopes, allowed_hosts=[endpoints.graph_host]
        )
        adapter = GraphRequestAdapter(auth, client=self._http)
        adapter.base_url = self.base_url
        self.sdk = GraphServiceClient(request_adapter=adapter)

    async def get(self, url: str, retries: int) -> GraphResponse:
        """GET a URL relative to the base URL (e.g. `/users/{id}?$select=id`), retried by the
        SDK's retry handler at most `retries` times."""
        return await self._send(Method.GET, url, options=[RetryHandlerOption(delay=0, max_retries=max(retries, 0))])

    async def batch(self, requests: Sequence[tuple[str, str]]) -> GraphResponse:
        """POST /$batch with GET sub-requests given as (id, relative URL)."""
        body = {"requests": [{"id": rid, "method": "GET", "url": url} for rid, url in requests]}
        if log.isEnabledFor(logging.DEBUG):
            log.debug("$batch of %d: %s", len(requests), ", ".join(f"GET {url}" for _, url in requests))
        return await self._send(Method.POST, "/$batch", json.dumps(body).encode())

    def describe(self, request: httpx.Request) -> str:
        path = str(request.url).removeprefix(self.base_url)
        return f"{request.method} {path}"

    def rebased(self, base_url: str) -> GraphClient:
        """This client — its connections, credential and middleware — speaking to another version of the
        same Graph (e.g. `/beta` for request 17): no second connection pool or sign-in per tenant."""
        twin = copy.copy(self)
        twin.base_url = base_url
        twin._closing = []  # the original closes them
        return twin

    async def aclose(self) -> None:
        for close in self._closing:
            await close()

    async def _send(
        self, method: Method, url: str, content: bytes | None = None, options: list[RequestOption] | None = None
    ) -> GraphResponse:
        info = RequestInformation()
        info.http_method = method
        info.url = self.base_url + url
        info.headers = HeadersCollection()
        info.headers.try_add("Accept", "application/json")
        if content is not None:
            info.headers.try_add("Content-Type", "application/json")
            info.content = content
        info.add_request_options([ResponseHandlerOption(NativeResponseHandler()), *(options or [])])
        try:
            response: httpx.Response = await self.sdk.request_adapter.send_primitive_async(info, "bytes", None)
        except ClientAuthenticationError as exc:
            first_line = (exc.message or str(exc)).strip().splitlines()[0]
            raise CollectionError(f"sign-in failed: {first_line}") from None
        except _UNUSABLE as exc:
            raise self._unreachable(exc) from None
        except httpx.TransportError as exc:
            return self._no_answer(exc)
        return GraphResponse(response.status_code, response.headers, _json_or_none(response.content))

    def _no_answer(self, exc: httpx.TransportError) -> GraphResponse:
        if isinstance(exc, httpx.TimeoutException):
            through = f" (through the proxy {shown(self._proxy)})" if self._proxy else ""
            return GraphResponse.failed("Timeout",
                                        f"no complete answer within the timeout of {self._timeout:g} s{through}")
        reason = str(exc) or type(exc).__name__
        return GraphResponse.failed("ConnectionBroken", f"the connection broke before the answer was whole ({reason})")

    def _unreachable(self, exc: httpx.TransportError) -> CollectionError:
        proxy = shown(self._proxy) if self._proxy else None
        where = f"Microsoft Graph at {self.base_url}" + (f" through the proxy {proxy}" if proxy else "")
        causes = list(_causes(exc))
        if isinstance(exc, httpx.TimeoutException):
            return CollectionError(
                f"{where} did not answer within {self._timeout:g} s: check the network and proxy, then retry"
            )
        if any(isinstance(cause, socket.gaierror) for cause in causes):
            if proxy:
                return CollectionError(f"cannot resolve the proxy {proxy}: check HTTPS_PROXY / HTTP_PROXY, DNS")
            host = httpx.URL(self.base_url).host
            return CollectionError(f"cannot resolve {host}: check --graph-url / --cloud, DNS and proxy settings")
        if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
            check = ("HTTPS_PROXY / HTTP_PROXY / NO_PROXY and that the proxy" if proxy
                     else "--graph-url and that the endpoint")
            return CollectionError(f"{where} refused the connection: check {check} is up")
        reason = str(exc) or type(exc).__name__
        return CollectionError(f"cannot reach {where} ({reason}): check --graph-url, the network and proxy")


class _WireHandler(BaseMiddleware):
    """The last middleware before the network: bounds each attempt, its body included, by the timeout
    (httpx's own timeouts bound each read, not a server that answers a byte at a time), logs it for
    --verbose with the Authorization header redacted, and keeps the transports it sent through (the
    direct one, an HTTPS_PROXY's) so that they can be closed."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout
        self._used: dict[int, httpx.AsyncBaseTransport] = {}  # the direct one, a proxy's: by identity

    async def close_transports(self) -> None:
        for transport in self._used.values():
            await transport.aclose()
        self._used.clear()

    async def send(self, request: httpx.Request, transport: httpx.AsyncBaseTransport) -> httpx.Response:
        self._used.setdefault(id(transport), transport)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s %s", request.method, request.url, _shown_headers(request.headers))
        try:  # asyncio.wait_for, not asyncio.timeout: Python 3.10 has no asyncio.timeout
            response = await asyncio.wait_for(self._whole(request, transport), self._timeout)
        except asyncio.TimeoutError:
            raise httpx.ReadTimeout(f"no complete answer within {self._timeout:g} s", request=request) from None
        log.debug("%s %s: HTTP %d, %d bytes", request.method, request.url, response.status_code, len(response.content))
        return response

    async def _whole(self, request: httpx.Request, transport: httpx.AsyncBaseTransport) -> httpx.Response:
        response = await super().send(request, transport)
        await response.aread()
        return response


def _shown_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as a log may show them: the Authorization value (the bearer token) replaced."""
    return {name: REDACTED if name.lower() == "authorization" else value for name, value in headers.items()}


@cache
def _tls_context() -> ssl.SSLContext:
    """The CA bundle as httpx loads it, once per process: loading it costs ~25 ms of CPU, which a
    fleet would pay per tenant. A TLS context holds trust settings only: no session, cookie or token."""
    return httpx.create_ssl_context()


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _json_or_none(content: bytes) -> Any:
    try:
        value = json.loads(content) if content else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return without_lone_surrogates(value) if may_hold_lone_surrogates(content) else value
