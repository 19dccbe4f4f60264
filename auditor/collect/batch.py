"""Runs a round of independent Graph requests with as few HTTP round trips as possible.

All requests of a round go out together in `POST /$batch` calls of at most 20 (one plain GET
when there is a single request); next pages (`@odata.nextLink`) and throttled sub-requests go
out together in the following call, until every request has all its pages or has failed.
No request starts after the collection's deadline, and those unanswered then fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from auditor.collect.answers import Unacceptable, check_object, next_page
from auditor.collect.graph_client import GraphClient, GraphResponse
from auditor.collect.graph_requests import GraphRequest
from auditor.collect.progress import CollectionProgress
from auditor.collect.retry import RETRYABLE_STATUSES, WaitBudget, report_retry
from auditor.model.errors import CollectionError
from auditor.model.snapshot import GraphError

BATCH_LIMIT = 20  # Graph's maximum number of requests in one $batch
PARALLEL_BATCHES = 4  # $batch calls in flight at once when a round needs several


@dataclass(frozen=True)
class Outcome:
    """A request's result: its object, or all items of all its pages, or the error that stopped it."""

    value: Any = None
    error: GraphError | None = None


@dataclass
class _Pending:
    request: GraphRequest
    url: str
    items: list[Any] = field(default_factory=list)
    attempt: int = 1
    visited: set[str] = field(default_factory=set)  # the URLs of the pages read so far


class Deadline:
    """The end of the whole collection (`--deadline`), on the running event loop's clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = asyncio.get_running_loop().time() + seconds

    @property
    def passed(self) -> bool:
        return asyncio.get_running_loop().time() >= self._at

    @property
    def remaining(self) -> float:
        return max(0.0, self._at - asyncio.get_running_loop().time())

    def outcome(self) -> Outcome:
        message = f"not read within the deadline of {self.seconds:g} s for the whole collection"
        return Outcome(error=GraphError(code="DeadlineExceeded", message=message))


@dataclass(frozen=True)
class _Answer:
    response: GraphResponse
    retry_here: bool  # a $batch sub-response: the SDK's retry handler never saw it


def _invalid(what: str) -> Outcome:
    return Outcome(error=GraphError(code="InvalidResponse", message=what))


def _unauthorized(response: GraphResponse) -> CollectionError:
    error = response.error()
    return CollectionError(
        f"Microsoft Graph rejected the credentials ({error.describe()}): check the tenant, the app's "
        "admin-consented permissions, and that the token is current"
    )


class BatchRunner:
    def __init__(
        self, client: GraphClient, budget: WaitBudget, progress: CollectionProgress, deadline: Deadline
    ) -> None:
        self._client = client
        self._budget = budget
        self._progress = progress
        self._deadline = deadline

    async def run(self, requests: Sequence[GraphRequest]) -> dict[GraphRequest, Outcome]:
        outcomes: dict[GraphRequest, Outcome] = {}
        pending = [_Pending(request, request.url) for request in dict.fromkeys(requests)]
        while pending and not self._deadline.passed:
            try:  # asyncio.wait_for, not asyncio.timeout_at: Python 3.10 has no timeout_at
                pending = await asyncio.wait_for(self._step(pending, outcomes), self._deadline.remaining)
            except asyncio.TimeoutError:
                break
        for item in pending:  # cut off by the deadline
            outcomes.setdefault(item.request, self._deadline.outcome())
        return outcomes

    async def _step(self, pending: list[_Pending], outcomes: dict[GraphRequest, Outcome]) -> list[_Pending]:
        """Send every pending request once and store what is final; the requests to send next."""
        answers = await self._send(pending)
        following: list[_Pending] = []
        throttled: list[tuple[_Pending, GraphResponse]] = []
        for item, answer in zip(pending, answers, strict=True):
            response = answer.response
            if response.status == 401:
                raise _unauthorized(response)
            retryable = answer.retry_here and response.status in RETRYABLE_STATUSES
            if retryable and item.attempt < self._budget.policy.max_attempts:
                throttled.append((item, response))
                continue
            if not response.ok:
                outcomes[item.request] = Outcome(error=response.error())
            elif next_page := self._absorb(item, response.body, outcomes):
                following.append(next_page)
        return following + await self._wait_for_retry(throttled, outcomes)

    def _absorb(self, item: _Pending, body: Any, outcomes: dict[GraphRequest, Outcome]) -> _Pending | None:
        """Store a successful response; the request's next page, if any."""
        if not isinstance(body, dict):
            outcomes[item.request] = _invalid("the response body is not a JSON object")
            return None
        if not item.request.kind.is_list:
            try:
                check_object(item.request, body)
                outcomes[item.request] = Outcome({k: v for k, v in body.items() if k != "@odata.context"})
            except Unacceptable as problem:
                outcomes[item.request] = _invalid(str(problem))
            return None
        values = body.get("value")
        if not isinstance(values, list):
            outcomes[item.request] = _invalid("the response has no 'value' list")
            return None
        item.items.extend(values)
        link = body.get("@odata.nextLink")
        if not link:
            outcomes[item.request] = Outcome(item.items)
            return None
        try:
            next_url = next_page(self._client.base_url, item.request, str(link))
        except Unacceptable as problem:
            outcomes[item.request] = _invalid(str(problem))
            return None
        item.visited.add(item.url)
        if next_url in item.visited:
            outcomes[item.request] = _invalid("@odata.nextLink points back to a page already read")
            return None
        return _Pending(item.request, next_url, item.items, visited=item.visited)

    async def _wait_for_retry(
        self, throttled: list[tuple[_Pending, GraphResponse]], outcomes: dict[GraphRequest, Outcome]
    ) -> list[_Pending]:
        """Wait as long as the most demanding Retry-After says, once for all throttled sub-requests."""
        if not throttled:
            return []
        wanted = max(self._budget.wanted(item.attempt, response.headers) for item, response in throttled)
        wait = self._budget.take(wanted)
        if wait is None:
            for item, response in throttled:
                outcomes[item.request] = Outcome(error=response.error())
            return []
        for item, response in throttled:
            report_retry(self._progress, f"GET {item.url}", response.status, item.attempt + 1, wait)
        await asyncio.sleep(wait)
        return [replace(item, attempt=item.attempt + 1) for item, _ in throttled]

    async def _send(self, pending: list[_Pending]) -> list[_Answer]:
        urls = [item.url for item in pending]
        self._progress.sending(len(urls))
        if len(urls) == 1:
            retries_left = self._budget.policy.max_attempts - pending[0].attempt
            answers = [_Answer(await self._client.get(urls[0], retries_left), retry_here=False)]
        else:
            limit = asyncio.Semaphore(PARALLEL_BATCHES)
            chunks = [urls[start : start + BATCH_LIMIT] for start in range(0, len(urls), BATCH_LIMIT)]
            results = await asyncio.gather(*(self._send_batch(chunk, limit) for chunk in chunks))
            answers = [answer for chunk_answers in results for answer in chunk_answers]
        self._progress.received(len(urls))
        return answers

    async def _send_batch(self, urls: list[str], limit: asyncio.Semaphore) -> list[_Answer]:
        async with limit:
            top = await self._client.batch([(str(index), url) for index, url in enumerate(urls)])
        if not top.ok:  # the $batch call itself failed (the SDK already retried 429/503/504)
            return [_Answer(top, retry_here=False)] * len(urls)
        listed = top.body.get("responses") if isinstance(top.body, dict) else None
        if not isinstance(listed, list):
            unreadable = GraphResponse.failed("InvalidResponse", "the $batch answer is not a JSON batch response")
            return [_Answer(unreadable, retry_here=False)] * len(urls)
        by_id = {str(r.get("id")): r for r in listed if isinstance(r, dict)}
        return [self._sub_answer(by_id.get(str(index))) for index in range(len(urls))]

    @staticmethod
    def _sub_answer(raw: dict[str, Any] | None) -> _Answer:
        if raw is None or not isinstance(raw.get("status"), int):
            missing = GraphResponse.failed("InvalidResponse", "no answer to this request in the $batch")
            return _Answer(missing, retry_here=False)
        headers = raw.get("headers") if isinstance(raw.get("headers"), dict) else {}
        return _Answer(GraphResponse(raw["status"], headers, raw.get("body")), retry_here=True)
