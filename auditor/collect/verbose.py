"""`--verbose`: the requests to Graph (method, URL, headers), retries and sign-in steps, on stderr.

Secrets are kept out twice: the request log replaces the Authorization header itself, and every line
goes through a formatter that removes the secrets the process holds (`auditor.model.errors.redact`) and
any bearer token, Authorization value or secret-looking field a library may log.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from auditor.model.errors import REDACTED, safe_text

# Our own loggers (requests, retries) and azure-identity's (which credential signed in, token requests).
VERBOSE_LOGGERS = {"auditor": logging.DEBUG, "azure": logging.INFO}
_FIELD = re.compile(
    r"(?i)\b(authorization|client_secret|client_assertion|password|access_token|refresh_token|id_token)"
    r"([\"']?\s*[:=]\s*[\"']?)(?:bearer\s+)?[^\s\"',;&}]+"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")


def scrub(text: str) -> str:
    """A log message without secrets, printable (its line breaks kept)."""
    text = _FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return safe_text(_BEARER.sub(f"Bearer {REDACTED}", text), keep_lines=True)


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


@contextmanager
def verbose_logging(enabled: bool) -> Iterator[None]:
    """While a command runs: log to stderr (as it is then: a test may have replaced it), then restore."""
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = []
    for name, level in VERBOSE_LOGGERS.items():
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(level)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
