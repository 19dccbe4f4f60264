"""The `auditor` command line (DESIGN §6, contract).

Heavy libraries (msgraph-sdk, azure-identity, pandas, openpyxl) are imported inside the commands
that need them, so `auditor --help` and `auditor rules` start fast.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor import __version__
from auditor.collect.options import AuthMode, Cloud, LiveOptions
from auditor.errors import AuditorError, ExitCode, InputError
from auditor.rulepack import Severity

if TYPE_CHECKING:
    from auditor.rulepack import RulePack
    from auditor.snapshot import Snapshot

app = typer.Typer(
    name="auditor",
    help=(
        "Can HD Meeting's Microsoft 365 calendar integration work in this Entra ID tenant, how, "
        "and what must an administrator change?\n\n"
        "Examples:\n\n"
        "  auditor scan --demo\n\n"
        "  auditor scan --tenant-id contoso.onmicrosoft.com --client-id APP --auth certificate "
        "--certificate auditor.pem\n\n"
        "  auditor collect --auth device-code --tenant-id TENANT --out snapshot.json\n\n"
        "  auditor scan --snapshot snapshot.json --out report/ --format html,xlsx"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

LIVE = "Live collection"
RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="Rule pack YAML (default: the built-in hd-meeting pack).", show_default=False),
]
AppIdOption = Annotated[
    str | None,
    typer.Option("--app-id", help="HD Meeting's application (client) id, a GUID.", show_default=False),
]
TenantOption = Annotated[
    str | None,
    typer.Option("--tenant-id", help="Tenant id or domain to read.", rich_help_panel=LIVE, show_default=False),
]
ClientOption = Annotated[
    str | None,
    typer.Option("--client-id", help="The auditor's own app registration (client id).", rich_help_panel=LIVE,
                 show_default=False),
]
AuthOption = Annotated[
    AuthMode,
    typer.Option("--auth", help="How to sign in. The client secret is read only from AZURE_CLIENT_SECRET; "
                 "'token' sends AUDITOR_ACCESS_TOKEN as is.", rich_help_panel=LIVE),
]
CertificateOption = Annotated[
    Path | None,
    typer.Option("--certificate", help="PEM or PFX file for --auth certificate (password from "
                 "AZURE_CLIENT_CERTIFICATE_PASSWORD).", rich_help_panel=LIVE, show_default=False),
]
CloudOption = Annotated[
    Cloud, typer.Option("--cloud", help="National cloud: sets the sign-in and Graph hosts.", rich_help_panel=LIVE)
]
GraphUrlOption = Annotated[
    str | None,
    typer.Option("--graph-url", help="Override the Graph base URL, e.g. http://127.0.0.1:8080/v1.0.",
                 rich_help_panel=LIVE, show_default=False),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]


def _check_app_id(app_id: str | None) -> str | None:
    if app_id is not None and not _GUID.match(app_id):
        raise InputError(f"--app-id: {app_id!r} is not a GUID (the application's client id)")
    return app_id.lower() if app_id else None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Audit a Microsoft 365 tenant for HD Meeting's calendar integration."""


@app.command()
def scan(
    demo: Annotated[bool, typer.Option("--demo", help="Scan the embedded demo tenant (no sign-in).")] = False,
    snapshot: Annotated[
        Path | None,
        typer.Option("--snapshot", help="Evaluate a snapshot written by 'auditor collect' (offline).",
                     show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the reports.")] = Path("auditor-report"),
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: html, xlsx, json.")
    ] = "html,xlsx,json",
    rules: RulesOption = None,
    app_id: AppIdOption = None,
    fail_on: Annotated[
        Severity, typer.Option("--fail-on", help="Exit 1 when a finding at or above this severity fails.")
    ] = Severity.HIGH,
    report_title: Annotated[str, typer.Option("--report-title", help="Title on the HTML and Excel reports.")] = (
        "HD Meeting readiness report"
    ),
    prepared_by: Annotated[
        str | None, typer.Option("--prepared-by", help="Consultant or team named on the reports.",
                                 show_default=False)
    ] = None,
    tenant_id: TenantOption = None,
    client_id: ClientOption = None,
    auth: AuthOption = AuthMode.DEFAULT,
    certificate: CertificateOption = None,
    cloud: CloudOption = Cloud.GLOBAL,
    graph_url: GraphUrlOption = None,
    quiet: QuietOption = False,
) -> None:
    """Scan a tenant (live, a snapshot, or --demo) and write report.html, report.xlsx, result.json.

    Exit codes: 0 nothing failing at or above --fail-on; 1 a finding failed at or above it;
    2 usage or input error (nothing written); 3 collection incomplete (sign-in failed, Graph
    unreachable, or a rule could not be evaluated).

    Examples:

      auditor scan --demo --out demo-report

      auditor scan --snapshot snapshot.json --format json --fail-on medium

      auditor scan --tenant-id TENANT --client-id APP --auth certificate --certificate auditor.pem
    """
    from auditor.engine import exit_code
    from auditor.output import write_all
    from auditor.reporting import Branding, build_report, parse_formats, render
    from auditor.rulepack import load_rule_pack

    live = LiveOptions(tenant_id, client_id, auth, certificate, cloud, graph_url, quiet)
    chosen = parse_formats(formats)
    app_id = _check_app_id(app_id)
    pack = load_rule_pack(rules)
    data = _load_snapshot(demo, snapshot, live, pack, app_id)
    context = build_report(data, pack, app_id, Branding(report_title, prepared_by))
    write_all(out, render(context, chosen))
    result = context.result
    code = exit_code(result, fail_on)
    if not quiet:
        summary = result.summary
        typer.echo(
            f"{result.tenant.display_name or result.tenant.id}: {result.verdict.value} — "
            f"{summary.passed} pass, {summary.fail} fail, {summary.error} error, "
            f"{summary.not_applicable} n/a, score {summary.score:g}. Reports in {out}/",
            err=True,
        )
    raise typer.Exit(int(code))


def _load_snapshot(
    demo: bool, path: Path | None, live: LiveOptions, pack: RulePack, app_id: str | None
) -> Snapshot:
    from auditor.resources import DEMO_SNAPSHOT
    from auditor.snapshot import load_snapshot

    live_given = live != LiveOptions(quiet=live.quiet)
    if demo and path:
        raise InputError("choose one of --demo and --snapshot")
    if (demo or path) and live_given:
        raise InputError("live options (--tenant-id, --auth, ...) do not go with --demo or --snapshot")
    if demo:
        return load_snapshot(DEMO_SNAPSHOT)
    if path:
        return load_snapshot(path)
    return _collect(live, pack, app_id)


def _collect(live: LiveOptions, pack: RulePack, app_id: str | None) -> Snapshot:
    from auditor.collect import collect_snapshot
    from auditor.snapshot import CollectionTarget

    params = pack.parameters
    target = CollectionTarget(
        app_id=app_id or next(iter(params.app_ids), None),
        app_display_name=params.app_display_name,
        legacy_app_ids=list(params.legacy_app_ids),
    )
    return collect_snapshot(live, target, [role.id for role in params.consent_capable_roles])


@app.command()
def collect(
    out: Annotated[Path, typer.Option("--out", help="Snapshot file to write (JSON).")],
    rules: RulesOption = None,
    app_id: AppIdOption = None,
    tenant_id: TenantOption = None,
    client_id: ClientOption = None,
    auth: AuthOption = AuthMode.DEFAULT,
    certificate: CertificateOption = None,
    cloud: CloudOption = Cloud.GLOBAL,
    graph_url: GraphUrlOption = None,
    quiet: QuietOption = False,
) -> None:
    """Read a tenant through Microsoft Graph and write a snapshot, to evaluate later with
    'auditor scan --snapshot FILE' (offline, same result).

    Example:

      auditor collect --tenant-id TENANT --auth device-code --out contoso.snapshot.json
    """
    from auditor.output import write_atomic
    from auditor.rulepack import load_rule_pack

    app_id = _check_app_id(app_id)
    pack = load_rule_pack(rules)
    live = LiveOptions(tenant_id, client_id, auth, certificate, cloud, graph_url, quiet)
    snapshot = _collect(live, pack, app_id)
    write_atomic(out, snapshot.to_json().encode())
    if not quiet:
        typer.echo(f"Snapshot of {snapshot.tenant.display_name or snapshot.tenant.id} written to {out}", err=True)


@app.command("rules")
def list_rules(rules: RulesOption = None) -> None:
    """List the rule pack's rules: id, severity, category, title."""
    from rich.console import Console
    from rich.table import Table

    from auditor.rulepack import load_rule_pack

    pack = load_rule_pack(rules)
    table = Table(title=f"{pack.title} ({pack.id} {pack.version})", title_justify="left")
    for column in ("Rule", "Severity", "Category", "Title"):
        table.add_column(column, overflow="fold")
    for rule in pack.rules:
        table.add_row(rule.id, rule.severity.value, rule.category, rule.title)
    Console(soft_wrap=False).print(table)


def main() -> None:
    """Console entry point: expected failures are one line on stderr and a documented exit code."""
    try:
        app(standalone_mode=True)
    except AuditorError as exc:
        print(f"auditor: {exc}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INCOMPLETE))
