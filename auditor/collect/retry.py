"""Throttling and transient faults: one wait budget for the whole collection.

Plain requests are retried by the SDK's own retry handler (429, 503, 504), here given the
budget; sub-responses inside a `$batch` are invisible to it, so the batch runner retries those
itself with the same policy (DESIGN §3, ScubaGear #2157).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.options import RetryHandlerOption

RETRYABLE_STATUSES = frozenset({429, 503, 504})
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # per request, the first one included
    max_wait: float = 60.0  # seconds, cap on one wait (a longer Retry-After is shortened)
    max_total_wait: float = 300.0  # seconds spent waiting over the whole collection
    backoff: float = 1.0  # seconds before the first retry when Graph gives no Retry-After; doubles


class RetryReporter(Protocol):
    def retrying(self, what: str, status: int, attempt: int, wait: float) -> None: ...


def report_retry(reporter: RetryReporter, what: str, status: int, attempt: int, wait: float) -> None:
    """Show a retry on the progress display, and in the --verbose log."""
    log.info("HTTP %d on %s: attempt %d in %.2f s", status, what, attempt, wait)
    reporter.retrying(what, status, attempt, wait)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class WaitBudget:
    """Hands out waits: Retry-After when given (else exponential backoff), capped per wait and in total."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.spent = 0.0

    def wanted(self, attempt: int, headers: Mapping[str, str]) -> float:
        """The wait Graph asks for before retry number `attempt` (1 for the first retry)."""
        retry_after = retry_after_seconds(headers)
        return retry_after if retry_after is not None else self.policy.backoff * 2 ** (attempt - 1)

    def take(self, wanted: float) -> float | None:
        """The wait granted, or None when the total budget is used up (stop retrying)."""
        wait = min(wanted, self.policy.max_wait)
        if self.spent + wait > self.policy.max_total_wait:
            return None
        self.spent += wait
        return wait


class BudgetedRetryHandler(RetryHandler):
    """The SDK's retry handler, with the collection's wait budget, and retries reported.

    Unlike the stock handler it honours `Retry-After: 0` as "now" instead of backing off.
    """

    def __init__(self, budget: WaitBudget, reporter: RetryReporter, describe: Callable[[httpx.Request], str]):
        super().__init__(RetryHandlerOption(delay=0, max_retries=min(budget.policy.max_attempts - 1, 10)))
        self._budget = budget
        self._reporter = reporter
        self._describe = describe

    def get_delay_time(self, retry_count: int, response: httpx.Response | None = None, delay: float = 0) -> float:
        # The stock handler asks for a delay after every response, retried or not.
        if response is None or response.status_code not in self.retry_on_status_codes:
            return 0.0
        if retry_count >= self._get_current_options(response.request).max_retry:
            return 0.0
        wait = self._budget.take(self._budget.wanted(retry_count + 1, response.headers))
        if wait is None:
            return RetryHandlerOption.MAX_DELAY  # the handler does not retry at this delay
        report_retry(self._reporter, self._describe(response.request), response.status_code, retry_count + 2, wait)
        return wait
