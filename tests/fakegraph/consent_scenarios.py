"""Fake tenants for the consent paths (DESIGN §4–§5): PIM, custom roles, permission grant policies.

Each returns (tenant, expected) where `expected` holds what the contract implies, with the default
rule pack and `--app-id` HDM_APP_ID: the verdict, the three path states, and the status of the rules
a case is about. HD Meeting is never consented in these tenants (no tenant-wide grant), so the
verdict rests on user consent and the admin consent workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.consent_policies import GRAPH_APP_ID, GRAPH_SCOPE_IDS, condition_set, policy
from tests.fakegraph.tenant import (
    CLOUD_APPLICATION_ADMINISTRATOR,
    HDM_APP_ID,
    LEGACY_USER_CONSENT,
    LOW_USER_CONSENT,
    FakeTenant,
    group_query,
    role_query,
    user_query,
)

Expected = dict[str, Any]
VERIFIED = "4012345"  # an MPN id: HD Meeting's verified publisher


def consent_tenant(name: str, *, app: bool = False, verified: bool = False, **app_options: Any) -> FakeTenant:
    """HD Meeting not consented; user consent on the "low" policy with nothing classified (closed for it)."""
    tenant = FakeTenant(name)
    tenant.refs = {"graph": tenant.microsoft_graph(), "exchange": tenant.exchange_online()}
    tenant.set_user_consent(LOW_USER_CONSENT)
    if app:
        tenant.refs["app"] = tenant.add_service_principal(
            "HD Meeting", app_id=HDM_APP_ID, verified_publisher_id=VERIFIED if verified else None, **app_options
        )
    return tenant


def _expect(verdict: str, granted: str, user: str, workflow: str, **rules: str) -> Expected:
    return {"verdict": verdict, "paths": {"granted": granted, "user_consent": user, "admin_consent_workflow": workflow},
            "rules": {f"HDM-{rule.replace('_', '-')}": status for rule, status in rules.items()}}


def _scopes_policy(policy_id: str, *scopes: str) -> dict[str, Any]:
    """A custom policy admitting exactly these Graph scopes for HD Meeting."""
    return policy(policy_id, [condition_set(f"{policy_id}-1", resourceApplication=GRAPH_APP_ID,
                                            permissions=[GRAPH_SCOPE_IDS[s] for s in scopes],
                                            clientApplicationIds=[HDM_APP_ID])])


# -- approvers ---------------------------------------------------------------------------------------


def eligible_reviewer() -> tuple[FakeTenant, Expected]:
    """A user reviewer eligible (PIM) for Cloud Application Administrator is an approver; a role reviewer
    whose only holder is eligible covers nobody (the role query returns active assignments only)."""
    tenant = consent_tenant("Eligia")
    reviewer = tenant.add_user("Erin Eligible")
    tenant.make_eligible(CLOUD_APPLICATION_ADMINISTRATOR, reviewer)
    tenant.enable_admin_consent_workflow(user_query(reviewer), role_query(CLOUD_APPLICATION_ADMINISTRATOR))
    return tenant, _expect("ready-via-workflow", "closed", "closed", "open", ACW_03="fail", ACW_04="pass")


def no_premium_licence() -> tuple[FakeTenant, Expected]:
    """No Entra ID P2: PIM answers 400 AadPremiumLicenseRequired, which means "no eligibility"."""
    tenant = consent_tenant("Basica")
    reviewer = tenant.add_user("Paul Permanent")
    tenant.assign_role(CLOUD_APPLICATION_ADMINISTRATOR, reviewer)
    tenant.premium = False
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    return tenant, _expect("ready-via-workflow", "closed", "closed", "open", ACW_03="pass", ACW_04="pass")


def eligibility_forbidden() -> tuple[FakeTenant, Expected]:
    """PIM cannot be read (403) and no active approver exists: ACW-04 is error, the verdict unknown."""
    tenant = consent_tenant("Veiled")
    reviewer = tenant.add_user("Vic Veiled")
    tenant.make_eligible(CLOUD_APPLICATION_ADMINISTRATOR, reviewer)
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    tenant.refs["fail"] = r"roleEligibilityScheduleInstances"
    return tenant, _expect("unknown", "closed", "closed", "unknown", ACW_03="pass", ACW_04="error")


def role_management_forbidden() -> tuple[FakeTenant, Expected]:
    """No RoleManagement.Read.Directory: every role source is 403; "unknown", never "blocked"."""
    tenant = consent_tenant("Rolemiss")
    reviewer = tenant.add_user("Rhea Roleless")
    tenant.assign_role(CLOUD_APPLICATION_ADMINISTRATOR, reviewer)
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    tenant.refs["fail"] = r"^/roleManagement/"
    return tenant, _expect("unknown", "closed", "closed", "unknown", ACW_04="error")


def _custom_role_tenant(name: str, reviewer: str, *, enabled: bool = True) -> FakeTenant:
    """A reviewer holding a custom role whose policy admits HD Meeting's three scopes."""
    tenant = consent_tenant(name)
    tenant.add_policy(_scopes_policy("hdm-consent", "User.Read", "Calendars.ReadWrite", "offline_access"))
    role = tenant.add_custom_role("HD Meeting Consent Approver", "hdm-consent", enabled=enabled)
    user = tenant.add_user(reviewer)
    tenant.assign_role(role, user)
    tenant.enable_admin_consent_workflow(user_query(user))
    return tenant


def custom_role_approver() -> tuple[FakeTenant, Expected]:
    """A custom role whose policy admits HD Meeting's three scopes makes its holder an approver."""
    tenant = _custom_role_tenant("Customa", "Cora Custom")
    return tenant, _expect("ready-via-workflow", "closed", "closed", "open", ACW_04="pass")


def custom_role_low_only() -> tuple[FakeTenant, Expected]:
    """A custom role whose policy admits only scopes classified low; Calendars.ReadWrite is not: no approver."""
    tenant = consent_tenant("Lowland")
    tenant.add_policy(policy("low-only", [condition_set("low-only-1", permissionClassification="low")]))
    tenant.classify("User.Read", "offline_access")
    role = tenant.add_custom_role("Low-risk Consent Approver", "low-only")
    reviewer = tenant.add_user("Liam Lowrisk")
    tenant.assign_role(role, reviewer)
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    return tenant, _expect("blocked", "closed", "closed", "closed", ACW_04="fail")


def disabled_custom_role() -> tuple[FakeTenant, Expected]:
    """A disabled custom role grants nothing, whatever its policy admits."""
    tenant = _custom_role_tenant("Dormant", "Dora Dormant", enabled=False)
    return tenant, _expect("blocked", "closed", "closed", "closed", ACW_04="fail")


def eligible_group_member() -> tuple[FakeTenant, Expected]:
    """A reviewer PIM-eligible to join a role-assignable group that holds Cloud Application Administrator."""
    tenant = consent_tenant("Groupia")
    reviewer = tenant.add_user("Gina Groupwise")
    group = tenant.add_group("Cloud App Admins", [], role_assignable=True)
    tenant.assign_role(CLOUD_APPLICATION_ADMINISTRATOR, group)
    tenant.make_eligible_member(reviewer, group)
    tenant.enable_admin_consent_workflow(user_query(reviewer))
    return tenant, _expect("ready-via-workflow", "closed", "closed", "open", ACW_04="pass")


def limited_group_members() -> tuple[FakeTenant, Expected]:
    """Read without User.Read.All: group members come with id and @odata.type only — unknown, not disabled."""
    tenant = consent_tenant("Limbo")
    member = tenant.add_user("Lou Limited")
    tenant.assign_role(CLOUD_APPLICATION_ADMINISTRATOR, member)
    group = tenant.add_group("Approvers", [member])
    tenant.limited_users = True
    tenant.enable_admin_consent_workflow(group_query(group))
    return tenant, _expect("unknown", "closed", "closed", "unknown", ACW_03="error", ACW_04="error")


# -- user consent -------------------------------------------------------------------------------------


def legacy_assignment_required() -> tuple[FakeTenant, Expected]:
    """Legacy user consent, but HD Meeting requires assignment: only an admin can consent."""
    tenant = consent_tenant("Assignia", app=True, verified=True, assignment_required=True)
    tenant.set_user_consent(LEGACY_USER_CONSENT)
    return tenant, _expect("blocked", "closed", "closed", "closed", SP_03="fail", UC_01="fail")


def legacy_unverified_app() -> tuple[FakeTenant, Expected]:
    """Legacy user consent, an unverified multitenant app, step-up on: unknown (Microsoft's heuristics)."""
    tenant = consent_tenant("Stepup", app=True)
    tenant.set_user_consent(LEGACY_USER_CONSENT)
    return tenant, _expect("unknown", "closed", "unknown", "closed", UC_01="fail")


def legacy_verified_app() -> tuple[FakeTenant, Expected]:
    tenant = consent_tenant("Verity", app=True, verified=True)
    tenant.set_user_consent(LEGACY_USER_CONSENT)
    return tenant, _expect("ready-via-user-consent", "closed", "open", "closed", UC_01="fail")


def two_policies_together() -> tuple[FakeTenant, Expected]:
    """No single assigned policy admits all three scopes, two together do: unknown (not documented)."""
    tenant = consent_tenant("Duo", app=True, verified=True)
    tenant.add_policy(_scopes_policy("hdm-basic", "User.Read", "offline_access"))
    tenant.add_policy(_scopes_policy("hdm-calendar", "Calendars.ReadWrite"))
    tenant.set_user_consent("ManagePermissionGrantsForSelf.hdm-basic", "ManagePermissionGrantsForSelf.hdm-calendar")
    return tenant, _expect("unknown", "closed", "unknown", "closed", UC_01="pass")


def low_policy_all_classified_low() -> tuple[FakeTenant, Expected]:
    """The "low" policy with the three scopes classified low and a verified app: users can consent."""
    tenant = consent_tenant("Lowkey", app=True, verified=True)
    tenant.classify("User.Read", "Calendars.ReadWrite", "offline_access")
    return tenant, _expect("ready-via-user-consent", "closed", "open", "closed", UC_01="pass")


def recommended_policy() -> tuple[FakeTenant, Expected]:
    """Microsoft's recommended policy excludes the calendar scopes: user consent is closed."""
    tenant = consent_tenant("Recco", app=True, verified=True)
    tenant.set_user_consent("ManagePermissionGrantsForSelf.microsoft-user-default-recommended")
    return tenant, _expect("blocked", "closed", "closed", "closed", UC_01="pass")


def app_name_with_trailing_whitespace() -> tuple[FakeTenant, Expected]:
    """"HD Meeting\\r\\n" is HD Meeting (found by name, no --app-id), not a leftover."""
    tenant = consent_tenant("Spacey")
    tenant.refs["app"] = tenant.add_service_principal("HD Meeting \r\n", app_id=HDM_APP_ID)
    tenant.grant_delegated(tenant.refs["app"], tenant.refs["graph"], "User.Read Calendars.ReadWrite offline_access")
    expected = _expect("ready", "open", "closed", "closed", SP_01="pass", LEG_01="pass")
    return tenant, {**expected, "by_name": True}


CASES: dict[str, Callable[[], tuple[FakeTenant, Expected]]] = {
    build.__name__: build
    for build in (
        eligible_reviewer, no_premium_licence, eligibility_forbidden, role_management_forbidden,
        custom_role_approver, custom_role_low_only, disabled_custom_role, eligible_group_member,
        limited_group_members, legacy_assignment_required, legacy_unverified_app, legacy_verified_app,
        two_policies_together, low_policy_all_classified_low, recommended_policy, app_name_with_trailing_whitespace,
    )
}
