"""Defensive readers for raw Graph objects.

Snapshot data is tenant-controlled JSON: a field may be missing, null or of the wrong type. These
helpers give checks one well-typed value instead of a crash (or a silent truthiness bug).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auditor.model.timestamps import parse_graph_time

GraphObject = dict[str, Any]

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"


def text(obj: GraphObject | None, key: str) -> str:
    """A string field, or "" when missing or not a string."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else ""


def is_value(obj: GraphObject | None, key: str, expected: str) -> bool:
    """Whether an enum-like string field (status, consentType, principalType) is `expected`, in any letter
    case: Graph and its documents spell them differently (`InProgress`, `inProgress`)."""
    return text(obj, key).casefold() == expected.casefold()


def flag(obj: GraphObject | None, key: str) -> bool | None:
    """A boolean field, or None when missing or not a boolean."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, bool) else None


def number(obj: GraphObject | None, key: str) -> int | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def objects(obj: GraphObject | None, key: str) -> list[GraphObject]:
    """A list-of-objects field, keeping only the entries that are objects."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def strings(obj: GraphObject | None, key: str) -> list[str]:
    value = obj.get(key) if isinstance(obj, dict) else None
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def object_id(obj: GraphObject | None) -> str:
    """The object's id, lower-cased (ids compare case-insensitively)."""
    return text(obj, "id").lower()


def same_id(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.lower() == b.lower()  # type: ignore[union-attr]


def scopes(grant: GraphObject) -> list[str]:
    """The space-separated `scope` of an oauth2PermissionGrant, as a list."""
    return text(grant, "scope").split()


def timestamp(obj: GraphObject | None, key: str) -> datetime | None:
    """An ISO 8601 date-time field as an aware datetime (UTC when no zone is given), or None."""
    return parse_graph_time(text(obj, key))


def name_key(name: str) -> str:
    """A display name as names compare (DESIGN §4): surrounding whitespace trimmed, case-folded, so
    "HD Meeting\r\n" is HD Meeting."""
    return name.strip().casefold()


def expanded_principal_type(assignment: GraphObject) -> str:
    """The `@odata.type` of a role assignment's `principal` (`$expand=principal`), lower-cased; "" when
    it was not expanded."""
    principal = assignment.get("principal")
    return text(principal, "@odata.type").lower() if isinstance(principal, dict) else ""


def is_user(member: GraphObject) -> bool:
    """Whether a directory object (e.g. a group member) is a user."""
    odata_type = text(member, "@odata.type").lower()
    return odata_type in ("#microsoft.graph.user", "microsoft.graph.user") or (
        not odata_type and "userPrincipalName" in member
    )


def user_label(user: GraphObject) -> str:
    """How a report names a user: "Display Name (upn)", else whichever of the two is known, else the id."""
    name, upn = text(user, "displayName"), text(user, "userPrincipalName")
    return f"{name} ({upn})" if name and upn and name != upn else upn or name or text(user, "id")
