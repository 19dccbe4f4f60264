"""Reading a snapshot file: the document checked as a Snapshot, then each source's shape (the
properties the rules read), so that a recorded answer is trusted no more than a live one."""

from __future__ import annotations

from pathlib import Path

from auditor.model.documents import parse_document
from auditor.model.errors import read_input
from auditor.model.shapes import checked
from auditor.model.snapshot import SNAPSHOT_FORMAT, SNAPSHOT_SCHEMA_VERSION, Snapshot


def parse_snapshot(text: str, origin: str = "snapshot") -> Snapshot:
    """Parse and validate a snapshot; any problem is one InputError line naming `origin`. A source whose
    data lacks what the rules read is `error` (auditor.model.shapes)."""
    return checked(parse_document(
        text,
        origin,
        Snapshot,
        kind="snapshot",
        schema_version=SNAPSHOT_SCHEMA_VERSION,
        recognise=lambda raw: raw.get("format") == SNAPSHOT_FORMAT,
        expected=f'"format": "{SNAPSHOT_FORMAT}"',
    ))


def load_snapshot(path: Path) -> Snapshot:
    return parse_snapshot(read_input(path, "snapshot file"), origin=str(path))
