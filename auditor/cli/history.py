"""`auditor history` and `auditor diff`: the stored runs of a tenant, and what changed between two scans."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli import options as opt
from auditor.model.errors import ExitCode, InputError
from auditor.model.severity import Severity
from auditor.model.tenant_text import printable

if TYPE_CHECKING:
    from rich.text import Text

    from auditor.history.drift import Drift


def show_history(
    history: opt.History = None,
    tenant: opt.HistoryTenant = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent runs shown per tenant.")] = 20,
) -> None:
    """List the stored runs per tenant, newest first: verdict, score and its trend since the run before.

    Example:

      auditor history --history /var/lib/auditor/history.db --tenant contoso.onmicrosoft.com
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from auditor.history.store import open_history

    with open_history(opt.require_history(history), create=False) as store:
        runs = store.summaries(tenant)
        label = store.label
    if not runs:
        typer.echo(f"No runs{f' of tenant {printable(tenant)}' if tenant else ''} in history {label}.")
        return
    console = Console(soft_wrap=False)
    console.print(Text(f"Scan history: {label}", style="bold"))
    for tenant_id in dict.fromkeys(run.tenant_id for run in runs):
        mine = [run for run in runs if run.tenant_id == tenant_id]  # newest first
        title = Text(printable(f"{mine[0].tenant_name} ({tenant_id})"))
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for column in ("Scanned (UTC)", "Verdict", "Score", "Trend", "Pass", "Fail", "Error", "N/A"):
            table.add_column(column, justify="left" if column in ("Scanned (UTC)", "Verdict") else "right")
        for index, run in enumerate(mine[:limit]):
            before = mine[index + 1] if index + 1 < len(mine) else None
            table.add_row(
                run.generated_at.strftime("%Y-%m-%d %H:%M"),
                run.verdict.value,
                f"{run.score:g}",
                _trend(run.score - before.score) if before else "",
                *(str(count) for count in (run.passed, run.failed, run.errors, run.not_applicable)),
            )
        console.print(table)


def _trend(delta: float) -> Text:
    from rich.text import Text

    if round(delta, 1) == 0:
        return Text("=")
    return Text(f"{delta:+.1f}", style="green" if delta > 0 else "red")


def diff_runs(
    old: Annotated[
        Path | None, typer.Argument(help="The older result.json.", show_default=False, metavar="OLD")
    ] = None,
    new: Annotated[
        Path | None, typer.Argument(help="The newer result.json.", show_default=False, metavar="NEW")
    ] = None,
    history: opt.History = None,
    tenant: opt.HistoryTenant = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the drift as JSON.")] = False,
    fail_on: Annotated[
        Severity, typer.Option("--fail-on", parser=opt.choice(Severity),
                               help="Exit 1 when a rule at or above this severity regressed.")
    ] = Severity.INFO,
) -> None:
    """Compare two scans rule by rule: regressed, improved, evidence-changed, unchanged, new, removed.

    Give two result.json files, or --history and --tenant for that tenant's last two runs.
    Statuses rank pass > not_applicable > fail > error; a move down is a regression. Exit codes:
    0 nothing regressed (or only accepted risks, or below --fail-on; also when the history holds a
    single run); 1 a rule regressed; 2 bad input.

    Examples:

      auditor diff yesterday/result.json today/result.json

      auditor diff --history /var/lib/auditor/history.db --tenant contoso.onmicrosoft.com --json
    """
    import json

    from auditor.history.drift import format_text

    drift = _drift_of_files(old, new, tenant) if old or new else _drift_in_history(history, tenant)
    if drift is None:
        return
    if as_json:
        typer.echo(json.dumps(drift.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(format_text(drift), nl=False)
    raise typer.Exit(int(ExitCode.FINDINGS if drift.gate_failures(fail_on) else ExitCode.OK))


def _drift_of_files(old: Path | None, new: Path | None, tenant: str | None) -> Drift:
    from auditor.history.drift import RunState, diff
    from auditor.model.result import load_result

    if not (old and new):
        raise InputError("diff: give two result.json files (OLD NEW), or --history URL --tenant ID")
    if tenant:
        raise InputError("diff: --tenant goes with --history, not with result files")
    return diff(RunState.of(load_result(old)), RunState.of(load_result(new)))


def _drift_in_history(history: str | None, tenant: str | None) -> Drift | None:
    """The drift between the tenant's last two stored runs; None (and a note) when there is only one."""
    from auditor.history.drift import diff
    from auditor.history.store import open_history

    if not tenant:
        raise InputError("diff: give two result.json files (OLD NEW), or --history URL --tenant ID")
    with open_history(opt.require_history(history), create=False) as store:
        tenant_ids = list(dict.fromkeys(run.tenant_id for run in store.summaries(tenant)))
        if not tenant_ids:
            raise InputError(f"history {store.label}: no runs of tenant {tenant!r}")
        if len(tenant_ids) > 1:
            raise InputError(f"--tenant {tenant!r} names several tenants ({', '.join(tenant_ids)}): give the id")
        runs = store.latest(tenant_ids[0], count=2)
    if len(runs) < 2:
        typer.echo(f"Nothing to compare yet: the history holds one run of {printable(tenant)}.")
        return None
    return diff(*runs)
