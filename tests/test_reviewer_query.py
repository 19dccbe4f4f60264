from __future__ import annotations

import pytest

from auditor.evaluate.reviewer_query import ReviewerKind, parse_reviewer_query

USER = "7b3a1f7e-5a2c-4c55-9e0b-1f2d3c4b5a69"
ROLE = "62e90394-69f5-4237-9190-012177145e10"


@pytest.mark.parametrize(
    ("query", "kind", "transitive"),
    [
        (f"/users/{USER}", ReviewerKind.USER, True),
        (f"/v1.0/users/{USER}", ReviewerKind.USER, True),
        (f"/beta/users/{USER.upper()}", ReviewerKind.USER, True),
        (f"/groups/{USER}/transitiveMembers/microsoft.graph.user", ReviewerKind.GROUP, True),
        (f"/v1.0/groups/{USER}/members", ReviewerKind.GROUP, False),
        (f"/groups/{USER}/members/graph.user", ReviewerKind.GROUP, False),
        (f"/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{ROLE}'", ReviewerKind.ROLE, True),
        (f"/beta/roleManagement/directory/roleAssignments?$filter=roleDefinitionId%20eq%20'{ROLE}'",
         ReviewerKind.ROLE, True),
    ],
)
def test_known_query_forms_are_recognised(query: str, kind: ReviewerKind, transitive: bool) -> None:
    parsed = parse_reviewer_query(query)
    assert parsed.kind is kind
    assert parsed.id in (USER, ROLE)
    assert parsed.transitive is transitive


@pytest.mark.parametrize(
    "query",
    [
        None,
        42,
        "",
        "/users/not-a-guid",
        f"/users/{USER}/manager",
        f"https://evil.example/users/{USER}/../../admin",
        f"/users/{USER}?$expand=memberOf",
        f"/groups/{USER}/owners",
        "/roleManagement/directory/roleAssignments?$filter=principalId eq 'x'",
        f"/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{ROLE}' or 1 eq 1",
        "x" * 5000,
    ],
)
def test_anything_else_is_unknown_and_never_fetched(query: object) -> None:
    assert parse_reviewer_query(query).kind is ReviewerKind.UNKNOWN
