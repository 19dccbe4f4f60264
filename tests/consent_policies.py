"""Permission grant policies and Graph scope ids shared by the snapshot factory and the fake Graph.

Shapes follow Microsoft Graph's `permissionGrantPolicy` and `permissionGrantConditionSet` (v1.0
reference; `microsoft-user-default-low` is the documented example of GET permissionGrantPolicy).
"""

from __future__ import annotations

from typing import Any

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

# Microsoft Graph delegated scope ids (oauth2PermissionScopes of Microsoft Graph's service principal).
GRAPH_SCOPE_IDS = {
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "Calendars.ReadWrite": "1ec239c2-d7c9-4623-a91a-a9775856bb36",
    "Calendars.Read": "465a38f9-76ea-45b9-9f34-9e8b0d4b0b42",
    "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "openid": "37f7f235-527c-4136-accd-4a02d197296e",
    "profile": "14dad69e-099b-42c9-810b-d002981feec1",
    "email": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    "People.Read": "ba47897c-39ec-4d83-8086-ee8256fa737d",
    "Mail.Read": "570282fd-fa5c-430d-a7fd-fc8dc98a9dca",
    "Directory.AccessAsUser.All": "0e263e50-5827-48a4-b97c-d940288653c7",
}
ADMIN_ONLY_SCOPES = {"Directory.AccessAsUser.All"}


def condition_set(set_id: str, **conditions: Any) -> dict[str, Any]:
    """A permissionGrantConditionSet with Graph's defaults for whatever is not given."""
    return {
        "id": set_id,
        "permissionClassification": "all",
        "permissionType": "delegated",
        "resourceApplication": "any",
        "permissions": ["all"],
        "clientApplicationIds": ["all"],
        "clientApplicationTenantIds": ["all"],
        "clientApplicationPublisherIds": ["all"],
        "clientApplicationsFromVerifiedPublisherOnly": False,
        "certifiedClientApplicationsOnly": False,
        **conditions,
    }


def policy(policy_id: str, includes: list[dict[str, Any]], excludes: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"id": policy_id, "displayName": policy_id, "includes": list(includes), "excludes": list(excludes)}


def low_policy(tenant_id: str) -> dict[str, Any]:
    """microsoft-user-default-low as Microsoft documents it: delegated permissions classified low, for
    apps registered in this tenant or from verified publishers."""
    return policy(
        "microsoft-user-default-low",
        [
            condition_set("cb0c20dd-919d-40c5-ba6d-7ffb233b4b0b", permissionClassification="low",
                          clientApplicationTenantIds=[tenant_id]),
            condition_set("8ce99f96-730c-4ebd-8397-07ee65942b97", permissionClassification="low",
                          clientApplicationsFromVerifiedPublisherOnly=True),
        ],
    )


def legacy_policy() -> dict[str, Any]:
    """microsoft-user-default-legacy: any permission that does not need admin consent, any app."""
    return policy("microsoft-user-default-legacy",
                  [condition_set("4e2a2cf2-3f4f-4b3e-9b8a-1c5a1d6f0a01", permissionType="delegatedUserConsentable")])


def recommended_policy() -> dict[str, Any]:
    """microsoft-user-default-recommended, as it stands in this model: apps from verified publishers,
    with the calendar and mail scopes excluded (Microsoft's managed default changes over time)."""
    excluded = [GRAPH_SCOPE_IDS[s] for s in ("Calendars.ReadWrite", "Calendars.Read", "Mail.Read")]
    return policy(
        "microsoft-user-default-recommended",
        [condition_set("6a1b2c3d-0e0f-4a4b-8c8d-9e9f0a0b0c01", permissionType="delegatedUserConsentable",
                       clientApplicationsFromVerifiedPublisherOnly=True)],
        [condition_set("6a1b2c3d-0e0f-4a4b-8c8d-9e9f0a0b0c02", resourceApplication=GRAPH_APP_ID,
                       permissions=excluded)],
    )


def classification(scope: str, level: str = "low") -> dict[str, Any]:
    """A delegatedPermissionClassification of a Microsoft Graph scope."""
    return {"id": f"cls-{GRAPH_SCOPE_IDS[scope][:8]}", "permissionId": GRAPH_SCOPE_IDS[scope],
            "permissionName": scope, "classification": level}
