"""Hand-built report contexts for the renderer tests: an ordinary tenant, a hostile one, a large one.

They are built directly (not through the engine) so that the report tests pin the renderers alone,
with every shape of evidence the checks produce.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any

from auditor.evaluate.rulepack import Severity
from auditor.history.drift import Drift, RunState, diff
from auditor.model.result import (
    Accepted,
    AppRef,
    ApproverRef,
    ConsentPath,
    ConsentPaths,
    Finding,
    PathState,
    Result,
    RulePackRef,
    Status,
    Summary,
    TenantRef,
    ToolRef,
    Verdict,
    WorkflowPath,
)
from auditor.report.report_model import (
    AppPermissionRow,
    ConsentRequestRow,
    GrantRow,
    LeftoverRow,
    PerUserGrantRow,
    ReportContext,
    ReportTables,
    ReviewerRow,
    SourceRow,
)

APP_ID = "4b7a5c1e-2f7d-4d6e-9a51-7f1c2e9d8b30"
TENANT_ID = "8d3f2b6a-91c4-4e0b-b5a7-2c6e1f9a7d14"
GRAPH_SP = "0b2e9f61-1d2c-4c55-8f33-6a7e4c0d9e21"
CONSENT_URL = f"https://login.microsoftonline.com/{TENANT_ID}/adminconsent?client_id={APP_ID}"

# Payloads that would run script, fetch something or become a spreadsheet formula if not escaped.
# The script payloads set window.__xss, so that the browser test can tell whether one ran.
XSS_IMG = '<img src=x onerror="window.__xss=1;alert(1)">'
XSS_SCRIPT = "<script>window.__xss=2;alert(1)</script>"
XSS_SVG = '"><svg onload="window.__xss=3;alert(1)">'
XSS_ATTR = "' autofocus onfocus='window.__xss=4"
FORMULA = '=HYPERLINK("http://evil.example","x")'
FORMULAS = (FORMULA, "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1")
CONTROL = "Ctrl\x00\x01\x07\x1b\x1f-name\ufffe"
HOSTILE_NAMES = (XSS_IMG, XSS_SCRIPT, XSS_SVG, XSS_ATTR, *FORMULAS, CONTROL)

RULES: list[tuple[str, str, str, Severity]] = [
    ("HDM-ACW-01", "Admin consent workflow is enabled", "Admin consent workflow", Severity.HIGH),
    ("HDM-ACW-02", "The workflow has reviewers", "Admin consent workflow", Severity.HIGH),
    ("HDM-ACW-03", "Every reviewer resolves to enabled users", "Admin consent workflow", Severity.MEDIUM),
    ("HDM-ACW-04", "A reviewer may grant consent", "Admin consent workflow", Severity.HIGH),
    ("HDM-ACW-05", "Reviewers are notified", "Admin consent workflow", Severity.MEDIUM),
    ("HDM-ACW-06", "Reviewers get reminders", "Admin consent workflow", Severity.LOW),
    ("HDM-ACW-07", "Requests last a reasonable time", "Admin consent workflow", Severity.LOW),
    ("HDM-UC-01", "Legacy user consent is off", "User consent", Severity.MEDIUM),
    ("HDM-SP-01", "HD Meeting's service principal exists", "Service principal", Severity.HIGH),
    ("HDM-SP-02", "The service principal is enabled", "Service principal", Severity.HIGH),
    ("HDM-SP-03", "Users can reach the app", "Service principal", Severity.MEDIUM),
    ("HDM-GR-01", "Tenant-wide consent covers the required scopes", "Permissions", Severity.HIGH),
    ("HDM-GR-02", "Only the scopes HD Meeting needs", "Permissions", Severity.MEDIUM),
    ("HDM-GR-03", "No application permissions", "Permissions", Severity.HIGH),
    ("HDM-GR-04", "No per-user grants", "Permissions", Severity.LOW),
    ("HDM-REQ-01", "No stale consent requests", "Consent requests", Severity.MEDIUM),
    ("HDM-LEG-01", "No leftovers of the old integration", "Legacy", Severity.MEDIUM),
]

REMEDIATION = (
    "1. Sign in to the Microsoft Entra admin center as at least a Cloud Application Administrator.\n"
    "2. Browse to Identity > Applications > Enterprise applications > Consent and permissions.\n"
    "3. Under Admin consent settings, set 'Users can request admin consent to apps they are unable to "
    "consent to' to Yes and add reviewers.\n\n"
    "Microsoft Graph:\n"
    "PATCH https://graph.microsoft.com/v1.0/policies/adminConsentRequestPolicy\n"
    "Content-Type: application/json\n\n"
    '{"isEnabled": true, "notifyReviewers": true, "remindersEnabled": true, "requestDurationInDays": 30}\n\n'
    "Microsoft Graph PowerShell:\n"
    "Update-MgPolicyAdminConsentRequestPolicy -IsEnabled:$true -NotifyReviewers:$true `\n"
    "  -RemindersEnabled:$true -RequestDurationInDays 30"
)
REFERENCES = [
    "https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/configure-admin-consent-workflow",
    "https://learn.microsoft.com/en-us/graph/api/adminconsentrequestpolicy-update",
]
FRAMEWORKS = {"CIS M365": "5.1.5.2", "ScubaGear": "MS.AAD.5.3v1", "EIDSCA": "EIDSCA.CR01"}
COLLECTED = datetime(2025, 5, 12, 8, 30, tzinfo=timezone.utc)
GENERATED = datetime(2025, 5, 12, 9, 5, tzinfo=timezone.utc)


def finding(rule_id: str, status: Status, message: str, **evidence: Any) -> Finding:
    _, title, category, severity = next(rule for rule in RULES if rule[0] == rule_id)
    return Finding(
        rule_id=rule_id,
        title=title,
        category=category,
        severity=severity,
        status=status,
        message=message,
        evidence=evidence,
        remediation=REMEDIATION,
        references=REFERENCES,
        frameworks=FRAMEWORKS if rule_id.startswith(("HDM-ACW", "HDM-UC")) else {},
    )


def summary(findings: list[Finding]) -> Summary:
    def count(status: Status) -> int:
        return sum(f.status is status for f in findings)

    judged = [f for f in findings if f.status is not Status.NOT_APPLICABLE]
    score = round(100 * sum(f.status is Status.PASS for f in judged) / len(judged), 1) if judged else 100.0
    return Summary(passed=count(Status.PASS), fail=count(Status.FAIL), error=count(Status.ERROR),
                   not_applicable=count(Status.NOT_APPLICABLE), score=score)


def result(tenant: str, verdict: Verdict, findings: list[Finding], app_name: str = "HD Meeting") -> Result:
    return Result(
        generated_at=GENERATED,
        collected_at=COLLECTED,
        tool=ToolRef(version="0.1.0"),
        tenant=TenantRef(id=TENANT_ID, display_name=tenant),
        rule_pack=RulePackRef(id="hd-meeting", version="1.0.0"),
        app=AppRef(app_id=APP_ID, display_name=app_name, service_principal_id=None),
        verdict=verdict,
        summary=summary(findings),
        findings=findings,
    )


SOURCES_OK = [
    SourceRow("organization", "ok", "", "Directory.Read.All"),
    SourceRow("admin_consent_request_policy", "ok", "", "Policy.Read.All"),
    SourceRow("authorization_policy", "ok", "", "Policy.Read.All"),
    SourceRow("service_principals", "ok", "", "Application.Read.All"),
    SourceRow("delegated_grants", "ok", "", "Application.Read.All"),
    SourceRow("role_assignments", "ok", "", "RoleManagement.Read.Directory"),
    SourceRow("consent_requests", "ok", "", "ConsentRequest.Read.All"),
]

NOT_APPLICABLE = "Not applicable: HDM-SP-01 did not pass."


def ordinary_findings() -> list[Finding]:
    s = Status
    reviewers = [
        {"query": "/users/5d1f0c2a-7e3b-4f1a-9c8d-2b6e4a1f7c90", "kind": "user", "id": "5d1f0c2a",
         "name": "Megan Bowen", "resolved": True, "reason": None, "enabled_users": ["megan@contoso.com"]},
        {"query": "/groups/9a2b/transitiveMembers/microsoft.graph.user", "kind": "group", "id": "9a2b",
         "name": "App approvers", "resolved": False, "reason": "no enabled member", "enabled_users": []},
        {"query": "/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '158c047a'",
         "kind": "role", "id": "158c047a", "name": "Cloud Application Administrator", "resolved": True,
         "reason": None, "enabled_users": ["adele@contoso.com", "alex@contoso.com"]},
    ]
    return [
        finding("HDM-ACW-01", s.PASS, "The admin consent workflow is enabled: users can request HD Meeting "
                "and reviewers decide.", isEnabled=True),
        finding("HDM-ACW-02", s.PASS, "3 reviewer(s) configured.", reviewers=[r["query"] for r in reviewers]),
        finding("HDM-ACW-03", s.FAIL, "1 of 3 reviewer(s) cannot act — App approvers: no enabled member.",
                reviewers=reviewers),
        finding("HDM-ACW-04", s.PASS, "2 reviewer(s) hold a consent-capable role tenant-wide and can approve: "
                "adele@contoso.com, alex@contoso.com.",
                capable_reviewers={"adele@contoso.com": ["Cloud Application Administrator"],
                                   "alex@contoso.com": ["Cloud Application Administrator"]},
                reviewer_users=["adele@contoso.com", "alex@contoso.com", "megan@contoso.com"]),
        finding("HDM-ACW-05", s.PASS, "Reviewers are emailed when a request arrives.", notifyReviewers=True),
        finding("HDM-ACW-06", s.FAIL, "Reminders are off: a request that is overlooked expires silently.",
                remindersEnabled=False),
        finding("HDM-ACW-07", s.PASS, "Requests stay open 30 days (allowed 7–30).",
                requestDurationInDays=30, allowed_min=7, allowed_max=30),
        finding("HDM-UC-01", s.PASS, "Users cannot consent to any app on their own.",
                permissionGrantPoliciesAssigned=["ManagePermissionGrantsForOwnedResource.DeveloperConsent"]),
        finding("HDM-SP-01", s.FAIL, f"No service principal with appId {APP_ID}: HD Meeting has never been "
                "consented to in this tenant.", searched_for=f"appId {APP_ID}", admin_consent_url=CONSENT_URL),
        *[finding(rule_id, s.NOT_APPLICABLE, NOT_APPLICABLE) for rule_id in
          ("HDM-SP-02", "HDM-SP-03", "HDM-GR-01", "HDM-GR-02", "HDM-GR-03", "HDM-GR-04")],
        finding("HDM-REQ-01", s.FAIL, "1 pending request(s) for HD Meeting are older than 7 days (oldest "
                "12.4 days, from lee@contoso.com): users are waiting on reviewers.",
                pending=2, stale=1, max_age_days=7,
                stale_requests=[{"requester": "lee@contoso.com", "created": "2025-04-29T22:55:00Z",
                                 "age_days": 12.4, "request_id": "c0ffee00-1"}]),
        finding("HDM-LEG-01", s.FAIL, "Legacy integration leftovers: HD Meeting (legacy) (name starts with "
                "'HD Meeting').",
                leftovers=[{"id": "77aa", "appId": "1f0e9d8c", "displayName": "HD Meeting (legacy)",
                            "accountEnabled": True, "why": "name starts with 'HD Meeting'",
                            "legacy_permissions": ["EWS.AccessAsUser.All"]}],
                app_legacy_permissions=[]),
    ]


def ordinary_tables() -> ReportTables:
    return ReportTables(
        grants=[
            GrantRow("HD Meeting (legacy)", "77aa", "AllPrincipals", None, "Office 365 Exchange Online",
                     "e1a2", "EWS.AccessAsUser.All", False),
            GrantRow("HD Meeting (legacy)", "77aa", "AllPrincipals", None, "Microsoft Graph", GRAPH_SP,
                     "User.Read", True),
        ],
        app_permissions=[
            AppPermissionRow("HD Meeting (legacy)", "77aa", "Office 365 Exchange Online", "e1a2",
                             "dc890d15-9560-4a4c-9b7f-a736ec74ec40", "full_access_as_app", "2021-03-04T10:00:00Z"),
        ],
        reviewers=[
            ReviewerRow("/users/5d1f0c2a-7e3b-4f1a-9c8d-2b6e4a1f7c90", "user", "5d1f0c2a", "Megan Bowen", True, "",
                        ["megan@contoso.com"], [], []),
            ReviewerRow("/groups/9a2b/transitiveMembers/microsoft.graph.user", "group", "9a2b", "App approvers",
                        False, "no enabled member", [], [], []),
            ReviewerRow("/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '158c047a'",
                        "role", "158c047a", "Cloud Application Administrator", True, "",
                        ["adele@contoso.com", "alex@contoso.com"], ["adele@contoso.com", "alex@contoso.com"],
                        ["Cloud Application Administrator"]),
        ],
        consent_requests=[
            ConsentRequestRow("HD Meeting", APP_ID, "lee@contoso.com", "2025-04-29T22:55:00Z", 12.4,
                              "InProgress", "Need my calendar in HD Meeting", True),
            ConsentRequestRow("HD Meeting", APP_ID, "nestor@contoso.com", "2025-05-09T08:00:00Z", 3.02,
                              "InProgress", "", False),
        ],
        leftovers=[LeftoverRow("HD Meeting (legacy)", "1f0e9d8c", "77aa", True, "name starts with 'HD Meeting'")],
        sources=SOURCES_OK,
    )


def accept(finding: Finding, reason: str, owner: str, *, expired: bool = False) -> Finding:
    acceptance = Accepted(reason=reason, owner=owner, expires=date(2025, 6, 30), expired=expired)
    return finding.model_copy(update={"accepted": acceptance})


def ordinary_result() -> Result:
    findings = ordinary_findings()
    findings[5] = accept(findings[5], "Reviewers check the queue daily until the new ticket flow is live.",
                         "it-security@contoso.com")
    return result("Contoso Ltd", Verdict.READY_VIA_WORKFLOW, findings).model_copy(update={"paths": ORDINARY_PATHS})


# What the ordinary tenant's consent paths say: not consented yet, user consent closed, workflow open with
# an active and a PIM-eligible approver (one through a group).
ORDINARY_PATHS = ConsentPaths(
    granted=ConsentPath(state=PathState.CLOSED, reasons=["HDM-SP-01 failed: HD Meeting has never been consented."]),
    user_consent=ConsentPath(state=PathState.CLOSED, reasons=[
        "No assigned user consent policy (microsoft-user-default-low) admits all of User.Read Calendars.ReadWrite "
        "offline_access for HD Meeting."]),
    admin_consent_workflow=WorkflowPath(
        state=PathState.OPEN,
        reasons=["The admin consent workflow is enabled.", "2 reviewer(s) configured.",
                 "1 reviewer(s) can approve now and 1 after activating a role in PIM."],
        approvers=[
            ApproverRef(user="Alice Admin (alice@contoso.com)", id="7f0c6f2e-3b8a-4a51-9a59-0c4b1d2e3f40",
                        role="Cloud Application Administrator", assignment="active", via="direct"),
            ApproverRef(user="Pat Pim (pat@contoso.com)", id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                        role="Application Administrator", assignment="eligible", via="App Approvers <b>"),
        ],
    ),
)


def drift_from(current: Result, changes: dict[str, Status]) -> Drift:
    """Drift from a previous scan that differed from `current` in the given rules' statuses."""
    before = [f.model_copy(update={"status": changes.get(f.rule_id, f.status)}) for f in current.findings]
    earlier = GENERATED.replace(month=4)
    previous = current.model_copy(update={"findings": before, "generated_at": earlier, "collected_at": earlier,
                                          "verdict": Verdict.BLOCKED, "summary": summary(before)})
    return diff(RunState.of(previous), RunState.of(current))


def ordinary() -> ReportContext:
    current = ordinary_result()
    return ReportContext(
        result=current,
        tables=ordinary_tables(),
        graph_url="https://graph.microsoft.com/v1.0",
        admin_consent_url=CONSENT_URL,
        title="HD Meeting readiness report",
        prepared_by="Fabrikam Consulting · J. Doe",
        drift=drift_from(current, {"HDM-ACW-01": Status.FAIL, "HDM-REQ-01": Status.PASS}),
    )


def hostile_findings() -> list[Finding]:
    s = Status
    evidence = {
        "names": list(HOSTILE_NAMES),
        XSS_IMG: XSS_SVG,
        "objects": [{"displayName": name, XSS_SCRIPT: FORMULA} for name in HOSTILE_NAMES],
        "nested": {"deeper": {"deepest": [XSS_IMG, {"x": XSS_SCRIPT}]}},
        "many": [f"user{i}@{XSS_IMG}" for i in range(300)],
        "admin_consent_url": "javascript:window.__xss=5",
    }
    findings = [finding(rule_id, s.FAIL, f"{XSS_IMG} {XSS_SCRIPT} {FORMULA}", **evidence)
                for rule_id, *_ in RULES]
    findings[7] = finding("HDM-UC-01", s.ERROR, f"Could not evaluate: {XSS_SVG}", source=XSS_SCRIPT)
    findings[8] = finding("HDM-SP-01", s.PASS, XSS_ATTR, service_principal={"displayName": XSS_SVG})
    findings[9] = finding("HDM-SP-02", s.NOT_APPLICABLE, CONTROL)
    findings[10] = accept(findings[10], f"{XSS_IMG} {FORMULA}", XSS_SCRIPT)
    findings[11] = accept(findings[11], XSS_SVG, FORMULA, expired=True)
    return [
        f.model_copy(update={
            "title": f"{f.title} {XSS_SVG}",
            "category": f"{f.category} {XSS_ATTR}" if i % 2 else f.category,
            "remediation": f"{XSS_IMG}\n\nMicrosoft Graph:\n{XSS_SCRIPT}\n\nMicrosoft Graph PowerShell:\n{FORMULA}",
            "references": ["javascript:window.__xss=6", f"https://learn.microsoft.com/{XSS_SVG}", FORMULA],
            "frameworks": {XSS_SCRIPT: XSS_IMG, "CIS M365": FORMULA},
        })
        for i, f in enumerate(findings)
    ]


def _hostile_rows(make: Any) -> list[Any]:
    return [make(name) for name in HOSTILE_NAMES]


def hostile() -> ReportContext:
    tables = ReportTables(
        grants=_hostile_rows(lambda n: GrantRow(n, n, "Principal", n, n, n, n, False)),
        per_user_grants=_hostile_rows(lambda n: PerUserGrantRow(n, n, n, [n, n], [n])),
        app_permissions=_hostile_rows(lambda n: AppPermissionRow(n, n, n, n, n, n, n)),
        reviewers=_hostile_rows(lambda n: ReviewerRow(n, "unknown", n, n, False, n, [n, n], [n], [n])),
        consent_requests=_hostile_rows(lambda n: ConsentRequestRow(n, n, n, n, 40.0, n, n, True)),
        leftovers=_hostile_rows(lambda n: LeftoverRow(n, n, n, None, n)),
        sources=[*SOURCES_OK[:-1], SourceRow("consent_requests", "forbidden",
                                             f"Authorization_RequestDenied: {XSS_IMG}", "ConsentRequest.Read.All")],
    )
    current = result(XSS_IMG + FORMULA, Verdict.UNKNOWN, hostile_findings(), app_name=XSS_SCRIPT)
    return ReportContext(
        result=current,
        tables=tables,
        graph_url=XSS_SVG,
        admin_consent_url="javascript:window.__xss=7",
        title=XSS_SVG,
        prepared_by=f"{XSS_SCRIPT} {FORMULA}",
        drift=drift_from(current, {"HDM-ACW-01": Status.PASS, "HDM-UC-01": Status.FAIL}),
    )


def large(user_count: int = 20_000) -> ReportContext:
    """The ordinary tenant with HD Meeting consented tenant-wide and by many users one by one; the first
    user also consented to a scope outside the allowed ones."""
    base = ordinary()
    scopes = ["User.Read", "Calendars.ReadWrite", "offline_access"]
    tenant_wide = [GrantRow("HD Meeting", "sp-hdm", "AllPrincipals", None, "Microsoft Graph", GRAPH_SP, scope, True)
                   for scope in scopes]
    per_user = [PerUserGrantRow("HD Meeting", f"user-{i:06d}", "Microsoft Graph", scopes, [])
                for i in range(user_count)]
    per_user[0] = PerUserGrantRow("HD Meeting", "user-000000", "Microsoft Graph", [*scopes, "Files.Read.All"],
                                  ["Files.Read.All"])
    tables = replace(base.tables, grants=[*base.tables.grants, *tenant_wide], per_user_grants=per_user)
    return replace(base, tables=tables)
