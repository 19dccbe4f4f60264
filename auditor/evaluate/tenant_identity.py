"""A tenant's identity: the id a run is known by in reports and in the history.

Collection takes it from `/organization`. When that cannot be read, only an id the user gave
(`--tenant-id`, a GUID or a domain name) may stand in: anything else would be a guess, and two
tenants stored under one guessed id would mix their histories and drift.
"""

from __future__ import annotations

import re

from auditor.evaluate.reviewer_query import is_guid

UNKNOWN_TENANT = "unknown"
# A DNS name of two or more labels ending in letters, e.g. contoso.onmicrosoft.com.
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def tenant_key(value: object) -> str | None:
    """`value` as a tenant id (lower-cased) when it is a GUID or a domain name; None otherwise."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if is_guid(value) or _DOMAIN.match(value) else None


def identify(reported: str, given: str | None) -> str:
    """The run's tenant id: the GUID Graph reported, else the GUID or domain the user gave, else `unknown`."""
    return reported.lower() if is_guid(reported) else tenant_key(given) or UNKNOWN_TENANT


def is_identified(tenant_id: str) -> bool:
    return tenant_key(tenant_id) is not None
