"""Command-line options shared by `scan`, `collect` and `fleet`, declared once (typer `Annotated` aliases)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from auditor.collect.options import AuthMode, Cloud
from auditor.model.errors import InputError
from auditor.model.severity import Severity

if TYPE_CHECKING:
    from auditor.history.store import HistoryStore

LIVE = "Live collection"
Choice = TypeVar("Choice", bound=Enum)


def choice(kind: type[Choice]) -> Callable[[object], Choice]:
    """An enum option's parser whose error reads like the others: "--fail-on: choose one of info, low, ..."."""
    def parse(value: object) -> Choice:
        if isinstance(value, kind):
            return value
        try:
            return kind(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r}: choose one of {', '.join(str(c.value) for c in kind)}") from None
    return parse


REPORTS = "Reports"

Rules = Annotated[
    Path | None,
    typer.Option("--rules", help="Rule pack YAML (default: the built-in hd-meeting pack).", show_default=False),
]
AppId = Annotated[
    str | None,
    typer.Option("--app-id", help="HD Meeting's application (client) id, a GUID.", show_default=False),
]
Formats = Annotated[
    str, typer.Option("--format", help="Comma-separated: html, xlsx, json, junit, ps1 (remediation.ps1).",
                      rich_help_panel=REPORTS)
]
FailOn = Annotated[
    Severity, typer.Option("--fail-on", parser=choice(Severity),
                           help="Exit 1 when a finding at or above this severity fails.")
]
ReportTitle = Annotated[
    str, typer.Option("--report-title", help="Title on the HTML and Excel reports.", rich_help_panel=REPORTS)
]
PreparedBy = Annotated[
    str | None,
    typer.Option("--prepared-by", help="Consultant or team named on the reports.", show_default=False,
                 rich_help_panel=REPORTS),
]
History = Annotated[
    str | None,
    typer.Option("--history", envvar="AUDITOR_HISTORY", show_default=False, metavar="PATH|URL",
                 help="Scan history: an SQLite file path, or a postgresql://USER@HOST/DB URL (password "
                 "best in PGPASSWORD or ~/.pgpass)."),
]
HistoryTenant = Annotated[
    str | None,
    typer.Option("--tenant", help="Tenant id (or exact display name) in the history.", show_default=False,
                 metavar="ID"),
]
Exceptions = Annotated[
    Path | None,
    typer.Option("--exceptions", show_default=False,
                 help="Risk acceptances (YAML list of rule_id, tenant_id, reason, owner, expires): an "
                 "accepted failure does not fail the scan until it expires."),
]
TenantId = Annotated[
    str | None,
    typer.Option("--tenant-id", help="Tenant id or domain to read.", rich_help_panel=LIVE, show_default=False),
]
ClientId = Annotated[
    str | None,
    typer.Option("--client-id", help="The auditor's own app registration (client id).", rich_help_panel=LIVE,
                 show_default=False),
]
Auth = Annotated[
    AuthMode,
    typer.Option("--auth", parser=choice(AuthMode),
                 help="How to sign in. The client secret is read only from AZURE_CLIENT_SECRET; "
                 "'token' sends AUDITOR_ACCESS_TOKEN (in a fleet: the row's token_env) as is.",
                 rich_help_panel=LIVE),
]
Certificate = Annotated[
    Path | None,
    typer.Option("--certificate", help="PEM or PFX file for --auth certificate (password from "
                 "AZURE_CLIENT_CERTIFICATE_PASSWORD).", rich_help_panel=LIVE, show_default=False),
]
CloudName = Annotated[
    Cloud, typer.Option("--cloud", parser=choice(Cloud), help="National cloud: sets the sign-in and Graph hosts.",
                        rich_help_panel=LIVE)
]
GraphUrl = Annotated[
    str | None,
    typer.Option("--graph-url", help="Override the Graph base URL, e.g. http://127.0.0.1:8080/v1.0.",
                 rich_help_panel=LIVE, show_default=False),
]
Timeout = Annotated[
    float,
    typer.Option("--timeout", min=0.1, metavar="SECONDS", rich_help_panel=LIVE,
                 help="Longest wait for each request to Graph, its whole answer included; a request that takes "
                 "longer makes its sources 'error'."),
]
Deadline = Annotated[
    float,
    typer.Option("--deadline", min=0.1, metavar="SECONDS", rich_help_panel=LIVE,
                 help="Longest time for a tenant's whole collection; what is not read by then is 'error'."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display and no summary line (errors "
                                                   "are still shown).")]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log each request to Graph (method, URL, headers; Authorization "
                 "redacted), each retry and the sign-in steps on stderr."),
]

# What lets DefaultAzureCredential sign in without any option (environment, workload or managed identity).
SIGN_IN_ENVIRONMENT = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT",
                       "MSI_ENDPOINT")
DEFAULT_FORMATS = "html,xlsx,json"
DEFAULT_TITLE = "HD Meeting readiness report"
DEFAULT_TIMEOUT = 60.0
DEFAULT_DEADLINE = 900.0


def check_app_id(app_id: str | None) -> str | None:
    """A GUID, lower-cased; anything else is a usage error."""
    from auditor.evaluate.reviewer_query import is_guid

    if app_id is not None and not is_guid(app_id):
        raise InputError(f"--app-id: {app_id!r} is not a GUID (the application's client id)")
    return app_id.lower() if app_id else None


def open_history(url: str | None) -> AbstractContextManager[HistoryStore | None]:
    """The `--history` store to record runs in, opened (and its URL checked) before anything is read or
    written; or nothing, without the option."""
    if not url:
        return nullcontext()
    from auditor.history.store import open_history as open_store

    return open_store(url, create=True)


def require_history(history: str | None) -> str:
    if not history:
        raise InputError("--history URL (or the AUDITOR_HISTORY environment variable) is required")
    return history
