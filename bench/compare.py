"""Same-run comparison of two installs of auditor: each measurement alternates between them, so both
see the same machine load; medians and the new/base ratio.

    python bench/compare.py BASE_AUDITOR NEW_AUDITOR [--repeats 3] [--fleet 500] [--fleet-format html,xlsx,json]

BASE_AUDITOR / NEW_AUDITOR are `auditor` console scripts (e.g. a venv of an older checkout and this
one's). Measured: the fleet (json, or each --fleet-format given; 50 ms, concurrency 32), collecting the
large tenant, and scanning its snapshot into html, xlsx and json (each version scans the snapshot it
collected itself).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench.run as bench
from bench.tenants import LargeShape, fleet_tenants, large_tenant
from tests.fakegraph.server import FakeGraph, FakeGraphHost
from tests.fakegraph.tenant import HDM_APP_ID

Measure = Callable[[str, Path], bench.Run]  # (version label, its work folder) → one run


def alternate(auditors: dict[str, Path], repeats: int, workdir: Path, measure: Measure) -> dict[str, list[bench.Run]]:
    runs: dict[str, list[bench.Run]] = {label: [] for label in auditors}
    for _ in range(repeats):
        for label, executable in auditors.items():
            bench.AUDITOR = executable
            folder = workdir / label
            folder.mkdir(exist_ok=True)
            runs[label].append(measure(label, folder))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fleet", type=int, default=500)
    parser.add_argument("--fleet-format", action="append", dest="fleet_formats", metavar="FORMATS",
                        help="--format of the fleet runs (repeatable; default json), e.g. html,xlsx,json")
    options = parser.parse_args()
    auditors = {"base": options.base, "new": options.new}
    results: list[tuple[str, dict[str, list[bench.Run]]]] = []
    with tempfile.TemporaryDirectory(prefix="auditor-compare-") as temp:
        workdir = Path(temp)
        with FakeGraphHost([FakeGraph(t, page_size=bench.ONE_PAGE) for t in fleet_tenants(options.fleet)]) as host:
            for formats in options.fleet_formats or ["json"]:
                results.append((f"fleet {options.fleet} tenants, 50 ms, {formats}, concurrency 32", alternate(
                    auditors, options.repeats, workdir,
                    lambda label, folder: bench._fleet_run(host, folder, formats, 0.05, 32, None))))  # noqa: B023
        with FakeGraph(large_tenant(LargeShape()), page_size=bench.ONE_PAGE) as graph:
            env = {"AUDITOR_ACCESS_TOKEN": graph.token}

            def collect(label: str, folder: Path) -> bench.Run:
                args = ["collect", "--auth", "token", "--graph-url", graph.base_url, "--quiet", "--app-id",
                        HDM_APP_ID, "--out", str(folder / "large.json")]
                return bench.run_auditor(args, env, lambda: graph.http_requests)

            results.append(("collect the large tenant", alternate(auditors, options.repeats, workdir, collect)))

        def scan(label: str, folder: Path) -> bench.Run:
            args = ["scan", "--snapshot", str(folder / "large.json"), "--app-id", HDM_APP_ID, "--quiet",
                    "--format", "html,xlsx,json", "--out", str(folder / "large-out")]
            return bench.run_auditor(args)

        results.append(("large tenant: scan --snapshot html,xlsx,json", alternate(auditors, options.repeats, workdir,
                                                                                  scan)))
    print(f"load average before/after: {os.getloadavg()[0]:.2f} (1 min); repeats {options.repeats}, alternating")
    for what, runs in results:
        base, new = (bench.Row("", what, runs[label]) for label in ("base", "new"))
        ratio = new.median("wall") / base.median("wall")
        print(f"{what}: base {base.median('wall'):.2f} s wall / {base.median('cpu'):.2f} s CPU / "
              f"{base.median('rss_mb'):.0f} MB / {base.median('http'):g} HTTP; new {new.median('wall'):.2f} s / "
              f"{new.median('cpu'):.2f} s / {new.median('rss_mb'):.0f} MB / {new.median('http'):g} HTTP; "
              f"new/base wall {ratio:.2f}")


if __name__ == "__main__":
    main()
