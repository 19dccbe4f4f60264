"""`auditor fleet-report --history URL --out DIR`: one fleet.json / fleet.html / fleet.xlsx from the latest fleet
run of every tenant in the history, e.g. after the shards of `auditor fleet --shard K/N` have run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli import options as opt
from auditor.model.errors import InputError

if TYPE_CHECKING:
    from auditor.fleet.tenants_file import TenantRow


def fleet_report(
    out: Annotated[Path, typer.Option("--out", help="Folder for fleet.json, fleet.html and fleet.xlsx.",
                                      show_default=False)],
    history: opt.History = None,
    stale_after: Annotated[float | None, typer.Option(
        "--stale-after", min=0.01, max=876_000, metavar="HOURS", show_default=False,  # 100 years at most
        help="A tenant whose latest fleet run started longer ago is reported incomplete (exit 3 at least), "
        "with when it was scanned.")] = None,
    tenants: Annotated[Path | None, typer.Option(
        "--tenants", metavar="TENANTS.csv", show_default=False,
        help="The tenants file the shards ran: every row is reported, a row with no fleet run in the history "
        "(its shard did not run, or ended before recording) as not scanned (exit 3); tenants of the history "
        "that are not in the file are left out. Give the --app-id and --graph-url the shards were given.")] = None,
    app_id: opt.AppId = None,
    graph_url: opt.GraphUrl = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line counting the tenants by exit code "
                                        "(each tenant's error or note is still shown).")] = False,
) -> None:
    """Merge the latest fleet run of every tenant in --history (stored by 'auditor fleet --history', sharded or
    not) into DIR/fleet.json, fleet.html and fleet.xlsx, as one unsharded run would have written them, in
    the tenants file's order. Tenant reports stay where each shard wrote them and are not linked.

    Exit code: the most severe over the tenants (2 > 4 > 3 > 1 > 0), as for 'auditor fleet'; 2 and nothing
    written when the history is missing, unreadable or holds no fleet run.

    Example:

      auditor fleet-report --history postgresql://auditor@db/auditor --out fleet/ --stale-after 26
    """
    from datetime import datetime, timedelta, timezone

    from auditor.cli.fleet import print_summary, write_fleet_files
    from auditor.fleet.merged import merged_for_rows, merged_note, merged_outcomes
    from auditor.history.store import open_history
    from auditor.model.errors import worst_exit

    rows = _rows(tenants, opt.check_app_id(app_id), graph_url) if tenants is not None else None
    with open_history(opt.require_history(history), create=False) as store:
        records = store.fleet_latest()
        label = store.label
    if not records:
        raise InputError(f"history {label}: no fleet run recorded yet (run 'auditor fleet --history' first)")
    span, now = timedelta(hours=stale_after) if stale_after is not None else None, datetime.now(timezone.utc)
    if rows is None:
        outcomes, left_out = merged_outcomes(records, label, now, span), 0
    else:
        outcomes, left_out = merged_for_rows(rows, records, label, now, span)
        if left_out == len(records):  # not one row matched: not N shards that never ran, but other options
            raise InputError(f"history {label}: no row of {tenants} has a fleet run there; "
                             "give fleet-report the --app-id and --graph-url the shards ran with")
    write_fleet_files(out, outcomes, merged_note(records, label, left_out))
    print_summary(outcomes, out, quiet=quiet)
    raise typer.Exit(int(worst_exit(outcome.exit_code for outcome in outcomes)))


def _rows(path: Path, app_id: str | None, graph_url: str | None) -> list[TenantRow]:
    """The file's rows, checked as `auditor fleet` checks them. Nothing signs in here, so the rows' sign-in
    settings only need to be valid: rows that name a token variable need no --auth token beside them."""
    from auditor.collect.options import AuthMode, LiveOptions
    from auditor.fleet.tenants_file import load_tenants

    return load_tenants(path, LiveOptions(auth=AuthMode.TOKEN, graph_url=graph_url, quiet=True), app_id)
