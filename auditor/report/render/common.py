"""What the HTML and Excel reports share: verdict wording, next steps and the tenant table layouts.

Everything here works on untrusted tenant strings and returns plain values; escaping is the job of
each renderer (Jinja2 autoescape for HTML, text-typed cells for Excel).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from auditor.evaluate.rulepack import Severity
from auditor.history.drift import ChangeKind, Drift, RuleChange
from auditor.model.result import Finding, Result, Status, Verdict
from auditor.model.tenant_text import has_space_or_control
from auditor.model.timestamps import parse_graph_time
from auditor.report.render.paths import awaiting_consent
from auditor.report.report_model import ReportContext

STATUS_LABELS = {
    Status.PASS: "Pass",
    Status.FAIL: "Fail",
    Status.ERROR: "Error",
    Status.NOT_APPLICABLE: "Not applicable",
}
# Order in which statuses are listed and sorted: what needs attention first.
STATUS_ORDER = [Status.FAIL, Status.ERROR, Status.PASS, Status.NOT_APPLICABLE]
SEVERITY_ORDER = sorted(Severity, key=lambda severity: -severity.rank)

GLOBAL_CONSENT_STEP = (
    "Outside the tenant: an HD Meeting account administrator must also enable HD Meeting's own "
    "\u201cglobal consent\u201d setting. No Microsoft Graph API shows it, so this report cannot check it."
)


@dataclass(frozen=True)
class VerdictText:
    tone: str  # ready | partial | blocked | unknown: the banner colour
    headline: str
    meaning: str


VERDICTS = {
    Verdict.READY: VerdictText(
        "ready",
        "Ready",
        "HD Meeting is consented for the whole tenant and users can reach it: they can connect their "
        "calendars now.",
    ),
    Verdict.READY_VIA_USER_CONSENT: VerdictText(
        "partial",
        "Ready via user consent",
        "Users can consent to HD Meeting for themselves: a user consent policy assigned to them admits its "
        "permissions. It works, but each user decides alone.",
    ),
    Verdict.READY_VIA_WORKFLOW: VerdictText(
        "partial",
        "Ready via the admin consent workflow",
        "HD Meeting is not consented yet, and that is expected: users request it at first sign-in and an "
        "approver (a reviewer who holds a consent-capable role, perhaps after activating it in PIM) "
        "approves; the first approval consents it for the whole tenant.",
    ),
    Verdict.BLOCKED: VerdictText(
        "blocked",
        "Blocked",
        "HD Meeting cannot be connected in this tenant as it is configured today.",
    ),
    Verdict.UNKNOWN: VerdictText(
        "unknown",
        "Unknown: the scan could not read everything it needs",
        "No consent path could be proven open, and at least one could not be read: whether HD Meeting can "
        "work here is not known. The paths below say what was missing.",
    ),
}


def missing_permissions(ctx: ReportContext) -> list[str]:
    """The Graph permissions that would let the scan read the sources it could not read."""
    return sorted({row.permission for row in ctx.tables.sources if row.status != "ok" and row.permission})


def _verdict_steps(ctx: ReportContext) -> list[str]:
    consent = "an administrator can grant tenant-wide admin consent" + (
        " with the link below." if safe_url(ctx.admin_consent_url) else " in the Entra admin center."
    )
    match ctx.result.verdict:
        case Verdict.READY:
            return ["Nothing in the tenant stops HD Meeting: tell users they can connect their calendars."]
        case Verdict.READY_VIA_USER_CONSENT:
            return [
                "Users can connect now: each user is asked to consent at first sign-in.",
                f"Recommended: {consent} Then nobody is asked and the grant is reviewed once.",
            ]
        case Verdict.READY_VIA_WORKFLOW:
            return [
                "Users ask for HD Meeting at first sign-in; a reviewer with a consent-capable role approves "
                "the request, which grants consent for everyone.",
                f"To skip the wait, {consent}",
            ]
        case Verdict.BLOCKED:
            return [f"Fix the failing findings below, starting with the most severe; or {consent}"]
        case _:
            permissions = ", ".join(missing_permissions(ctx)) or "the permissions listed under Sources"
            return [f"Grant the scanning identity {permissions}, then scan again."]


def next_steps(ctx: ReportContext) -> list[str]:
    return [*_verdict_steps(ctx), GLOBAL_CONSENT_STEP]


def fix_first(result: Result) -> list[Finding]:
    """The failing and unevaluated findings, most severe first; accepted risks are left out, and so are
    the rules that fail only because HD Meeting is not consented yet on a tenant where a consent path
    is open (they are that path's next step, shown with the paths)."""
    open_ = [
        f for f in result.findings
        if f.status in (Status.FAIL, Status.ERROR) and not f.waived
        and not (f.status is Status.FAIL and awaiting_consent(result, f.rule_id))
    ]
    return sorted(open_, key=lambda f: (-f.severity.rank, STATUS_ORDER.index(f.status)))


def acceptance_note(finding: Finding) -> str:
    """The risk acceptance on a finding in one sentence, or "" when there is none."""
    accepted = finding.accepted
    if accepted is None:
        return ""
    if accepted.expired:
        return (f"Risk acceptance expired on {accepted.expires} (owner {accepted.owner}: {accepted.reason}); "
                "the failure counts again.")
    return f"Risk accepted until {accepted.expires} by {accepted.owner}: {accepted.reason}"


CHANGE_LABELS = {
    ChangeKind.REGRESSED: ("Regressed", "fail"),
    ChangeKind.NEW: ("New rule", "not_applicable"),
    ChangeKind.REMOVED: ("Removed rule", "not_applicable"),
    ChangeKind.IMPROVED: ("Improved", "pass"),
    ChangeKind.EVIDENCE_CHANGED: ("Evidence changed", "error"),
    ChangeKind.UNCHANGED: ("Unchanged", None),
}


def changed(drift: Drift) -> list[RuleChange]:
    """The rules that changed since the previous scan, in the order a reader should look at them."""
    order = list(ChangeKind)
    moved = [change for change in drift.changes if change.kind is not ChangeKind.UNCHANGED]
    return sorted(moved, key=lambda change: order.index(change.kind))


def status_label(status: Status | None) -> str:
    return STATUS_LABELS[status] if status else "\u2014"


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) link without whitespace, else None (never `javascript:`)."""
    if not url or has_space_or_control(url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("https", "http") and parts.netloc else None


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time from Graph as naive UTC (Excel has no time zones), or None if it is not one."""
    moment = parse_graph_time(text)
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment else None


# --- tenant tables -----------------------------------------------------------------------------

Value = str | int | float | bool | list[str] | None


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[Any], Value]
    width: int = 18  # Excel column width, in characters
    wrap: bool = False
    date: bool = False  # ISO 8601 text: a real date in Excel, a short one in HTML
    tone: Callable[[Value], str | None] | None = None  # a status colour for the cell


@dataclass(frozen=True)
class TableSpec:
    key: str  # attribute of ReportTables, and the HTML anchor
    title: str  # the Excel sheet name and the HTML heading
    description: str
    columns: tuple[Column, ...]

    def rows(self, ctx: ReportContext) -> list[Any]:
        return getattr(ctx.tables, self.key)


def _attr(name: str) -> Callable[[Any], Value]:
    return lambda row: getattr(row, name)


def _bad_when(value: object) -> Callable[[Value], str | None]:
    return lambda cell: "fail" if cell == value else None


def _source_tone(status: Value) -> str | None:
    return {"ok": "pass", "forbidden": "fail"}.get(str(status), "error")


TABLES = (
    TableSpec(
        "grants",
        "Grants",
        "Delegated permissions granted to HD Meeting tenant-wide and to its leftovers, one row per scope. "
        "AllPrincipals is tenant-wide admin consent; Principal is one user's own consent. HD Meeting's "
        "own per-user grants are under Per-user grants.",
        (
            Column("Client", _attr("client"), 28),
            Column("Client SP id", _attr("client_id"), 38),
            Column("Consent type", _attr("consent_type"), 15),
            Column("User id", _attr("principal_id"), 38),
            Column("Resource", _attr("resource"), 24),
            Column("Resource id", _attr("resource_id"), 38),
            Column("Scope", _attr("scope"), 24),
            Column("Allowed", _attr("allowed"), 10, tone=_bad_when(False)),
        ),
    ),
    TableSpec(
        "per_user_grants",
        "Per-user grants",
        "Users who consented to HD Meeting for themselves (Principal grants), one row per user's grant with "
        "its scopes; any scope outside the allowed ones is named.",
        (
            Column("Client", _attr("client"), 28),
            Column("User id", _attr("principal_id"), 38),
            Column("Resource", _attr("resource"), 24),
            Column("Scopes", lambda row: " ".join(row.scopes), 44),
            Column("Outside allowed scopes", lambda row: " ".join(row.outside_allowed) or None, 26,
                   tone=lambda cell: "fail" if cell else None),
        ),
    ),
    TableSpec(
        "app_permissions",
        "App permissions",
        "Application permissions (app role assignments): they act without a signed-in user.",
        (
            Column("Client", _attr("client"), 28),
            Column("Client SP id", _attr("client_id"), 38),
            Column("Resource", _attr("resource"), 24),
            Column("Resource id", _attr("resource_id"), 38),
            Column("Permission", _attr("permission"), 28),
            Column("App role id", _attr("app_role_id"), 38),
            Column("Created", _attr("created"), 18, date=True),
        ),
    ),
    TableSpec(
        "reviewers",
        "Reviewers",
        "The admin consent workflow's reviewers, what they resolve to, and who among them may approve.",
        (
            Column("Query", _attr("query"), 48, wrap=True),
            Column("Kind", _attr("kind"), 9),
            Column("Principal", _attr("principal"), 28, wrap=True),
            Column("Target id", _attr("target_id"), 38),
            Column("Resolved", _attr("resolved"), 10, tone=_bad_when(False)),
            Column("Reason", _attr("reason"), 30, wrap=True),
            Column("Enabled users", _attr("enabled_users"), 40, wrap=True),
            Column("Consent-capable users", _attr("consent_capable_users"), 40, wrap=True),
            Column("Consent-capable roles", _attr("consent_capable_roles"), 32, wrap=True),
        ),
    ),
    TableSpec(
        "consent_requests",
        "Consent requests",
        "Users' requests for consent through the admin consent workflow.",
        (
            Column("App", _attr("app"), 24),
            Column("App id", _attr("app_id"), 38),
            Column("Requester", _attr("requester"), 32),
            Column("Created", _attr("created"), 18, date=True),
            Column("Age (days)", lambda row: None if row.age_days is None else round(row.age_days, 1), 11),
            Column("Status", _attr("status"), 13),
            Column("Overdue", _attr("overdue"), 10, tone=_bad_when(True)),
            Column("Reason", _attr("reason"), 40, wrap=True),
        ),
    ),
    TableSpec(
        "leftovers",
        "Leftovers",
        "Service principals left over from the retired OAuth 1.0 integration, or named like HD Meeting.",
        (
            Column("Display name", _attr("display_name"), 32),
            Column("App id", _attr("app_id"), 38),
            Column("Service principal id", _attr("service_principal_id"), 38),
            Column("Enabled", _attr("enabled"), 10),
            Column("Why", _attr("why"), 36, wrap=True),
        ),
    ),
    TableSpec(
        "sources",
        "Sources",
        "How each Microsoft Graph source fared during collection, and the permission that reads it.",
        (
            Column("Source", _attr("source"), 30),
            Column("Status", _attr("status"), 11, tone=_source_tone),
            Column("Error", _attr("error"), 60, wrap=True),
            Column("Permission", _attr("permission"), 30),
        ),
    ),
)


def display(value: Value) -> str:
    """A cell value as text: yes/no for booleans, comma-joined lists, empty for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


GRANT_SUMMARY_COLUMNS = ("Client", "Resource", "Consent type", "Scope", "Allowed", "Grants")


def grant_summary(ctx: ReportContext) -> list[dict[str, Value]]:
    """Grants counted per client, resource, consent type and scope: readable whatever the tenant's size.
    One record per count, keyed by GRANT_SUMMARY_COLUMNS.

    A per-user grant counts once for each of its scopes, as a row of the Grants table would."""
    tables = ctx.tables
    counts = Counter((g.client, g.resource, g.consent_type, g.scope, g.allowed) for g in tables.grants)
    counts.update((g.client, g.resource, "Principal", scope, scope not in g.outside_allowed)
                  for g in tables.per_user_grants for scope in g.scopes)
    return [dict(zip(GRANT_SUMMARY_COLUMNS, (*key, count), strict=True)) for key, count in sorted(counts.items())]
