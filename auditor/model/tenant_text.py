"""Text from the tenant is data, whatever its code points (issue 11).

Two rules, applied where text comes in and where it goes to a terminal:
- on the way in (Graph answers, snapshot and result files), a lone surrogate (`"\\ud800"` in JSON, which
  no UTF-8 output can hold) becomes U+FFFD, so every output (JSON, HTML, Excel, history) writes the
  same text; NUL, bidi and other control characters are kept as data (each renderer escapes them);
- on the way to a terminal or CI log, control and format characters (escape sequences, CR/LF, bidi
  overrides, line separators) become U+FFFD: a tenant named `\\n::error::…` writes no line of its own.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins valid pairs: any left is alone
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_IN_JSON_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")  # escaped, or raw (surrogatepass)
_NOT_FOR_TERMINALS = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def may_hold_lone_surrogates(json_text: str | bytes) -> bool:
    """Whether JSON text may hold a surrogate (`\\ud800`): a cheap test before walking a large document."""
    if isinstance(json_text, bytes):  # json.loads decodes bytes with "surrogatepass"
        return _SURROGATE_IN_JSON_BYTES.search(json_text) is not None
    return _ESCAPED_SURROGATE.search(json_text) is not None


def without_lone_surrogates(value: Any) -> Any:
    """Parsed JSON with every lone surrogate in its strings (keys included) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(key): without_lone_surrogates(item) for key, item in value.items()}
    return value


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")  # \s: Unicode whitespace, as str.isspace() tells it


def has_space_or_control(text: str) -> bool:
    """Whether `text` holds whitespace or a C0 control character: never in a URL taken as a link or proxy."""
    return _SPACE_OR_CONTROL.search(text) is not None


def printable(text: str) -> str:
    """`text` as one inert line for a terminal: control, format and separator characters replaced."""
    return "".join("\ufffd" if unicodedata.category(char) in _NOT_FOR_TERMINALS else char for char in text)
