"""Errors the CLI turns into one line on stderr and a documented exit code (DESIGN §6)."""

from __future__ import annotations

import re
import threading
from enum import IntEnum
from functools import cache
from pathlib import Path

# Control characters (newlines, terminal escapes), bidi overrides and Unicode line separators in a
# message, e.g. from a hostile file or tenant.
_BIDI_AND_SEPARATORS = "\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_CONTROL_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")  # tab and newline kept
REDACTED = "<redacted>"
_MIN_SECRET = 8  # shorter values would redact ordinary words ("token", "secret")
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def remember_secret(value: str) -> None:
    """Note a client secret, certificate password or token the process holds: `redact` removes it from
    every error message and log line, whatever library put it there."""
    if len(value) >= _MIN_SECRET:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """`text` without any remembered secret (longest first, so that no part of one survives)."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, REDACTED)
    return text


def safe_text(text: str, *, keep_lines: bool = False) -> str:
    """`text` without secrets, its control characters escaped: one line, or lines with `keep_lines`."""
    control = _CONTROL_BUT_LINES if keep_lines else _CONTROL
    return control.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                       redact(text))


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3


class AuditorError(Exception):
    """An expected failure: shown as one line, without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(safe_text(message))


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
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: cannot read {what}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}, "
            "e.g. a Windows code page such as cp1252); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None


def parse_yaml(text: str, origin: str, what: str) -> object:
    """Parse YAML input; a syntax error is an InputError naming the file, the kind of file and the line."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # a SafeLoader that refuses aliases
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        if getattr(exc, "problem", None) == _NO_ALIASES:
            raise InputError(f"{origin}: {what} uses a YAML alias (*name){where}: aliases are not allowed") from None
        raise InputError(f"{origin}: {what} is not valid YAML{where}") from None
    except RecursionError:
        raise InputError(f"{origin}: {what} is not valid YAML (nested too deeply)") from None


_NO_ALIASES = "aliases are not allowed"


@cache
def _loader() -> type:
    """PyYAML's SafeLoader refusing aliases (`*name`, `<<: *name`): a few hundred kB of nested aliases
    expand to gigabytes ("billion laughs"); rule packs and exceptions files have no need for them."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: object, index: object) -> object:
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(None, None, _NO_ALIASES, self.peek_event().start_mark)
            return super().compose_node(parent, index)

    return NoAliasLoader
