"""`auditor demo-snapshot`: the demo tenant's snapshot as a file, for a newcomer to try `scan --snapshot` on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo_snapshot(
    out: Annotated[Path, typer.Option("--out", help="Snapshot file to write (JSON).")] = Path("demo-snapshot.json"),
) -> None:
    """Write the demo tenant's snapshot (the one 'scan --demo' reads), to try 'scan --snapshot' on.

    Example:

      auditor demo-snapshot --out demo.json && auditor scan --snapshot demo.json
    """
    from auditor.model.output import write_atomic
    from auditor.model.resources import DEMO_SNAPSHOT

    write_atomic(out, DEMO_SNAPSHOT.read_bytes())
    typer.echo(f"Demo snapshot written to {out}")
