"""Parse the tool's own versioned JSON documents (snapshots, results): one line for any problem."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from auditor.model.errors import InputError
from auditor.model.tenant_text import may_hold_lone_surrogates, without_lone_surrogates

Model = TypeVar("Model", bound=BaseModel)


def first_error_line(exc: ValidationError) -> str:
    """The first validation error as `where: what`, with a count of the others."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "top level"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg'].removeprefix('Value error, ')}{more}"


def parse_document(
    text: str,
    origin: str,
    model: type[Model],
    *,
    kind: str,
    schema_version: int,
    recognise: Callable[[dict[str, Any]], bool],
    expected: str,
) -> Model:
    """Parse `text` as a `kind` document of `schema_version` into `model`.

    `recognise` tells a document of this kind from any other JSON (`expected` says what it looks for),
    so a foreign file gets "not an auditor …" rather than a list of validation errors.
    """
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{origin}: not valid JSON ({exc})") from None
    except ValueError:  # the only other: an integer longer than Python converts (CVE-2020-10735)
        limit = sys.get_int_max_str_digits()
        raise InputError(f"{origin}: not valid JSON (a number too long to read: more than {limit} digits)") from None
    if may_hold_lone_surrogates(text):
        raw = without_lone_surrogates(raw)
    if not isinstance(raw, dict) or not recognise(raw):
        raise InputError(f"{origin}: not an auditor {kind} (expected {expected})")
    if raw.get("schema_version") != schema_version:
        raise InputError(
            f"{origin}: {kind} schema_version {raw.get('schema_version')!r} is not supported "
            f"(this auditor reads version {schema_version})"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"{origin}: invalid {kind}: {first_error_line(exc)}") from None
