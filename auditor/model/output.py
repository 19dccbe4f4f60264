"""Write a run's files as one coherent set, private, and never remove a file this tool did not write.

A run's files are rendered in memory, then written into a private staging folder inside the output folder
(`.auditor-run-*.tmp`, mode 0700, files 0600), and published:

1. the staging folder notes the files of the run being replaced (`previous.json`: publishing has begun);
2. the folder's manifest (`auditor-manifest.json`) is removed: from here on the folder claims no set;
3. the new files are renamed into place;
4. the previous run's files that this run did not write are removed, each only if it still holds exactly
   what that run wrote (the manifest keeps every file's SHA-256): never a file the user put or changed;
5. the new manifest, naming the run's id and files, is renamed into place last; the staging folder goes.

So while the manifest is there, the files it names are one run's. A run that dies during 2–5 is finished
by the next run writing to the folder (every step can be repeated); one that dies before 1 leaves a
staging folder that the next run removes. Runs into one folder take turns (an advisory lock on it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.model.errors import AuditorError, ExitCode, redact

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs into one folder are then not made to take turns
    fcntl = None  # type: ignore[assignment]

MANIFEST = "auditor-manifest.json"
MANIFEST_FORMAT = "auditor-output"
MANIFEST_SCHEMA_VERSION = 1
STAGING_PREFIX, STAGING_SUFFIX = ".auditor-run-", ".tmp"
_PREVIOUS = "previous.json"  # in a staging folder: the replaced run's files; present once publishing began
_BINARY = (".xlsx",)  # redacted cell by cell when rendered (a zip cannot be searched as text)


class OutputError(AuditorError):
    exit_code = ExitCode.USAGE


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents with mode 0700, whatever the umask (OSError if it cannot);
    existing folders are left as they are."""
    missing: list[Path] = []
    current = folder
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            if path.is_dir():  # another run created it at the same time
                continue
            raise
        os.chmod(path, 0o700)


def _output_folder(folder: Path) -> None:
    try:
        make_private_dirs(folder)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(f"{folder}: cannot create output folder (a file is in the way: it or a folder above "
                          "it is a file, not a folder)") from None
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create output folder ({exc.strerror or exc})") from None


def _redacted(name: str, content: bytes) -> bytes:
    """The last redaction pass: no secret the process holds, in any of its forms, leaves in a text file."""
    if name.endswith(_BINARY):
        return content
    return redact(content.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


def _write_private(path: Path, content: bytes) -> None:
    """A new file with mode 0600 (whatever the umask), its content flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, content: bytes) -> None:
    """Write one file (a snapshot) atomically with mode 0600: a temporary file beside it, then a rename. The
    temporary files of earlier writes of that file that died are removed first."""
    _output_folder(path.parent)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    leftover = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{12}}\.tmp")
    try:
        with _turn(path.parent):
            for stale in path.parent.iterdir():
                if leftover.fullmatch(stale.name) and stale.is_file() and not stale.is_symlink():
                    stale.unlink()
            _write_private(temporary, _redacted(path.name, content))
            os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OutputError(f"{path.parent}: cannot write output ({exc.strerror or exc})") from None


def write_all(folder: Path, files: Mapping[str, bytes | Callable[[], bytes]]) -> str:
    """Publish `files` (name → content, or a function making it) into `folder` as one run (module docstring);
    returns the run's id. Contents made by functions are made one at a time, each written and let go
    before the next is made (a 10,000-tenant fleet's pages need not be in memory together)."""
    _output_folder(folder)
    try:
        with _turn(folder):
            for leftover in _staging_folders(folder):
                _finish(folder, leftover)
            staging, run_id = _stage(folder, files)
            _publish(folder, staging)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write output ({exc.strerror or exc})") from None
    return run_id


@contextlib.contextmanager
def _turn(folder: Path) -> Iterator[None]:
    """Hold the folder's advisory lock: released by the system if the process dies."""
    if fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _staging_folders(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir()
            if path.name.startswith(STAGING_PREFIX) and path.name.endswith(STAGING_SUFFIX)
            and path.is_dir() and not path.is_symlink()]


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _stage(folder: Path, files: Mapping[str, bytes | Callable[[], bytes]]) -> tuple[Path, str]:
    """Write the run's files and, last, its manifest into a new staging folder."""
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, suffix=STAGING_SUFFIX, dir=folder))
    run_id = uuid.uuid4().hex
    try:
        os.chmod(staging, 0o700)
        entries = []
        for name, content in files.items():
            data = _redacted(name, content() if callable(content) else content)
            _write_private(staging / name, data)
            entries.append({"name": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
        manifest = {
            "format": MANIFEST_FORMAT,
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "run_id": run_id,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "tool": {"name": "auditor", "version": __version__},
            "files": entries,
        }
        _write_private(staging / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    except OSError:
        _discard(staging)
        raise
    return staging, run_id


def _entries(path: Path) -> list[dict[str, Any]]:
    """The files a manifest (or a staging folder's `previous.json`) names: plain names in this folder only."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = document.get("files") if isinstance(document, dict) else None
    return [entry for entry in entries or [] if isinstance(entry, dict) and _plain_name(entry.get("name"))
            and isinstance(entry.get("sha256"), str)]


def _plain_name(name: object) -> bool:
    return (isinstance(name, str) and name not in ("", MANIFEST) and not name.startswith(".")
            and "/" not in name and "\\" not in name and "\x00" not in name)


def _finish(folder: Path, leftover: Path) -> None:
    """What a run that died left behind: published to the end if it had begun publishing, else removed."""
    if (leftover / _PREVIOUS).is_file() and (leftover / MANIFEST).is_file():
        _publish(folder, leftover)
    else:
        _discard(leftover)


def _publish(folder: Path, staging: Path) -> None:
    """Steps 1–5 of the module docstring; each can be repeated, so that the next run can finish them."""
    previous = staging / _PREVIOUS
    if not previous.is_file():
        _write_private(previous, json.dumps({"files": _entries(folder / MANIFEST)}).encode())
    new = _entries(staging / MANIFEST)
    with contextlib.suppress(FileNotFoundError):
        (folder / MANIFEST).unlink()
    for entry in new:
        if (staging / entry["name"]).is_file():
            os.replace(staging / entry["name"], folder / entry["name"])
    written = {entry["name"] for entry in new}
    for entry in _entries(previous):
        stale = folder / entry["name"]
        unchanged = stale.is_file() and not stale.is_symlink() and _digest(stale) == entry["sha256"]
        if entry["name"] not in written and unchanged:  # still what that run wrote: not the user's
            stale.unlink()
    os.replace(staging / MANIFEST, folder / MANIFEST)
    _discard(staging)


def _discard(staging: Path) -> None:
    """Remove a staging folder: the files in it are the tool's own; anything else keeps the folder."""
    for path in staging.iterdir():
        if path.is_file() and not path.is_symlink():
            path.unlink()
    with contextlib.suppress(OSError):
        staging.rmdir()
