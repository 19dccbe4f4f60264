"""Errors the CLI turns into one line on stderr and a documented exit code (DESIGN §6)."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable
from enum import IntEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

# Control characters (newlines, terminal escapes), bidi overrides and Unicode line separators in a
# message, e.g. from a hostile file or tenant.
_BIDI_AND_SEPARATORS = "\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_CONTROL_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")  # tab and newline kept
REDACTED = "<redacted>"
_MIN_SECRET = 8  # shorter values would redact ordinary words ("token", "secret")
_secrets: frozenset[str] = frozenset()  # every form of every secret the process holds
_secrets_lock = threading.Lock()
_remembered: set[str] = set()  # the secrets as given: a fleet names the same ones again for each tenant


def remember_secret(value: str | None, minimum: int = _MIN_SECRET) -> None:
    """Note a client secret, certificate password, token or database password the process holds: `redact`
    removes it from every error message, log line and output file, whatever library put it there."""
    global _secrets
    if value and len(value) >= minimum and value not in _remembered:
        forms = _forms(value)
        with _secrets_lock:
            _remembered.add(value)
            _secrets = _secrets | forms


# Environment variables that hold secrets the process may use: sign-in secrets, tokens, the database password.
SECRET_ENV_NAMES = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD",
                    "AUDITOR_ACCESS_TOKEN", "PGPASSWORD")
TOKEN_ENV_PREFIX = "AUDITOR_TOKEN_"  # a fleet row's token_env names one of these


_PROXY_ENV_NAMES = ("https_proxy", "http_proxy", "all_proxy")  # any case


def remember_environment_secrets() -> None:
    """Remember the secrets the environment hands the process, before any command runs."""
    for name, value in os.environ.items():
        if name in SECRET_ENV_NAMES or name.startswith(TOKEN_ENV_PREFIX):
            remember_secret(value.strip())
        elif name.lower() in _PROXY_ENV_NAMES:
            _remember_proxy_credentials(value.strip())


def _remember_proxy_credentials(url: str) -> None:
    """A proxy URL's `user:password` (as written and decoded), and its password: libraries quote the URL in
    their errors (a sign-in through a malformed proxy URL did), and the user name is not to be shown either."""
    from urllib.parse import unquote

    # Cut by hand, not with urlsplit: the malformed URLs (a bad port, a broken IPv6 address) it refuses are
    # the very ones a library quotes back in its error.
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    userinfo, at, _ = authority.rpartition("@")
    if not (at and userinfo):
        return
    for form in {userinfo, unquote(userinfo)}:
        remember_secret(form, minimum=1)  # short, but never ordinary text: it holds the password
        _, colon, password = form.partition(":")
        if colon:
            remember_secret(password)


def _forms(secret: str) -> set[str]:
    """How a secret may appear in an output: as is, percent-encoded (a URL, either hex case), and escaped
    inside JSON (also as Jinja's `tojson` writes it), HTML or XML."""
    from html import escape
    from urllib.parse import quote, quote_plus

    from markupsafe import escape as jinja_escape

    encoded = quote(secret, safe="")
    as_json = json.dumps(secret)[1:-1]
    forms = {secret, encoded, re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), encoded),
             quote_plus(secret, safe=""), as_json, json.dumps(secret, ensure_ascii=False)[1:-1],
             escape(secret), escape(secret, quote=False), str(jinja_escape(secret))}
    forms.add(as_json.translate({ord(c): f"\\u{ord(c):04x}" for c in "<>&'"}))
    return forms


@lru_cache(maxsize=1)
def _matcher(secrets: frozenset[str]) -> Any:
    """An Aho-Corasick automaton of the secrets' forms: one pass over a text whatever their number (a fleet
    remembers a token per tenant: thousands of forms, which one `str.replace` each would make quadratic)."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for secret in secrets:
        automaton.add_word(secret, len(secret))
    automaton.make_automaton()
    return automaton


def redact(text: str) -> str:
    """`text` without any remembered secret, in any of its forms (the longest form wherever several overlap)."""
    secrets = _secrets
    if not secrets:
        return text
    pieces: list[str] = []
    start = 0
    for end, length in _matcher(secrets).iter_long(text):
        pieces += [text[start:end - length + 1], REDACTED]
        start = end + 1
    if not pieces:
        return text
    pieces.append(text[start:])
    return "".join(pieces)


def redact_data(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings, nested) with `redact` applied to every string in it, keys too."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(key): redact_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(item) for item in value]
    return value


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
    NOT_RECORDED = 4  # the reports were written, the run could not be stored in --history


# Precedence, least severe first: 2 > 4 > 3 > 1 > 0 (a run whose history is missing must not pass as merely
# incomplete; nothing outranks "nothing was written").
EXIT_PRECEDENCE = (ExitCode.OK, ExitCode.FINDINGS, ExitCode.INCOMPLETE, ExitCode.NOT_RECORDED, ExitCode.USAGE)


def worst_exit(codes: Iterable[ExitCode]) -> ExitCode:
    return max(codes, key=EXIT_PRECEDENCE.index, default=ExitCode.OK)


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
    """Parse YAML input; a syntax error is an InputError naming the file, the kind of file and the line.

    Aliases (`*name`, `<<: *name`) are refused before anything is built: a few hundred kB of nested aliases
    expand to gigabytes ("billion laughs"), and rule packs and exceptions files have no need for them.
    PyYAML's C parser (libyaml), when there, reads the default rule pack in 5 ms instead of 90 ms; invalid
    YAML is read again by the pure-Python parser, whose error names the line (libyaml's may name the end)."""
    import yaml

    try:
        return _load_yaml(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader), origin, what)
    except (yaml.YAMLError, RecursionError):
        pass
    try:
        return _load_yaml(text, yaml.SafeLoader, origin, what)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InputError(f"{origin}: {what} is not valid YAML{where}") from None
    except RecursionError:
        raise InputError(f"{origin}: {what} is not valid YAML (nested too deeply)") from None


def _load_yaml(text: str, loader: type, origin: str, what: str) -> object:
    import yaml

    alias = next((event for event in yaml.parse(text, Loader=loader) if isinstance(event, yaml.AliasEvent)), None)
    if alias is not None:
        raise InputError(f"{origin}: {what} uses a YAML alias (*name) at line {alias.start_mark.line + 1}: "
                         "aliases are not allowed")
    return yaml.load(text, Loader=loader)
