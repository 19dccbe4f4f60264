"""Ctrl-C (SIGINT) or a scheduler's timeout (SIGTERM) during `auditor fleet`.

The first signal stops the scan: no further tenant starts, the in-flight ones stop (worker processes
are terminated, in-process tasks cancelled; a tenant's folder is published crash-safely either way)
and the fleet still writes its pages, listing every tenant: those not scanned with exit 3 and a note
saying so, so an MSP can tell which tenants were done. The process then exits 128 + the signal
(130, 143). A second signal ends it at once, with one line and no traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType, TracebackType
from typing import Any

from auditor.fleet.outcome import TenantOutcome
from auditor.fleet.tenants_file import TenantRow
from auditor.model.errors import ExitCode

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interruption:
    """While entered (in the main thread, where Python handles signals), SIGINT and SIGTERM are noted
    instead of ending the process; `signum` is the first one noted."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._watchers: list[Callable[[], None]] = []
        self._previous: dict[int, Any] = {}
        # Readable once interrupted: a process waiting on pipes and processes waits on this too.
        self._wake, self._waking = socket.socketpair()
        self._waking.setblocking(False)

    @property
    def name(self) -> str | None:
        """SIGINT or SIGTERM once interrupted, else None."""
        return signal.Signals(self.signum).name if self.signum else None

    @property
    def waker(self) -> socket.socket:
        return self._wake

    @contextlib.contextmanager
    def watching(self, stop: Callable[[], None]) -> Iterator[None]:
        """Call `stop` (from the signal handler) on interruption while inside; at once if already interrupted."""
        self._watchers.append(stop)
        try:
            if self.signum is not None:
                stop()
            yield
        finally:
            self._watchers.remove(stop)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # the second: end now, whatever is being written (it is written crash-safely)
            name = signal.Signals(signum).name
            os.write(2, f"auditor: interrupted again ({name}): stopped at once; the fleet pages may be missing\n"
                     .encode())
            os._exit(128 + signum)
        self.signum = signum
        with contextlib.suppress(OSError):  # a full socket buffer already wakes the reader
            self._waking.send(b"\0")
        for stop in list(self._watchers):
            stop()

    def __enter__(self) -> Interruption:
        if threading.current_thread() is threading.main_thread():
            for signum in STOPPING_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self.close()

    def close(self) -> None:
        self._wake.close()
        self._waking.close()


def not_scanned(tenant: TenantRow, name: str) -> TenantOutcome:
    """A tenant the interrupted fleet did not finish: collection incomplete (DESIGN §6)."""
    return TenantOutcome(tenant, ExitCode.INCOMPLETE, error=f"not scanned: the fleet run was interrupted ({name})",
                         scanned=False)


def interrupted_line(outcomes: Sequence[TenantOutcome], name: str) -> str:
    """The one stderr line an interrupted fleet ends with."""
    done = sum(outcome.scanned for outcome in outcomes)
    rest = len(outcomes) - done
    if not rest:
        return f"auditor: interrupted ({name}): all {len(outcomes)} tenants scanned; fleet pages written"
    return (f"auditor: interrupted ({name}): {done} of {len(outcomes)} tenants scanned; fleet.json lists the "
            f"other {rest} as not scanned")


def interrupted_note(outcomes: Sequence[TenantOutcome], name: str) -> str:
    """The paragraph heading an interrupted fleet's fleet.html."""
    done = sum(outcome.scanned for outcome in outcomes)
    return (f"This fleet run was interrupted ({name}) after {done} of {len(outcomes)} tenants were scanned; "
            "the others are listed as not scanned (exit 3).")
