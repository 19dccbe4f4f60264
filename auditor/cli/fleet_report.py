"""`auditor fleet-report --history URL --out DIR`: one fleet.json / fleet.html / fleet.xlsx from the latest fleet
run of every tenant in the history, e.g. after the shards of `auditor fleet --shard K/N` have run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.model.errors import InputError


def fleet_report(
    out: Annotated[Path, typer.Option("--out", help="Folder for fleet.json, fleet.html and fleet.xlsx.",
                                      show_default=False)],
    history: opt.History = None,
    stale_after: Annotated[float | None, typer.Option(
        "--stale-after", min=0.01, max=876_000, metavar="HOURS", show_default=False,  # 100 years at most
        help="A tenant whose latest fleet run started longer ago is reported incomplete (exit 3 at least), "
        "with when it was scanned.")] = None,
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
    from auditor.fleet.merged import merged_note, merged_outcomes
    from auditor.history.store import open_history
    from auditor.model.errors import worst_exit

    with open_history(opt.require_history(history), create=False) as store:
        records = store.fleet_latest()
        label = store.label
    if not records:
        raise InputError(f"history {label}: no fleet run recorded yet (run 'auditor fleet --history' first)")
    span = timedelta(hours=stale_after) if stale_after is not None else None
    outcomes = merged_outcomes(records, label, datetime.now(timezone.utc), span)
    write_fleet_files(out, outcomes, merged_note(records, label))
    print_summary(outcomes, out, quiet=quiet)
    raise typer.Exit(int(worst_exit(outcome.exit_code for outcome in outcomes)))
