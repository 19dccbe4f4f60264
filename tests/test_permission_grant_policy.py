"""The permission grant policy evaluator, one condition at a time (DESIGN §5 "Policy evaluation").

Every expected value is read off the contract: a set matches when each condition holds; absent
conditions take Graph's defaults (`all` / `false`); a set without `permissionType` is malformed;
unknown facts make the answer unknown only when they could change it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from auditor.evaluate.policy import (
    UNKNOWN,
    ClientApp,
    MalformedPolicy,
    Scope,
    admin_consent_policy_ids,
    admits,
    admits_all,
    matches,
    user_consent_policy_ids,
)

GRAPH = "00000003-0000-0000-c000-000000000000"
CALENDARS = Scope("Calendars.ReadWrite", GRAPH, "1ec239c2-d7c9-4623-a91a-a9775856bb36", True, None)
USER_READ = Scope("User.Read", GRAPH, "e1fe6dd8-ba31-4d61-89e7-88639da4683d", True, "low")
HDM = ClientApp("5d0b7c4e-8a55-4bb8-9a73-2f3f5e0e6a11", "8f3c1d52-7a0e-4c43-9c0b-1b5e2f6a9d07", True, "4012345")
UNKNOWN_APP = ClientApp(None, None, None, None)


def delegated(**conditions: Any) -> dict[str, Any]:
    return {"permissionType": "delegated", **conditions}


# -- defaults ------------------------------------------------------------------------------------------


def test_a_set_with_only_permission_type_matches_everything_delegated() -> None:
    assert matches(delegated(), CALENDARS, HDM) is True


def test_defaults_need_no_fact_about_the_app() -> None:
    assert matches(delegated(), CALENDARS, UNKNOWN_APP) is True


def test_a_set_without_permission_type_is_malformed() -> None:
    with pytest.raises(MalformedPolicy):
        matches({"permissionClassification": "low"}, USER_READ, HDM)


@pytest.mark.parametrize("key", ["permissions", "clientApplicationIds", "clientApplicationTenantIds",
                                 "clientApplicationPublisherIds"])
def test_list_conditions_default_to_all(key: str) -> None:
    assert matches(delegated(**{key: ["all"]}), CALENDARS, UNKNOWN_APP) is True


@pytest.mark.parametrize("key", ["clientApplicationsFromVerifiedPublisherOnly", "certifiedClientApplicationsOnly"])
def test_boolean_restrictions_default_to_false(key: str) -> None:
    assert matches(delegated(**{key: False}), CALENDARS, UNKNOWN_APP) is True


# -- permissionType ----------------------------------------------------------------------------------------


def test_delegated_user_consentable_matches_a_user_consentable_scope_only() -> None:
    conditions = {"permissionType": "delegatedUserConsentable"}
    assert matches(conditions, CALENDARS, HDM) is True
    assert matches(conditions, replace(CALENDARS, user_consentable=False), HDM) is False
    assert matches(conditions, replace(CALENDARS, user_consentable=None), HDM) is None


def test_application_permission_sets_never_match_a_delegated_scope() -> None:
    assert matches({"permissionType": "application"}, CALENDARS, HDM) is False


# -- resource, permissions, classification -------------------------------------------------------------------


def test_resource_application_any_or_the_resource_app_id() -> None:
    assert matches(delegated(resourceApplication="any"), CALENDARS, HDM) is True
    assert matches(delegated(resourceApplication=GRAPH), CALENDARS, HDM) is True
    assert matches(delegated(resourceApplication="00000002-0000-0ff1-ce00-000000000000"), CALENDARS, HDM) is False


def test_permissions_must_hold_the_scope_id() -> None:
    assert matches(delegated(permissions=[CALENDARS.id]), CALENDARS, HDM) is True
    assert matches(delegated(permissions=[USER_READ.id]), CALENDARS, HDM) is False
    assert matches(delegated(permissions=[USER_READ.id]), replace(CALENDARS, id=None), HDM) is None


def test_classification_must_equal_the_tenants_and_an_unclassified_scope_matches_only_all() -> None:
    assert matches(delegated(permissionClassification="low"), USER_READ, HDM) is True
    assert matches(delegated(permissionClassification="low"), CALENDARS, HDM) is False  # unclassified
    assert matches(delegated(permissionClassification="all"), CALENDARS, HDM) is True
    assert matches(delegated(permissionClassification="medium"), USER_READ, HDM) is False
    assert matches(delegated(permissionClassification="low"), replace(USER_READ, classification=UNKNOWN), HDM) is None


# -- the client app ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "fact"), [("clientApplicationIds", HDM.app_id),
                                           ("clientApplicationTenantIds", HDM.owner_tenant_id),
                                           ("clientApplicationPublisherIds", HDM.verified_publisher_id)])
def test_client_lists_must_hold_the_apps_fact(key: str, fact: str) -> None:
    assert matches(delegated(**{key: [fact.upper()]}), CALENDARS, HDM) is True  # ids compare case-insensitively
    assert matches(delegated(**{key: ["11111111-1111-1111-1111-111111111111"]}), CALENDARS, HDM) is False
    assert matches(delegated(**{key: [fact]}), CALENDARS, UNKNOWN_APP) is None


def test_verified_publisher_only() -> None:
    conditions = delegated(clientApplicationsFromVerifiedPublisherOnly=True)
    assert matches(conditions, CALENDARS, HDM) is True
    assert matches(conditions, CALENDARS, replace(HDM, publisher_verified=False)) is False
    assert matches(conditions, CALENDARS, UNKNOWN_APP) is None


def test_certified_only_never_matches_because_certification_is_not_visible() -> None:
    assert matches(delegated(certifiedClientApplicationsOnly=True), CALENDARS, HDM) is False


# -- includes and excludes ------------------------------------------------------------------------------


def test_a_policy_admits_when_an_include_matches_and_no_exclude_does() -> None:
    policy = {"includes": [delegated()], "excludes": [delegated(permissions=[CALENDARS.id])]}
    assert admits(policy, USER_READ, HDM) is True
    assert admits(policy, CALENDARS, HDM) is False
    assert admits_all(policy, [USER_READ, CALENDARS], HDM) is False


def test_a_definite_miss_decides_whatever_is_unknown() -> None:
    policy = {"includes": [delegated(permissions=[USER_READ.id])], "excludes": []}
    # Calendars.ReadWrite is definitely not listed: no unknown publisher fact could change that.
    assert admits(policy, CALENDARS, UNKNOWN_APP) is False


def test_an_unknown_exclude_leaves_an_included_scope_unknown() -> None:
    policy = {"includes": [delegated()], "excludes": [delegated(clientApplicationIds=[HDM.app_id])]}
    assert admits(policy, CALENDARS, UNKNOWN_APP) is None


def test_includes_or_excludes_that_are_not_lists_are_malformed() -> None:
    with pytest.raises(MalformedPolicy):
        admits({"includes": {"permissionType": "delegated"}, "excludes": []}, CALENDARS, HDM)


# -- the ids that name policies --------------------------------------------------------------------------


def test_user_consent_policy_ids_compare_the_prefix_case_insensitively() -> None:
    assigned = ["ManagePermissionGrantsForSelf.microsoft-user-default-low",
                "managePermissionGrantsForSelf.custom-policy",
                "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-team", 7]
    assert user_consent_policy_ids(assigned) == ["microsoft-user-default-low", "custom-policy"]


def test_admin_consent_policy_ids_come_from_manage_permission_grants_for_all_actions() -> None:
    definition = {"rolePermissions": [{"allowedResourceActions": [
        "microsoft.directory/servicePrincipals/managePermissionGrantsForAll.hdm-consent",
        "microsoft.directory/servicePrincipals/managePermissionGrantsForSelf.other",
        "microsoft.directory/applications/basic/update"]}]}
    assert admin_consent_policy_ids(definition) == ["hdm-consent"]
