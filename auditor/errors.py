"""Errors the CLI turns into one line on stderr and a documented exit code (DESIGN §6)."""

from __future__ import annotations

import re
from enum import IntEnum
from pathlib import Path

# Control characters (newlines, terminal escapes) in a message, e.g. from a hostile file or tenant.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3


class AuditorError(Exception):
    """An expected failure: shown as one line, without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", message))


class InputError(AuditorError):
    """A bad option, or an unreadable or malformed snapshot, rule pack or other input file."""

    exit_code = ExitCode.USAGE


class CollectionError(AuditorError):
    """Collection could not run: authentication failed, Graph unreachable, and the like."""

    exit_code = ExitCode.INCOMPLETE


def read_input(path: Path, what: str) -> str:
    """Read a UTF-8 input file; a missing or unreadable one is an InputError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a {what}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: cannot read {what} (not UTF-8 text)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None


def parse_yaml(text: str, origin: str, what: str) -> object:
    """Parse YAML input; a syntax error is an InputError naming the file, the kind of file and the line."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InputError(f"{origin}: {what} is not valid YAML{where}") from None
    except RecursionError:
        raise InputError(f"{origin}: {what} is not valid YAML (nested too deeply)") from None
