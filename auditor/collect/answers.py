"""Whether a Graph answer is the complete, genuine answer to the request sent (DESIGN §3).

Checked where each request's outcome is made, for every request kind alike: an object asked for
by id must carry that id; a next page must stay on the request's origin and path. Anything else
is not an answer to what was asked, and its source becomes `error`, never data.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from auditor.collect.graph_requests import USER_PROPERTIES, GraphRequest
from auditor.evaluate.reviewer_query import is_guid


class Unacceptable(Exception):
    """The answer is not the one asked for; the message says why."""


def expected_id(request: GraphRequest) -> str | None:
    """The id a single-object request asks for (its key, or a GUID last path segment); None for lists
    and singletons such as the policies."""
    if request.kind.is_list:
        return None
    last = unquote(urlsplit(request.url).path.rsplit("/", 1)[-1])
    if request.key and last.lower() == request.key.lower():
        return request.key
    return last if is_guid(last) else None


def check_object(request: GraphRequest, value: Any) -> None:
    """Raise Unacceptable when an object asked for by id is another object (ids compare case-insensitively)."""
    wanted = expected_id(request)
    if wanted is None:
        return
    got = value.get("id") if isinstance(value, dict) else None
    if not isinstance(got, str) or got.lower() != wanted.lower():
        shown = repr(got) if got is not None else "no id"
        raise Unacceptable(f"asked for object {wanted}, the answer is {shown}")


def next_page(base_url: str, request: GraphRequest, link: str) -> str:
    """The URL (relative to `base_url`) of the page an `@odata.nextLink` points to.

    Raises Unacceptable when the link leaves the origin of `base_url` or the path of the request:
    a next page of one list is never another resource (Graph paths compare case-insensitively).
    """
    base, target = urlsplit(base_url), urlsplit(link)
    if (target.scheme.lower(), target.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        raise Unacceptable(f"@odata.nextLink leaves {base.scheme}://{base.netloc}")
    wanted_path = base.path + urlsplit(request.url).path
    if target.path.lower() != wanted_path.lower() or target.fragment:
        raise Unacceptable(f"@odata.nextLink leaves the request's path {urlsplit(request.url).path}")
    return target.path[len(base.path) :] + (f"?{target.query}" if target.query else "")


def expanded_user(assignment: dict[str, Any], principal_id: str) -> dict[str, Any] | None:
    """A role holder's expanded `principal` as request 9 would record it (its `$select`, nothing more), when it
    is the assignment's principal and carries every property selected, `accountEnabled` as a boolean (Graph
    expands a user whole); None otherwise, also for limited information, so the user is read by id."""
    user = assignment.get("principal")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or user["id"].lower() != principal_id:
        return None
    if not all(name in user for name in USER_PROPERTIES) or not isinstance(user["accountEnabled"], bool):
        return None
    return {name: user[name] for name in USER_PROPERTIES}
