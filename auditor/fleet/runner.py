"""Run a fleet: each worker process runs its share of the tenants on one event loop, a bounded number at once.

Collection is mostly waiting for Graph, so one event loop per process overlaps many tenants' waits
without threads fighting over the interpreter; evaluation and rendering are CPU work, so there is one
worker process per core. Workers take tenants from a shared queue as they free up (a slow tenant
holds one slot, not a whole share) and send back each tenant's `TenantOutcome`; the parent keeps
only those, calls `on_done` as each arrives and returns them in the tenants file's order.

Isolation is per tenant as before: each has its own credential, Graph client and connections
(`collect_for_pack_async`). Workers are forked on Linux (they inherit the imported modules, the
rule pack and compiled templates: no start-up per worker) and spawned elsewhere. A worker that dies
(killed, out of memory) fails the tenants it held, with a one-line error; the others go on.

An `Interruption` (SIGINT, SIGTERM) stops the run: the workers are terminated (or the in-process
tasks cancelled) and the tenants whose outcome had not come in are returned as not scanned.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from auditor.fleet.interrupt import STOPPING_SIGNALS, Interruption, not_scanned
from auditor.fleet.outcome import TenantOutcome
from auditor.fleet.scan import FleetJob, RunHistory, scan_tenant
from auditor.fleet.tenants_file import TenantRow
from auditor.model.errors import AuditorError, CollectionError
from auditor.report.reporting import prepare_renderers

if TYPE_CHECKING:
    from auditor.history.drift import RunState
    from auditor.model.result import Result

# Forked workers inherit the parent's imported modules, rule pack and compiled templates; where fork is not
# safe (macOS) or not there (Windows), they are spawned and the job is pickled to them.
START_METHOD = "fork" if sys.platform == "linux" else "spawn"
UNFORESEEN_EXIT = 70  # EX_SOFTWARE: a worker ended by something no tenant's outcome could hold
Item = tuple[int, TenantRow]
OnDone = Callable[[TenantOutcome], None]


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset), at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity else os.cpu_count() or 1)


async def _drain(
    take: Callable[[], Awaitable[Item | None]], job: FleetJob, history: RunHistory | None, slots: int,
    emit: Callable[[int, TenantOutcome], None], interruption: Interruption | None = None,
) -> None:
    """`slots` tenants at once on the running loop, each slot taking the next tenant when it is free; an
    interruption cancels them all (a report being written finishes in its thread before the loop closes)."""

    async def slot() -> None:
        while (item := await take()) is not None:
            index, tenant = item
            emit(index, await scan_tenant(tenant, job, history))

    tasks = [asyncio.ensure_future(slot()) for _ in range(slots)]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for task in tasks:
            task.cancel()

    with interruption.watching(lambda: loop.call_soon_threadsafe(stop)) if interruption else nullcontext():
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in tasks:
        if task.done() and not task.cancelled() and (error := task.exception()):
            raise error


def _in_process(tenants: Sequence[TenantRow], job: FleetJob, history: RunHistory | None, slots: int,
                emit: Callable[[int, TenantOutcome], None], interruption: Interruption) -> None:
    items = iter(enumerate(tenants))

    async def take() -> Item | None:
        return next(items, None)

    asyncio.run(_drain(take, job, history, slots, emit, interruption))


class _HistoryLost:
    """The history as a worker sees it when its own connection could not be opened (the parent's could): its
    tenants are scanned and written as usual, and each says why its run is not recorded (exit 4)."""

    def __init__(self, why: str) -> None:
        self._why = why

    def latest(self, tenant_id: str, count: int = 1) -> list[RunState]:
        return []

    def record(self, result: Result) -> int:
        from auditor.history.location import HistoryNotRecorded

        raise HistoryNotRecorded(f"run not recorded: {self._why}")


def _worker(job: FleetJob, slots: int, tasks: Any, results: Connection, sending: Any, parent: int) -> None:
    """A worker process: tenants from `tasks` until a None, outcomes sent on `results` as (index, outcome).
    Anything unforeseen ends it quietly (exit 70): the parent reports the tenants it held, never a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: terminate() ends a worker at once
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING_SIGNALS)  # held while it was started
    try:
        history = _open_history(job.history_url)

        async def take() -> Item | None:
            if os.getppid() != parent:  # the parent was killed outright: start no further tenant
                return None
            item: Item | None = await asyncio.to_thread(tasks.get)
            return item

        def send(index: int, outcome: TenantOutcome) -> None:
            with sending:  # sent before the next tenant starts: a worker killed later loses no finished tenant
                results.send((index, outcome))

        try:
            asyncio.run(_drain(take, job, history, slots, send))
        finally:
            close = getattr(history, "close", None)
            if close:
                close()
    except Exception:  # a worker's last resort: the parent reports the tenants it held
        os._exit(UNFORESEEN_EXIT)


def _open_history(url: str | None) -> RunHistory | None:
    if not url:
        return None
    from auditor.history.store import open_history  # SQLAlchemy only for a fleet with a history

    try:
        return open_history(url, create=False)  # the parent created and checked it
    except AuditorError as exc:
        return _HistoryLost(str(exc))


class WorkerPool:
    """`workers` processes, started before the parent starts any thread (a progress bar, a queue feeder)."""

    def __init__(self, job: FleetJob, workers: int, slots: int) -> None:
        context = multiprocessing.get_context(START_METHOD)
        self.tasks = context.Queue()  # fed by a thread of the parent's: putting never waits for the workers
        # The parent keeps the sending end open too: the pipe never reads as ended while it is in use.
        self._results, self._sending_end = context.Pipe(duplex=False)
        # One for every worker (their messages must not interleave in the pipe), kept while they run: a
        # spawned worker rebuilds it from its name.
        self._sending = context.Lock()
        self.processes: list[BaseProcess] = [
            context.Process(target=_worker, name=f"auditor-worker-{n}", daemon=True,
                            args=(job, slots, self.tasks, self._sending_end, self._sending, os.getpid()))
            for n in range(workers)
        ]
        self._slots = slots
        with _signals_held():
            for process in self.processes:
                process.start()

    def run(self, tenants: Sequence[TenantRow], emit: Callable[[int, TenantOutcome], None],
            interruption: Interruption) -> None:
        """Every tenant's outcome, as each comes in; on interruption, those sent so far, then the workers are
        stopped and the missing tenants are left out (the caller lists them as not scanned)."""
        for item in enumerate(tenants):
            self.tasks.put(item)
        for _ in range(len(self.processes) * self._slots):
            self.tasks.put(None)
        missing = set(range(len(tenants)))

        def receive() -> None:
            index, outcome = self._results.recv()
            missing.discard(index)
            emit(index, outcome)

        running = {process.sentinel for process in self.processes}
        while missing and (running or self._results.poll()):
            ready = wait([self._results, interruption.waker, *running])
            if interruption.signum is not None:
                break
            if self._results in ready:
                receive()
            else:  # a worker ended; what it sent before is read first (the pipe is checked first)
                running.difference_update(ready)
        if interruption.signum is not None:  # workers that ended with the signal (sent to the group) lost nothing
            while self._results.poll():  # sent before the signal (a worker still alive finishes its message)
                receive()
            self._stop()
            return
        codes = sorted({process.exitcode for process in self.processes if process.exitcode})
        for index in sorted(missing):
            lost = CollectionError(f"the worker process scanning this tenant ended unexpectedly (exit code {codes})")
            emit(index, TenantOutcome(tenants[index], lost.exit_code, error=str(lost)))

    def _stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()  # Ctrl-C, SIGTERM or an error in the parent: start no further tenant
        for process in self.processes:
            process.join()

    def close(self) -> None:
        self._stop()
        self._results.close()
        self._sending_end.close()
        self.tasks.cancel_join_thread()  # tenants no worker took (after Ctrl-C) must not hold the exit
        self.tasks.close()


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait while workers start: a worker must not run the parent's handlers."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def fleet_runner(
    tenants: Sequence[TenantRow], job: FleetJob, concurrency: int, workers: int, history: RunHistory | None = None,
    interruption: Interruption | None = None,
) -> Iterator[Callable[[OnDone], list[TenantOutcome]]]:
    """Start the fleet's workers (at most one per tenant, each with its share of `concurrency`); yields
    `run(on_done)`, which scans every tenant and returns the outcomes in the tenants' order (after an
    `interruption`, the tenants not finished as not scanned).

    With one worker the tenants run in this process, on `history`; worker processes open their own
    store from `job.history_url` (a connection is never shared across processes)."""
    workers = max(1, min(workers, len(tenants), concurrency))
    slots = -(-concurrency // workers)
    own = interruption is None
    interruption = interruption or Interruption()  # not entered: never interrupted
    prepare_renderers(job.formats)  # imports and templates once, inherited by the forked workers
    pool = WorkerPool(job, workers, slots) if workers > 1 and interruption.signum is None else None

    def run(on_done: OnDone) -> list[TenantOutcome]:
        outcomes: dict[int, TenantOutcome] = {}

        def emit(index: int, outcome: TenantOutcome) -> None:
            outcome = outcomes[index] = replace(outcome, tenant=tenants[index])  # the parent's row, not a copy
            on_done(outcome)

        if pool:
            pool.run(tenants, emit, interruption)
        elif interruption.signum is None:
            _in_process(tenants, job, history, slots, emit, interruption)
        return [outcomes[index] if index in outcomes else not_scanned(tenants[index], interruption.name or "")
                for index in range(len(tenants))]

    try:
        yield run
    finally:
        if pool:
            pool.close()
        if own:
            interruption.close()
