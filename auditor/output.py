"""Write a run's files all-or-nothing.

Everything is rendered in memory first; then each file goes to a temporary file beside its target
(mode 0600: reports describe a tenant's security), and only when all are written are they renamed
into place. Files of a format an earlier run wrote but this run did not ask for are removed, so an
output folder never mixes two runs. Files the tool did not write are never touched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from auditor.errors import AuditorError, ExitCode

# Every file name `auditor scan` may write into its --out folder.
REPORT_FILES = ("report.html", "report.xlsx", "result.json", "report.junit.xml")


class OutputError(AuditorError):
    exit_code = ExitCode.USAGE


def write_atomic(path: Path, content: bytes) -> None:
    """Write one file atomically with mode 0600."""
    write_all(path.parent, {path.name: content}, stale=())


def write_all(folder: Path, files: dict[str, bytes], stale: tuple[str, ...] = REPORT_FILES) -> None:
    """Write `files` (name → content) into `folder` together, then remove the `stale` names not written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create output folder ({exc.strerror or exc})") from None
    temporaries: dict[str, str] = {}
    try:
        for name, content in files.items():
            fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            temporaries[name] = temporary
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
        for name, temporary in temporaries.items():
            os.replace(temporary, folder / name)
    except OSError as exc:
        for temporary in temporaries.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        raise OutputError(f"{folder}: cannot write output ({exc.strerror or exc})") from None
    for name in stale:
        if name not in files:
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
