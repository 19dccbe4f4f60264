"""Parse the `query` of a reviewer in the admin consent request policy (DESIGN §3).

Reviewer queries are Graph paths written by whoever configured the tenant. They are never
fetched as given: only the three known forms are recognised, the ids must be GUIDs, and the
collector builds its own request from the parsed parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote


class ReviewerKind(str, Enum):
    USER = "user"
    GROUP = "group"
    ROLE = "role"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReviewerQuery:
    kind: ReviewerKind
    id: str | None = None
    # For groups: whether the query names transitive members (nested groups count) or direct ones.
    transitive: bool = True


_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_WHOLE_GUID = re.compile(rf"^{_GUID}$")
_PREFIX = r"(?:https://[A-Za-z0-9.-]+)?(?:/(?:v1\.0|beta))?"
_USER = re.compile(rf"^{_PREFIX}/users/(?P<id>{_GUID})/?$", re.IGNORECASE)
_GROUP = re.compile(
    rf"^{_PREFIX}/groups/(?P<id>{_GUID})/(?P<rel>transitiveMembers|members)"
    r"(?:/(?:microsoft\.graph|graph)\.user)?/?$",
    re.IGNORECASE,
)
_ROLE = re.compile(
    rf"^{_PREFIX}/roleManagement/directory/roleAssignments\?\$filter=\s*roleDefinitionId\s+eq\s+"
    rf"'(?P<id>{_GUID})'\s*$",
    re.IGNORECASE,
)


def is_guid(value: object) -> bool:
    """Whether `value` is a GUID: the only form of id the tool ever puts into a Graph path."""
    return isinstance(value, str) and bool(_WHOLE_GUID.match(value))


def parse_reviewer_query(query: object) -> ReviewerQuery:
    """Map a reviewer query to a user, group or role reviewer; anything else is UNKNOWN."""
    if not isinstance(query, str) or len(query) > 2048:
        return ReviewerQuery(ReviewerKind.UNKNOWN)
    text = unquote(query.strip())
    if match := _USER.match(text):
        return ReviewerQuery(ReviewerKind.USER, match["id"].lower())
    if match := _GROUP.match(text):
        return ReviewerQuery(
            ReviewerKind.GROUP, match["id"].lower(), transitive=match["rel"].lower() == "transitivemembers"
        )
    if match := _ROLE.match(text):
        return ReviewerQuery(ReviewerKind.ROLE, match["id"].lower())
    return ReviewerQuery(ReviewerKind.UNKNOWN)
