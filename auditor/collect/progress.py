"""What the collector shows on stderr while it reads: rounds, requests, retries and waits.

Silent with `--quiet` or when stderr is not a terminal (scheduled jobs, pipes, tests).
"""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class CollectionProgress(Protocol):
    def round(self, number: int, what: str) -> None:
        """A round of requests starts; `what` says what it reads."""

    def sending(self, requests: int) -> None:
        """More requests go out (next pages and retries included)."""

    def received(self, requests: int) -> None:
        """Responses to that many requests came back."""

    def retrying(self, what: str, status: int, attempt: int, wait: float) -> None:
        """A throttled or failed request is retried after `wait` seconds."""

    def close(self) -> None: ...


class SilentProgress:
    def round(self, number: int, what: str) -> None:
        pass

    def sending(self, requests: int) -> None:
        pass

    def received(self, requests: int) -> None:
        pass

    def retrying(self, what: str, status: int, attempt: int, wait: float) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress:
    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]Reading the tenant[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("", total=0)
        self._progress.start()

    def round(self, number: int, what: str) -> None:
        self._progress.update(self._task, description=escape(f"· round {number}: {what}"))

    def sending(self, requests: int) -> None:
        task = self._progress.tasks[0]
        self._progress.update(self._task, total=(task.total or 0) + requests)

    def received(self, requests: int) -> None:
        self._progress.advance(self._task, requests)

    def retrying(self, what: str, status: int, attempt: int, wait: float) -> None:
        self._progress.console.print(
            f"[yellow]HTTP {status}[/] on {escape(what)}: retry {attempt} in {wait:.1f} s", markup=True, highlight=False
        )

    def close(self) -> None:
        self._progress.stop()


def make_progress(quiet: bool, console: Console | None = None) -> CollectionProgress:
    console = console or Console(stderr=True)
    if quiet or not console.is_terminal:
        return SilentProgress()
    return RichProgress(console)
