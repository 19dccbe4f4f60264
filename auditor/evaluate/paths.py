"""The consent paths and the verdict (DESIGN §5, contract).

HD Meeting gets its delegated permissions by one of three paths, each `open`, `closed` or
`unknown` with reasons that name the objects behind them:

- `granted`: consent is in place — the rules SP-01, SP-02, GR-01 and SP-03;
- `user_consent`: any user can consent for themselves — assignment not required, a
  `ManagePermissionGrantsForSelf.*` policy that admits every required scope, and risk-based step-up
  not in the way (decided here from the snapshot, not from UC-01, which only flags the legacy policy);
- `admin_consent_workflow`: users ask and an approver approves — ACW-01, ACW-02 and ACW-04.

The verdict never claims more than was read: "blocked" means the app is disabled or every path was
read and found closed; an unreadable source never turns into "blocked".
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.evaluate.approvers import ApproverSearch
from auditor.evaluate.consent import ConsentFacts
from auditor.evaluate.facts import SourceUnavailable, TenantFacts
from auditor.evaluate.logic import Tri, all_of, any_of
from auditor.evaluate.policy import user_consent_policy_ids
from auditor.model.graph_objects import flag, strings
from auditor.model.result import ApproverRef, ConsentPath, ConsentPaths, PathState, Status, Verdict, WorkflowPath

GRANTED_RULES = ("HDM-SP-01", "HDM-SP-02", "HDM-GR-01", "HDM-SP-03")
WORKFLOW_RULES = ("HDM-ACW-01", "HDM-ACW-02", "HDM-ACW-04")

STEP_UP_UNKNOWN = (
    "HD Meeting's publisher is not known to be verified and risky-app user consent is not allowed "
    "(allowUserConsentForRiskyApps is off, Graph's default): Microsoft blocks user consent to most unverified "
    "multitenant apps registered after 8 Nov 2020 that ask for more than basic sign-in scopes, by heuristics "
    "the tenant does not show. Try a test sign-in with an ordinary user to know."
)

Condition = tuple[Tri, str]


def _state(value: Tri) -> PathState:
    return PathState.UNKNOWN if value is None else PathState.OPEN if value else PathState.CLOSED


def rule_path(rules: tuple[str, ...], statuses: Mapping[str, Status], messages: Mapping[str, str]) -> ConsentPath:
    """A path that is open when every rule passes, closed when one fails, otherwise unknown."""
    messages = {rule: messages.get(rule, "not evaluated (not in the rule pack)") for rule in rules}
    values = {rule: {Status.PASS: True, Status.FAIL: False}.get(statuses[rule]) for rule in rules}
    state = all_of(values.values())
    if state is False:
        reasons = [f"{rule} failed: {messages[rule]}" for rule in rules if statuses[rule] is Status.FAIL]
    elif state is None:
        reasons = [f"{rule} could not be decided: {messages[rule]}" for rule in rules if values[rule] is None]
    else:
        reasons = [messages[rule] for rule in rules]
    return ConsentPath(state=_state(state), reasons=reasons)


def workflow_path(statuses: Mapping[str, Status], messages: Mapping[str, str], search: ApproverSearch) -> WorkflowPath:
    path = rule_path(WORKFLOW_RULES, statuses, messages)
    approvers = [ApproverRef(**a.as_dict()) for a in search.approvers] if statuses["HDM-ACW-01"] is Status.PASS else []
    return WorkflowPath(state=path.state, reasons=path.reasons, approvers=approvers)


def user_consent_path(facts: TenantFacts) -> ConsentPath:
    consent = ConsentFacts.of(facts)
    conditions = [_assignment(facts), _policies(facts, consent), _step_up(facts, consent)]
    state = all_of(value for value, _ in conditions)
    # The deciding conditions first: what closes the path, else what leaves it unknown.
    first = False if state is False else None if state is None else True
    reasons = [reason for value, reason in conditions if value is first]
    reasons += [reason for value, reason in conditions if value is not first]
    return ConsentPath(state=_state(state), reasons=reasons)


def _assignment(facts: TenantFacts) -> Condition:
    try:
        candidates = facts.app_candidates
    except SourceUnavailable as missing:
        return None, f"Whether HD Meeting requires assignment could not be read ({missing.describe()})."
    if not candidates:
        return True, ("HD Meeting has no service principal yet; the one a first consent creates does not "
                      "require assignment.")
    if len(candidates) > 1:
        return None, "Several service principals are named like HD Meeting: which one users would reach is unknown."
    required = flag(candidates[0], "appRoleAssignmentRequired")
    if required is None:
        return None, "HD Meeting's service principal was read without appRoleAssignmentRequired."
    if required:
        return False, ("HD Meeting requires assignment (appRoleAssignmentRequired): only an administrator can "
                       "consent, whatever the user consent settings say.")
    return True, "HD Meeting does not require assignment."


def _policies(facts: TenantFacts, consent: ConsentFacts) -> Condition:
    try:
        defaults = (facts.read("authorization_policy") or {}).get("defaultUserRolePermissions")
    except SourceUnavailable as missing:
        return None, f"The user consent settings could not be read ({missing.describe()})."
    if not isinstance(defaults, dict) or not isinstance(defaults.get("permissionGrantPoliciesAssigned"), list):
        return None, "The authorization policy was read without permissionGrantPoliciesAssigned."
    policy_ids = user_consent_policy_ids(strings(defaults, "permissionGrantPoliciesAssigned"))
    if not policy_ids:
        return False, "No user consent policy (ManagePermissionGrantsForSelf.*) is assigned: users cannot consent."
    scopes = " ".join(facts.params.required_graph_scopes)
    consentable = consent.user_consentable
    if consentable is False:
        admin_only = [s.value for s in consent.scopes if s.user_consentable is False]
        return False, f"{', '.join(admin_only)} require(s) admin consent (type Admin): users cannot consent."
    answers = [consent.answer(policy_id) for policy_id in policy_ids]
    admitted = any_of(answer.admits for answer in answers)
    if admitted is True:
        deciding = next(answer for answer in answers if answer.admits is True)
        reason = f"User consent policy '{deciding.policy_id}' admits {scopes} for HD Meeting."
        if not deciding.certified_visible:
            reason += (" It was read from Graph v1.0, which does not show certifiedClientApplicationsOnly: a "
                       "certified-only restriction would not be visible.")
        return all_of([True, consentable]), reason if consentable else f"{reason} {_unknown_scopes(consent)}"
    if admitted is None:
        return None, " ".join(f"{answer.reason}." for answer in answers if answer.admits is None)
    together = all_of(any_of(each) for each in zip(*(answer.each for answer in answers), strict=True))
    if len(policy_ids) > 1 and together is not False:
        what = "do" if together else "may (it depends on facts that could not be read)"
        return None, (f"No single user consent policy admits all of {scopes}, but {', '.join(policy_ids)} together "
                      f"{what}: Microsoft does not document whether policies combine per permission.")
    return False, (f"No assigned user consent policy admits all of {scopes} for HD Meeting: "
                   + "; ".join(answer.reason for answer in answers) + ".")


def _unknown_scopes(consent: ConsentFacts) -> str:
    unknown = [s.value for s in consent.scopes if s.user_consentable is None]
    return f"Whether {', '.join(unknown)} can be consented by users could not be read."


def _step_up(facts: TenantFacts, consent: ConsentFacts) -> Condition:
    if consent.client.publisher_verified is True:
        return True, "HD Meeting's publisher is verified: risk-based step-up does not apply."
    try:
        risky_allowed = consent.allows_risky_user_consent
    except SourceUnavailable as missing:
        return None, f"Whether risky-app user consent is allowed could not be read ({missing.describe()})."
    if risky_allowed:
        return True, "allowUserConsentForRiskyApps is on: risk-based step-up does not stop user consent."
    return None, STEP_UP_UNKNOWN


def consent_paths(facts: TenantFacts, statuses: Mapping[str, Status], messages: Mapping[str, str],
                  search: ApproverSearch) -> ConsentPaths:
    return ConsentPaths(
        granted=rule_path(GRANTED_RULES, statuses, messages),
        user_consent=user_consent_path(facts),
        admin_consent_workflow=workflow_path(statuses, messages, search),
    )


def decide_verdict(statuses: Mapping[str, Status], paths: ConsentPaths) -> Verdict:
    """DESIGN §5: the first verdict whose condition holds."""
    if statuses.get("HDM-SP-02") is Status.FAIL:
        return Verdict.BLOCKED
    if Status.ERROR in (statuses.get("HDM-SP-01"), statuses.get("HDM-SP-02")):
        return Verdict.UNKNOWN
    for path, verdict in ((paths.granted, Verdict.READY), (paths.user_consent, Verdict.READY_VIA_USER_CONSENT),
                          (paths.admin_consent_workflow, Verdict.READY_VIA_WORKFLOW)):
        if path.state is PathState.OPEN:
            return verdict
    if any(path.state is PathState.UNKNOWN for _, path in paths.items()):
        return Verdict.UNKNOWN
    return Verdict.BLOCKED
