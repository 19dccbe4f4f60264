"""`auditor fleet TENANTS.csv --out DIR`: scan many tenants at once (issue 5, contract).

Kept light at import time (the CLI imports it for `auditor --help`): the collector, the renderers and
their libraries are imported when the command runs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli import options as opt
from auditor.collect.options import AuthMode, Cloud, LiveOptions
from auditor.model.severity import Severity

if TYPE_CHECKING:
    from datetime import datetime

    from auditor.fleet.outcome import TenantOutcome
    from auditor.fleet.shard import Shard
    from auditor.history.store import HistoryStore

def fleet(
    tenants: Annotated[
        Path, typer.Argument(help="CSV with a header row: name, tenant_id, auth, client_id, certificate, cloud, "
                             "graph_url, app_id, token_env (each row: a tenant_id or a graph_url). Empty cells "
                             "take the command-line value; a row's certificate is relative to the file.",
                             metavar="TENANTS.csv", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for fleet.json, fleet.html, fleet.xlsx and one "
                                      "folder of reports per tenant.", show_default=False)],
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256, help="Tenants scanned at once, "
                                              "over all workers.")] = 8,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=256, help="Worker processes, each "
                                                "running its share of the tenants on one event loop (never "
                                                "more than --concurrency or the tenants). [default: the "
                                                "cores available]", show_default=False)] = None,
    formats: opt.Formats = opt.DEFAULT_FORMATS,
    fail_on: opt.FailOn = Severity.HIGH,
    rules: opt.Rules = None,
    app_id: opt.AppId = None,
    report_title: opt.ReportTitle = opt.DEFAULT_TITLE,
    prepared_by: opt.PreparedBy = None,
    history: opt.History = None,
    exceptions: opt.Exceptions = None,
    auth: opt.Auth = AuthMode.DEFAULT,
    client_id: opt.ClientId = None,
    certificate: opt.Certificate = None,
    cloud: opt.CloudName = Cloud.GLOBAL,
    graph_url: opt.GraphUrl = None,
    timeout: opt.Timeout = opt.DEFAULT_TIMEOUT,
    deadline: opt.Deadline = opt.DEFAULT_DEADLINE,
    shard: Annotated[str | None, typer.Option("--shard", metavar="K/N", show_default=False,
                                              help="Scan only shard K of N (1 ≤ K ≤ N) of the tenants file, "
                                              "chosen by a stable hash of each row's tenant_id (else graph_url "
                                              "and name); see docs/fleet-sharding.md.")] = None,
    quiet: opt.Quiet = False,
) -> None:
    """Scan every tenant of TENANTS.csv, several at once, each with its own sign-in, and write each tenant's
    reports to DIR/<name or tenant_id>/ as 'auditor scan' would, plus fleet.json, fleet.html (worst first)
    and fleet.xlsx.

    Exit code: the most severe over all tenants (2 > 4 > 3 > 1 > 0, as for scan); 2 and nothing written
    when the tenants file or --shard is invalid. A tenant that fails is reported; the others go on.
    With --history, each tenant's fleet row is stored too, for 'auditor fleet-report'. Ctrl-C (exit 130) or
    SIGTERM (143) stops the scan but still writes the fleet pages, listing the tenants not scanned (exit 3).

    Examples:

      auditor fleet tenants.csv --out fleet/ --auth certificate --client-id APP --certificate auditor.pem

      auditor fleet tenants.csv --out fleet/ --shard 2/5 --history postgresql://auditor@db/auditor
    """
    from datetime import datetime, timezone

    from auditor.collect.clouds import resolve_endpoints
    from auditor.collect.proxy import check_proxies, reached_urls
    from auditor.evaluate.acceptance import load_acceptances
    from auditor.evaluate.engine import load_rule_pack
    from auditor.fleet.interrupt import Interruption, interrupted_line, interrupted_note
    from auditor.fleet.progress import FleetProgress
    from auditor.fleet.runner import available_cores, fleet_runner
    from auditor.fleet.scan import FleetJob
    from auditor.fleet.shard import WHOLE, parse_shard, select
    from auditor.fleet.tenants_file import load_tenants
    from auditor.model.errors import worst_exit
    from auditor.report.reporting import Branding, parse_formats

    started = datetime.now(timezone.utc)
    part = parse_shard(shard) if shard is not None else WHOLE
    chosen = parse_formats(formats)
    app_id = opt.check_app_id(app_id)
    defaults = LiveOptions(client_id=client_id, auth=auth, certificate=certificate, cloud=cloud,
                           graph_url=graph_url, quiet=True, timeout=timeout, deadline=deadline)
    resolve_endpoints(defaults)  # a bad --graph-url is the command line's error, not every row's
    pack = load_rule_pack(rules)
    every_row = load_tenants(tenants, defaults, app_id)  # every shard checks the whole file: all agree, or none runs
    check_proxies(url for row in every_row for url in reached_urls(row.live))  # once, not per tenant
    rows = select(every_row, part)
    acceptances = load_acceptances(exceptions, pack) if exceptions else []
    job = FleetJob(pack, chosen, fail_on, out, Branding(report_title, prepared_by), acceptances, history)
    with Interruption() as interruption:  # SIGINT, SIGTERM: stop scanning, still write the pages, exit 130 / 143
        with (opt.open_history(history) as store,
              fleet_runner(rows, job, concurrency, workers or available_cores(), store, interruption) as run,
              FleetProgress(len(rows), quiet) as progress):  # workers start before the progress bar's thread
            outcomes = run(progress.tenant_done)
            stopped = interruption.name
            if store:
                outcomes = _record(store, outcomes, part, started)
        write_fleet_files(out, outcomes, interrupted_note(outcomes, stopped) if stopped else None, stopped)
        if interruption.name:  # now, or while the history or the pages were written
            typer.echo(interrupted_line(outcomes, interruption.name), err=True)
            raise typer.Exit(128 + (interruption.signum or 0))
        # Still inside: a signal from here on finds the run complete and its pages written, and is let go
        # (the default SIGTERM would end it without a word, and a scheduler would run the shard again).
        print_summary(outcomes, out, f" (shard {part}, of {len(every_row)} in the file)" if part != WHOLE else "",
                      quiet=quiet)
        raise typer.Exit(int(worst_exit(outcome.exit_code for outcome in outcomes)))


def _record(store: HistoryStore, outcomes: list[TenantOutcome], part: Shard, started: datetime) -> list[TenantOutcome]:
    """Store the scanned tenants' fleet rows (an interrupted fleet's unscanned tenants are no runs)."""
    from auditor.fleet.merged import record_fleet

    recorded = iter(record_fleet(store, [outcome for outcome in outcomes if outcome.scanned], part, started))
    return [next(recorded) if outcome.scanned else outcome for outcome in outcomes]


def write_fleet_files(out: Path, outcomes: list[TenantOutcome], note: str | None = None,
                      interrupted: str | None = None) -> None:
    """fleet.json, fleet.html and fleet.xlsx, as one set; `note` heads fleet.html (a merged fleet's origin, an
    interrupted run); `interrupted` is the signal that stopped the run."""
    from auditor.fleet.pages_html import render_fleet_html
    from auditor.fleet.pages_xlsx import render_fleet_xlsx
    from auditor.fleet.summary import fleet_summary
    from auditor.model.output import write_all

    files = {  # made one at a time as they are written: never all three in memory at once
        "fleet.json": lambda: fleet_summary(outcomes, interrupted).to_json().encode(),
        "fleet.html": lambda: render_fleet_html(outcomes, note=note).encode(),
        "fleet.xlsx": lambda: render_fleet_xlsx(outcomes),
    }
    write_all(out, files)  # beside the tenant folders, which have their own manifests


# How the one-line summary counts tenants by exit code.
_COUNTED_AS = {0: "passed", 1: "with failed findings", 3: "incomplete", 4: "not in the history", 2: "input errors"}


def print_summary(outcomes: list[TenantOutcome], out: Path, shard: str = "", *, quiet: bool = False) -> None:
    """On stderr: a line counting the tenants by exit code (not with `quiet`), then one line per tenant that
    has an error or a note — always: a scheduled job run with --quiet must still say why it failed."""
    from auditor.model.errors import EXIT_PRECEDENCE

    if not quiet:
        codes = Counter(int(outcome.exit_code) for outcome in outcomes)
        worst_first = [int(code) for code in reversed(EXIT_PRECEDENCE)]
        counts = ", ".join(f"{codes[code]} {_COUNTED_AS[code]} (exit {code})" for code in worst_first if codes[code])
        typer.echo(f"Fleet of {len(outcomes)} tenants{shard}: {counts or 'none to scan'}. Overview in "
                   f"{out}/fleet.html", err=True)
    for outcome in outcomes:
        if outcome.error:  # folder names are reduced to safe characters; errors are one printable line
            typer.echo(f"  {outcome.tenant.folder}: exit {int(outcome.exit_code)}: {outcome.error}", err=True)
