"""CPU per tenant of collection alone (`collect_for_pack`), in one process and one thread.

The fake Graph host (bench/tenants.py's fleet, page size 999) runs in a child process, so `os.times()`
of this process counts the collector only. After a warm-up (imports, first-use caches), each run
collects every tenant in turn; the result is the median over the runs, in ms of CPU per tenant.

`asyncio.run` in the main thread installs a SIGINT handler for each run, and reading it back reprs
the running task (~1 ms here); a fleet's worker threads, or one event loop for all tenants, do not pay
that. `--main-thread-sigint` keeps that cost in; by default a handler of our own is set first, which
makes `asyncio.run` leave SIGINT alone.

`--one-loop` collects every tenant on one event loop, as an asynchronous fleet would, through
`live._collect` (until live.py has an asynchronous entry point), with `shared_connections()` unless
`--own-connections`.

    python bench/collect_cpu.py [--tenants 100] [--runs 3] [--main-thread-sigint] [--profile FILE.prof]
                                [--one-loop [--own-connections]]

Run it from two checkouts alternately (PYTHONPATH=OTHER_CHECKOUT) to compare them under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import multiprocessing
import os
import signal
import statistics
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.collect import live
from auditor.collect.auth import build_credential
from auditor.collect.clouds import resolve_endpoints
from auditor.collect.graph_client import shared_connections
from auditor.collect.live import collect_for_pack
from auditor.collect.options import AuthMode, LiveOptions
from auditor.collect.progress import SilentProgress
from auditor.evaluate.engine import load_rule_pack
from auditor.evaluate.rulepack import RulePack
from auditor.model.snapshot import CollectionTarget
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


async def _collect_on_one_loop(graphs: list[tuple[str, str]], pack: RulePack, shared: bool) -> None:
    params = pack.parameters
    roles = [role.id for role in params.consent_capable_roles]
    target = CollectionTarget(app_id=next(iter(params.app_ids), None), app_display_name=params.app_display_name,
                              legacy_app_ids=list(params.legacy_app_ids), consent_role_ids=roles)
    async with shared_connections() if shared else contextlib.nullcontext():
        for url, token in graphs:
            os.environ["AUDITOR_ACCESS_TOKEN"] = token
            options = LiveOptions(auth=AuthMode.TOKEN, graph_url=url, quiet=True)
            endpoints = resolve_endpoints(options)
            credential = build_credential(options, endpoints)
            await live._collect(options, endpoints, credential, target, roles, None, SilentProgress(), params)


def _one_loop(shared: bool) -> Callable[[list[tuple[str, str]], RulePack], float]:
    def collect_all(graphs: list[tuple[str, str]], pack: RulePack) -> float:
        loop = asyncio.new_event_loop()
        try:
            before = os.times()
            loop.run_until_complete(_collect_on_one_loop(graphs, pack, shared))
            after = os.times()
        finally:
            loop.close()
        return (after.user - before.user) + (after.system - before.system)

    return collect_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--main-thread-sigint", action="store_true", help="let asyncio.run install its handler")
    parser.add_argument("--profile", type=Path, help="write a cProfile of one more run here")
    parser.add_argument("--one-loop", action="store_true", help="every tenant on one event loop")
    parser.add_argument("--own-connections", action="store_true", help="with --one-loop: no shared_connections()")
    args = parser.parse_args()
    collect_all = _one_loop(not args.own_connections) if args.one_loop else _collect_all
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
            profiler = cProfile.Profile()
            profiler.runcall(collect_all, graphs, pack)
            profiler.dump_stats(args.profile)
    finally:
        parent.send("done")
        server.join(5)


if __name__ == "__main__":
    main()
