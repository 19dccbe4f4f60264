"""Ready-made fake tenants, one per situation the auditor must tell apart (DESIGN §4–§5).

Each returns a FakeTenant whose `refs` names the ids a test wants to assert on. The expected
verdict (with the default rule pack and `--app-id` HDM_APP_ID unless said otherwise) is in each
docstring.
"""

from __future__ import annotations

from datetime import timedelta

from tests.fakegraph.tenant import (
    APPLICATION_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
    GLOBAL_ADMINISTRATOR,
    GLOBAL_READER,
    HDM_APP_ID,
    LEGACY_USER_CONSENT,
    LOW_USER_CONSENT,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    FakeTenant,
    group_query,
    role_query,
    user_query,
)

LEGACY_APP_ID = "7c1e2f0a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
REQUIRED_SCOPES = "User.Read Calendars.ReadWrite offline_access"


def _base(name: str) -> FakeTenant:
    """Microsoft Graph and Exchange Online, a Global Administrator, low-risk user consent."""
    tenant = FakeTenant(name)
    tenant.refs = {"graph": tenant.microsoft_graph(), "exchange": tenant.exchange_online()}
    tenant.refs["admin"] = tenant.add_user("Grace Admin")
    tenant.assign_role(GLOBAL_ADMINISTRATOR, tenant.refs["admin"])
    tenant.set_user_consent(LOW_USER_CONSENT)
    return tenant


def _hd_meeting(tenant: FakeTenant, **kwargs: object) -> str:
    tenant.refs["app"] = tenant.add_service_principal("HD Meeting", app_id=HDM_APP_ID, **kwargs)
    return tenant.refs["app"]


def fully_consented() -> FakeTenant:
    """Verdict `ready`: the app is consented tenant-wide for the required scopes."""
    tenant = _base("Fabrikam")
    app = _hd_meeting(tenant)
    tenant.refs["grant"] = tenant.grant_delegated(app, tenant.refs["graph"], f"{REQUIRED_SCOPES} openid profile")
    return tenant


def workflow_only() -> FakeTenant:
    """Verdict `ready-via-workflow`: no service principal yet; the admin consent workflow has a
    user, a group (with a nested group) and a role as reviewers; the role's holders include an
    app-scoped assignment and a role-assignable group."""
    tenant = _base("Northwind")
    refs = tenant.refs
    refs["reviewer"] = tenant.add_user("Rita Reviewer")
    tenant.assign_role(CLOUD_APPLICATION_ADMINISTRATOR, refs["reviewer"])
    refs["nested_member"] = tenant.add_user("Nora Nested")
    refs["disabled_member"] = tenant.add_user("Dan Disabled", enabled=False)
    refs["inner_group"] = tenant.add_group("App Approvers Inner", [refs["nested_member"]])
    refs["group"] = tenant.add_group("App Approvers", [refs["inner_group"], refs["disabled_member"]])
    refs["scoped_admin"] = tenant.add_user("Sam Scoped")
    refs["scoped_object"] = tenant.add_service_principal("Some Other App")
    refs["scoped_assignment"] = tenant.assign_role(
        APPLICATION_ADMINISTRATOR, refs["scoped_admin"], scope=f"/{refs['scoped_object']}"
    )
    refs["role_member"] = tenant.add_user("Rob Rolegroup")
    refs["role_group"] = tenant.add_group("Privileged Admins", [refs["role_member"]], role_assignable=True)
    refs["group_assignment"] = tenant.assign_role(APPLICATION_ADMINISTRATOR, refs["role_group"])
    refs["reader"] = tenant.add_user("Gil Reader")
    tenant.assign_role(GLOBAL_READER, refs["reader"])
    tenant.enable_admin_consent_workflow(
        user_query(refs["reviewer"]),
        group_query(refs["group"]),
        role_query(APPLICATION_ADMINISTRATOR, prefix="/beta"),
        role_query(GLOBAL_READER),
        "/me/manager",  # an unknown form: never fetched
    )
    refs["consent_request"] = tenant.add_consent_request(HDM_APP_ID, "HD Meeting")
    refs["asker"] = tenant.add_user("Ann Asker")
    tenant.add_user_consent_request(refs["consent_request"], refs["asker"], age=timedelta(days=2))
    refs["other_request"] = tenant.add_consent_request("0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f", "Unrelated App")
    tenant.add_user_consent_request(refs["other_request"], refs["asker"])
    return tenant


def disabled_app() -> FakeTenant:
    """Verdict `blocked`: the app's service principal is disabled (it is consented otherwise)."""
    tenant = _base("Tailspin")
    app = _hd_meeting(tenant, enabled=False, assignment_required=True)
    tenant.grant_delegated(app, tenant.refs["graph"], REQUIRED_SCOPES)
    tenant.refs["assigned_group"] = tenant.add_group("HD Meeting users", [tenant.refs["admin"]])
    tenant.assign_to_app(app, tenant.refs["assigned_group"])
    return tenant


def legacy_user_consent() -> FakeTenant:
    """Verdict `ready-via-user-consent`: HD Meeting (verified publisher) is known but not consented, there
    is no workflow, and the legacy policy lets users consent (DESIGN §5: step-up does not apply)."""
    tenant = _base("Wingtip")
    _hd_meeting(tenant, verified_publisher_id="4012345")
    tenant.set_user_consent(LEGACY_USER_CONSENT)
    return tenant


def lookalikes_and_leftovers() -> FakeTenant:
    """The app (found by name only: run without --app-id) next to look-alikes and leftovers of the
    OAuth 1.0 integration holding legacy Exchange permissions; per-user grants too."""
    tenant = _base("Litware")
    refs = tenant.refs
    app = _hd_meeting(tenant)
    tenant.grant_delegated(app, refs["graph"], REQUIRED_SCOPES)
    refs["per_user_grant"] = tenant.grant_delegated(app, refs["graph"], "Calendars.Read", principal=refs["admin"])
    refs["lookalike"] = tenant.add_service_principal("HD Meeting (old)")
    tenant.grant_delegated(refs["lookalike"], refs["exchange"], "EWS.AccessAsUser.All")
    refs["legacy"] = tenant.add_service_principal("HDM Exchange Connector", app_id=LEGACY_APP_ID)
    refs["legacy_role"] = tenant.grant_app_role(refs["legacy"], refs["exchange"], "full_access_as_app")
    refs["other_app"] = tenant.add_service_principal("Contoso CRM")
    tenant.grant_delegated(refs["other_app"], refs["graph"], "User.Read")
    return tenant


def deleted_reviewer() -> FakeTenant:
    """The workflow names a deleted user and a deleted group as reviewers, and one live reviewer."""
    tenant = _base("Adatum")
    refs = tenant.refs
    refs["gone_user"] = tenant.add_user("Gone User")
    refs["gone_group"] = tenant.add_group("Gone Group", [refs["admin"]])
    tenant.delete(refs["gone_user"])
    tenant.delete(refs["gone_group"])
    tenant.enable_admin_consent_workflow(
        user_query(refs["gone_user"]), group_query(refs["gone_group"], transitive=False), user_query(refs["admin"])
    )
    return tenant


def many_objects(count: int = 25) -> FakeTenant:
    """Enough look-alikes, group members and role holders to span many small pages."""
    tenant = _base("Proseware")
    refs = tenant.refs
    app = _hd_meeting(tenant)
    tenant.grant_delegated(app, refs["graph"], REQUIRED_SCOPES)
    for number in range(count):
        tenant.add_service_principal(f"HD Meeting look-alike {number:02}")
    members = [tenant.add_user(f"Member {number:02}") for number in range(count)]
    refs["group"] = tenant.add_group("Many approvers", members)
    for member in members[:count // 2]:
        tenant.assign_role(PRIVILEGED_ROLE_ADMINISTRATOR, member)
    tenant.enable_admin_consent_workflow(group_query(refs["group"]))
    return tenant
