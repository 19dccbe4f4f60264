"""CPU per tenant of collection alone (`collect_for_pack`), in one process and one thread.

The fake Graph host (bench/tenants.py's fleet, page size 999) runs in a child process, so `os.times()`
of this process counts the collector only. After a warm-up (imports, first-use caches), each run
collects every tenant in turn; the result is the median over the runs, in ms of CPU per tenant.

`asyncio.run` in the main thread installs a SIGINT handler for each run, and reading it back reprs
the running task (~1 ms here); a fleet's worker threads, or one event loop for all tenants, do not pay
that. `--main-thread-sigint` keeps that cost in; by default a handler of our own is set first, which
makes `asyncio.run` leave SIGINT alone.

`--one-loop` collects every tenant on one event loop, as a fleet worker does
(`collect_for_pack_async`).

    python bench/collect_cpu.py [--tenants 100] [--runs 3] [--main-thread-sigint] [--profile FILE.prof]
                                [--one-loop]

Run it from two checkouts alternately (PYTHONPATH=OTHER_CHECKOUT) to compare them under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import signal
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.collect.live import collect_for_pack, collect_for_pack_async
from auditor.collect.options import AuthMode, LiveOptions
from auditor.collect.progress import SilentProgress
from auditor.evaluate.engine import load_rule_pack
from auditor.evaluate.rulepack import RulePack
from bench.tenants import fleet_tenants
from tests.fakegraph.server import FakeGraph, FakeGraphHost


def _serve(count: int, pipe: Connection) -> None:
    with FakeGraphHost([FakeGraph(tenant, page_size=999) for tenant in fleet_tenants(count)]) as host:
        pipe.send([(graph.base_url, graph.token) for graph in host.graphs])
        pipe.recv()  # until the parent is done


def _collect_all(graphs: list[tuple[str, str]], pack: RulePack) -> float:
    """CPU seconds (user + system) this process spent collecting every tenant once."""
    before = os.times()
    for url, token in graphs:
        os.environ["AUDITOR_ACCESS_TOKEN"] = token
        collect_for_pack(LiveOptions(auth=AuthMode.TOKEN, graph_url=url, quiet=True), pack)
    after = os.times()
    return (after.user - before.user) + (after.system - before.system)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _collect_on_one_loop(graphs: list[tuple[str, str]], pack: RulePack) -> None:
    for url, token in graphs:
        os.environ["AUDITOR_ACCESS_TOKEN"] = token
        await collect_for_pack_async(LiveOptions(auth=AuthMode.TOKEN, graph_url=url, quiet=True), pack,
                                     progress=SilentProgress())


def _one_loop(graphs: list[tuple[str, str]], pack: RulePack) -> float:
    loop = asyncio.new_event_loop()
    try:
        before = os.times()
        loop.run_until_complete(_collect_on_one_loop(graphs, pack))
        after = os.times()
    finally:
        loop.close()
    return (after.user - before.user) + (after.system - before.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--main-thread-sigint", action="store_true", help="let asyncio.run install its handler")
    parser.add_argument("--profile", type=Path, help="write a cProfile of one more run here")
    parser.add_argument("--one-loop", action="store_true", help="every tenant on one event loop")
    args = parser.parse_args()
    collect_all = _one_loop if args.one_loop else _collect_all
    if not args.main_thread_sigint:
        signal.signal(signal.SIGINT, _interrupt)
    pack = load_rule_pack()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(args.tenants, child), daemon=True)
    server.start()
    graphs = parent.recv()
    try:
        collect_all(graphs[:10], pack)  # warm-up
        per_tenant = [collect_all(graphs, pack) / len(graphs) * 1000 for _ in range(args.runs)]
        print(f"collection CPU per tenant: {statistics.median(per_tenant):.2f} ms (median of "
              f"{', '.join(f'{ms:.2f}' for ms in per_tenant)}); load {os.getloadavg()[0]:.2f}")
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(collect_all, graphs, pack)
            profiler.dump_stats(args.profile)
    finally:
        parent.send("done")
        server.join(5)


if __name__ == "__main__":
    main()
