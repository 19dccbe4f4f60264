"""The `auditor` command line (DESIGN §6, contract).

Heavy libraries (msgraph-sdk, azure-identity, pandas, XlsxWriter, Jinja2) are imported inside the commands
that need them, so `auditor --help` and `auditor rules` start fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor import __version__
from auditor.cli import options as opt
from auditor.cli.demo import demo_snapshot
from auditor.cli.fleet import fleet
from auditor.cli.fleet_report import fleet_report
from auditor.cli.history import diff_runs, show_history
from auditor.cli.options import SIGN_IN_ENVIRONMENT, check_app_id
from auditor.collect.options import AuthMode, Cloud, LiveOptions
from auditor.model.errors import AuditorError, ExitCode, InputError, remember_environment_secrets, safe_text, worst_exit
from auditor.model.severity import Severity

if TYPE_CHECKING:

    from auditor.evaluate.rulepack import RulePack
    from auditor.model.snapshot import Snapshot

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
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the reports.", rich_help_panel=opt.REPORTS)
    ] = Path("auditor-report"),
    formats: opt.Formats = opt.DEFAULT_FORMATS,
    rules: opt.Rules = None,
    app_id: opt.AppId = None,
    fail_on: opt.FailOn = Severity.HIGH,
    report_title: opt.ReportTitle = opt.DEFAULT_TITLE,
    prepared_by: opt.PreparedBy = None,
    tenant_id: opt.TenantId = None,
    client_id: opt.ClientId = None,
    auth: opt.Auth = AuthMode.DEFAULT,
    certificate: opt.Certificate = None,
    cloud: opt.CloudName = Cloud.GLOBAL,
    graph_url: opt.GraphUrl = None,
    timeout: opt.Timeout = opt.DEFAULT_TIMEOUT,
    deadline: opt.Deadline = opt.DEFAULT_DEADLINE,
    quiet: opt.Quiet = False,
    verbose: opt.Verbose = False,
    history: opt.History = None,
    exceptions: opt.Exceptions = None,
) -> None:
    """Scan a tenant (live, a snapshot, or --demo) and write report.html, report.xlsx, result.json.

    Exit codes: 0 nothing failing at or above --fail-on; 1 a finding failed at or above it;
    2 usage or input error (nothing written); 3 collection incomplete (sign-in failed, Graph
    unreachable, a rule could not be evaluated, or the tenant's id unknown); 4 reports written but
    the run could not be stored in --history.

    Examples:

      auditor scan --demo --out demo-report

      auditor scan --snapshot snapshot.json --format json --fail-on medium

      auditor scan --tenant-id TENANT --client-id APP --auth certificate --certificate auditor.pem

      auditor scan --snapshot snapshot.json --history history.db --exceptions risks.yaml --format html,json,junit
    """
    from auditor.collect.verbose import verbose_logging
    from auditor.evaluate.acceptance import load_acceptances
    from auditor.evaluate.engine import load_rule_pack
    from auditor.model.output import write_all
    from auditor.report.reporting import Branding, build_report, parse_formats, render, run_exit_code, scan_summary

    live = LiveOptions(tenant_id, client_id, auth, certificate, cloud, graph_url, quiet, timeout, deadline)
    chosen = parse_formats(formats)
    app_id = check_app_id(app_id)
    pack = load_rule_pack(rules)
    acceptances = load_acceptances(exceptions, pack) if exceptions else []
    not_recorded: AuditorError | None = None
    with verbose_logging(verbose), opt.open_history(history) as store:
        data = _load_snapshot(demo, snapshot, live, pack, app_id)
        previous = store.latest(data.tenant.id) if store else []
        context = build_report(data, pack, app_id, Branding(report_title, prepared_by),
                               acceptances=acceptances, previous=previous[-1] if previous else None)
        write_all(out, render(context, chosen))
        try:
            if store:
                store.record(context.result)
        except AuditorError as exc:  # after the reports: one line and its own exit code, never 2
            not_recorded = exc
    code = run_exit_code(context.result, fail_on)
    if not quiet:
        headline, *notes = scan_summary(context, out)
        typer.echo(headline)  # stdout: the line a script or a person reads
        for note in notes:
            typer.echo(note, err=True)
    if not_recorded:  # shown even with --quiet: it is why the exit code is 4 (or 3)
        typer.echo(f"auditor: {not_recorded}", err=True)
        code = worst_exit((code, not_recorded.exit_code))
    raise typer.Exit(int(code))


def _load_snapshot(
    demo: bool, path: Path | None, live: LiveOptions, pack: RulePack, app_id: str | None
) -> Snapshot:
    from auditor.model.resources import DEMO_SNAPSHOT
    from auditor.model.snapshot_file import load_snapshot

    live_given = live != LiveOptions(quiet=live.quiet)
    if demo and path:
        raise InputError("choose one of --demo and --snapshot")
    if (demo or path) and live_given:
        raise InputError("live options (--tenant-id, --auth, ...) do not go with --demo or --snapshot")
    if demo:
        return load_snapshot(DEMO_SNAPSHOT)
    if path:
        return load_snapshot(path)
    if not live_given and not any(os.environ.get(name) for name in SIGN_IN_ENVIRONMENT):
        raise InputError("nothing to scan: pass --demo, --snapshot FILE, or --tenant-id TENANT --auth MODE "
                         "(see auditor scan --help)")
    return _collect(live, pack, app_id)



def _collect(live: LiveOptions, pack: RulePack, app_id: str | None) -> Snapshot:
    from auditor.collect import collect_for_pack
    from auditor.collect.proxy import check_proxies, reached_urls

    check_proxies(reached_urls(live))
    return collect_for_pack(live, pack, app_id)


@app.command()
def collect(
    out: Annotated[Path, typer.Option("--out", help="Snapshot file to write (JSON).")],
    rules: opt.Rules = None,
    app_id: opt.AppId = None,
    tenant_id: opt.TenantId = None,
    client_id: opt.ClientId = None,
    auth: opt.Auth = AuthMode.DEFAULT,
    certificate: opt.Certificate = None,
    cloud: opt.CloudName = Cloud.GLOBAL,
    graph_url: opt.GraphUrl = None,
    timeout: opt.Timeout = opt.DEFAULT_TIMEOUT,
    deadline: opt.Deadline = opt.DEFAULT_DEADLINE,
    quiet: opt.Quiet = False,
    verbose: opt.Verbose = False,
) -> None:
    """Read a tenant through Microsoft Graph and write a snapshot, to evaluate later with
    'auditor scan --snapshot FILE' (offline, same result).

    Exit codes: 0 every source read; 2 usage or input error (nothing written); 3 collection incomplete:
    sign-in failed or Graph unreachable (nothing written), or some source could not be read (the snapshot
    is written and records why).

    Example:

      auditor collect --tenant-id TENANT --auth device-code --out contoso.snapshot.json
    """
    from auditor.collect.verbose import verbose_logging
    from auditor.evaluate.engine import load_rule_pack
    from auditor.model.output import write_atomic

    app_id = check_app_id(app_id)
    pack = load_rule_pack(rules)
    live = LiveOptions(tenant_id, client_id, auth, certificate, cloud, graph_url, quiet, timeout, deadline)
    with verbose_logging(verbose):
        snapshot = _collect(live, pack, app_id)
    write_atomic(out, snapshot.to_json().encode())
    if not quiet:
        typer.echo(safe_text(f"Snapshot of {snapshot.tenant.display_name or snapshot.tenant.id} written to {out}"),
                   err=True)
    unread = [f"{name} ({source.error.describe() if source.error else source.status.value})"
              for name, source in snapshot.sources.items() if not source.ok]
    if unread:  # shown even with --quiet: it is why the exit code is 3
        typer.echo(safe_text(f"Collection incomplete, not read: {'; '.join(unread)}"), err=True)
        raise typer.Exit(int(ExitCode.INCOMPLETE))


@app.command("rules")
def list_rules(rules: opt.Rules = None) -> None:
    """List the rule pack's rules: id, severity, category, title."""
    from rich.console import Console
    from rich.table import Table

    from auditor.evaluate.engine import load_rule_pack

    pack = load_rule_pack(rules)
    table = Table(title=f"{pack.title} ({pack.id} {pack.version})", title_justify="left")
    for column in ("Rule", "Severity", "Category", "Title"):
        table.add_column(column, overflow="fold")
    for rule in pack.rules:
        table.add_row(rule.id, rule.severity.value, rule.category, rule.title)
    Console(soft_wrap=False).print(table)


app.command("history")(show_history)
app.command("diff")(diff_runs)
app.command("fleet")(fleet)
app.command("fleet-report")(fleet_report)
app.command("demo-snapshot")(demo_snapshot)


INTERRUPTED = 128 + 2  # SIGINT, as a shell reports a process it ended
INTERRUPTED_LINE = ("auditor: interrupted (SIGINT); an output folder being written keeps its previous complete set "
                    "of files")


def _from_ctrl_c(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def main() -> None:
    """Console entry point: expected failures are one line on stderr and a documented exit code; so is
    anything unexpected (a bug), without a traceback that a scheduled job's log would keep."""
    try:
        remember_environment_secrets()
        app(standalone_mode=True)
    except AuditorError as exc:
        print(f"auditor: {exc}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except SystemExit as exc:  # typer turns Ctrl-C into a silent exit 130: say what happened
        if exc.code == INTERRUPTED and _from_ctrl_c(exc):
            print(INTERRUPTED_LINE, file=sys.stderr)
        raise
    except KeyboardInterrupt:
        print(INTERRUPTED_LINE, file=sys.stderr)
        sys.exit(INTERRUPTED)
    except Exception as exc:
        print(f"auditor: internal error: {type(exc).__name__}: {safe_text(str(exc))} (please report this)",
              file=sys.stderr)
        sys.exit(int(ExitCode.INCOMPLETE))
