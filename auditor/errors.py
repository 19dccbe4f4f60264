"""Errors the CLI turns into one line on stderr and a documented exit code (DESIGN §6)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3


class AuditorError(Exception):
    """An expected failure: the message is shown as is, without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE


class InputError(AuditorError):
    """A bad option, or an unreadable or malformed snapshot, rule pack or other input file."""

    exit_code = ExitCode.USAGE


class CollectionError(AuditorError):
    """Collection could not run: authentication failed, Graph unreachable, and the like."""

    exit_code = ExitCode.INCOMPLETE
