"""The tenants the benchmark reads: the test suite's scenarios, a fleet of them, and one large tenant."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import cycle, islice

from tests.fakegraph import scenarios
from tests.fakegraph.tenant import (
    APPLICATION_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
    GLOBAL_ADMINISTRATOR,
    HDM_APP_ID,
    LOW_USER_CONSENT,
    FakeTenant,
    group_query,
    role_query,
)

REQUIRED_SCOPES = scenarios.REQUIRED_SCOPES
_FLEET_NAMESPACE = uuid.UUID("6c1f3e0a-9d2b-4c7e-8f1a-5b3d2e4c6a80")


def scenario_builders() -> dict[str, Callable[[], FakeTenant]]:
    """Every tenant shape of the test suite, by name."""
    return {
        name: build
        for name, build in inspect.getmembers(scenarios, inspect.isfunction)
        if build.__module__ == scenarios.__name__ and not name.startswith("_")
    }


def fleet_tenants(count: int) -> list[FakeTenant]:
    """`count` tenants cycling through the scenarios, each with its own tenant id and name."""
    tenants = []
    for number, build in enumerate(islice(cycle(scenario_builders().values()), count)):
        tenant = build()
        tenant.organization[0].update(
            id=str(uuid.uuid5(_FLEET_NAMESPACE, str(number))),
            displayName=f"{tenant.display_name} {number:03}",
        )
        tenants.append(tenant)
    return tenants


@dataclass(frozen=True)
class LargeShape:
    per_user_grants: int = 100_000
    reviewer_users: int = 20_000  # enabled or not, behind the reviewer groups
    reviewer_groups: int = 4  # the last one also nests the one before it
    pending_requests: int = 2_000
    scopes_per_grant: str = REQUIRED_SCOPES  # what each user consented to (one report row per scope)
    capable_reviewers: int = 20  # reviewer users holding Cloud Application Administrator


def large_tenant(shape: LargeShape = LargeShape()) -> FakeTenant:
    """HD Meeting consented tenant-wide and by `per_user_grants` users one by one; the admin consent
    workflow with `reviewer_groups` groups of reviewers (and the Global Administrator role); one
    consent request for HD Meeting with `pending_requests` users waiting, up to 30 days old."""
    tenant = FakeTenant("Large Tenant")
    graph = tenant.microsoft_graph()
    tenant.exchange_online()
    admin = tenant.add_user("Grace Admin")
    tenant.assign_role(GLOBAL_ADMINISTRATOR, admin)
    tenant.set_user_consent(LOW_USER_CONSENT)
    app = tenant.add_service_principal("HD Meeting", app_id=HDM_APP_ID)
    tenant.grant_delegated(app, graph, f"{REQUIRED_SCOPES} openid profile")
    for _ in range(shape.per_user_grants):
        tenant.grant_delegated(app, graph, shape.scopes_per_grant, principal=tenant.new_id("user"))
    users = [tenant.add_user(f"Reviewer {n:05}", enabled=n % 50 != 0) for n in range(shape.reviewer_users)]
    for user in users[1 : 1 + shape.capable_reviewers]:
        tenant.assign_role(CLOUD_APPLICATION_ADMINISTRATOR, user)
    role_group = tenant.add_group("App admins", users[-50:], role_assignable=True)
    tenant.assign_role(APPLICATION_ADMINISTRATOR, role_group)
    size = shape.reviewer_users // shape.reviewer_groups
    groups = [
        tenant.add_group(f"Approvers {n}", users[n * size : (n + 1) * size]) for n in range(shape.reviewer_groups)
    ]
    if len(groups) > 1:
        tenant.add_members(groups[-1], groups[-2])
    tenant.enable_admin_consent_workflow(*map(group_query, groups), role_query(GLOBAL_ADMINISTRATOR))
    request = tenant.add_consent_request(HDM_APP_ID, "HD Meeting")
    for n in range(shape.pending_requests):
        tenant.add_user_consent_request(request, users[n % len(users)], age=timedelta(days=n % 30, hours=1))
    return tenant
