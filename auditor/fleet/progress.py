"""The fleet's progress bar on stderr: tenants done, failed and remaining.

Silent with `--quiet` or when stderr is not a terminal (scheduled jobs, pipes, tests).
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from auditor.fleet.outcome import TenantOutcome


class FleetProgress:
    def __init__(self, total: int, quiet: bool, console: Console | None = None) -> None:
        console = console or Console(stderr=True)
        self._total, self._done, self._failed = total, 0, 0
        self._progress: Progress | None = None
        if not quiet and console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]Scanning tenants[/]"),
                BarColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
            )
            self._task = self._progress.add_task(self._counts(), total=total)

    def _counts(self) -> str:
        remaining = self._total - self._done - self._failed
        return f"{self._done} done · [red]{self._failed} failed[/] · {remaining} remaining"

    def tenant_done(self, outcome: TenantOutcome) -> None:
        if outcome.failed:
            self._failed += 1
        else:
            self._done += 1
        if self._progress:
            self._progress.update(self._task, advance=1, description=self._counts())

    def __enter__(self) -> FleetProgress:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress:
            self._progress.stop()
