"""TENANTS.csv for `auditor fleet` (issue 5, contract): one tenant per row, each checked before anything runs.

A header row names the columns (any order, all optional); each row needs a `tenant_id` or a
`graph_url`. Cells are separated by `,`, `;` (European Excel) or tab, seen from the header row or
from Excel's `sep=;` first line; the file is UTF-8, with or without a BOM. Empty cells take the
command-line value. Any problem is one InputError naming the row
(rows are numbered as a spreadsheet shows them: the header is row 1), and nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from auditor.collect.clouds import resolve_endpoints
from auditor.collect.options import AuthMode, Cloud, LiveOptions
from auditor.evaluate.reviewer_query import is_guid
from auditor.model.errors import TOKEN_ENV_PREFIX, InputError, read_input
from auditor.model.output import MANIFEST

COLUMNS = ("name", "tenant_id", "auth", "client_id", "certificate", "cloud", "graph_url", "app_id", "token_env")
# The fleet's own files sit beside the tenant folders: no tenant may take their names.
FLEET_FILES = ("fleet.json", "fleet.html", "fleet.xlsx")
# Names Windows will not open as a folder, whatever the extension.
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(1, 10))}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# A row may point `token_env` only at variables meant for tokens: never at AZURE_CLIENT_SECRET, PGPASSWORD, ...,
# whose value would then go to the row's graph_url as a bearer token.
_TOKEN_ENV_NAME = re.compile(rf"^(?:AUDITOR_ACCESS_TOKEN|{TOKEN_ENV_PREFIX}[A-Za-z0-9_]+)$")
MAX_FOLDER = 100
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class TenantRow:
    """One tenant to scan: its live options (the command line's, overridden by the row) and its folder."""

    row: int  # spreadsheet row number (the header is row 1)
    name: str | None
    tenant_id: str | None
    folder: str  # the `DIR/<folder>/` the tenant's reports go to
    live: LiveOptions
    app_id: str | None


def folder_name(text: str) -> str:
    """`text` reduced to ASCII letters, digits, `.`, `_` and `-` (accents dropped, not the letter), without
    leading or trailing dots: never a path, never hidden. Empty when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _UNSAFE.sub("", ascii_text).strip(".")[:MAX_FOLDER]


def _choice(enum: type[Enum], column: str, value: str, where: str) -> Enum:
    try:
        return enum(value.lower())
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InputError(f"{where}: unknown {column} {value!r} (choose from {choices})") from None


def _dialect(text: str) -> tuple[str, str, int]:
    """The text below Excel's `sep=X` line if any, its delimiter (that line's, else sniffed from the header
    among `,` `;` and tab, else `,`), and the number of lines skipped."""
    first, _, rest = text.partition("\n")
    first = first.rstrip("\r")
    if len(first) == 5 and first[:4].lower() == "sep=":
        return rest, first[4], 1
    try:
        return text, csv.Sniffer().sniff(first, delimiters=",;\t").delimiter, 0
    except csv.Error:  # a single column: no delimiter to see
        return text, ",", 0


def _header(cells: list[str], where: str, delimiter: str) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    read_as = f"read as {_DELIMITERS.get(delimiter, repr(delimiter))}-separated UTF-8; columns: {', '.join(COLUMNS)}"
    for number, name in enumerate(names, start=1):
        if not name:
            raise InputError(f"{where}: column {number} has no name ({read_as})")
        if name not in COLUMNS:
            raise InputError(f"{where}: unknown column {name!r} ({read_as})")
        if names.count(name) > 1:
            raise InputError(f"{where}: column {name!r} appears twice")
    return names


def _tenant(path: Path, number: int, values: dict[str, str], defaults: LiveOptions, app_id: str | None) -> TenantRow:
    where = f"{path} row {number}"
    if not (values.get("tenant_id") or values.get("graph_url")):
        raise InputError(f"{where}: give a tenant_id or a graph_url")
    overrides: dict[str, object] = {key: values[key] for key in ("tenant_id", "client_id", "graph_url", "token_env")
                                    if key in values}
    if "auth" in values:
        overrides["auth"] = _choice(AuthMode, "auth", values["auth"], where)
    if "cloud" in values:
        overrides["cloud"] = _choice(Cloud, "cloud", values["cloud"], where)
    if "certificate" in values:
        overrides["certificate"] = path.parent / values["certificate"]  # relative to the tenants file
    live = replace(defaults, **overrides)
    if "token_env" in values:
        if not _TOKEN_ENV_NAME.match(live.token_env):
            raise InputError(f"{where}: token_env {live.token_env!r}: name AUDITOR_ACCESS_TOKEN or a variable "
                             f"whose name starts with {TOKEN_ENV_PREFIX} (then letters, digits, _)")
        if live.auth is not AuthMode.TOKEN:
            raise InputError(f"{where}: token_env goes with auth token (this row signs in with {live.auth.value})")
    try:
        resolve_endpoints(live)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    row_app_id = values.get("app_id", app_id)
    if row_app_id is not None and not is_guid(row_app_id):
        raise InputError(f"{where}: app_id {row_app_id!r} is not a GUID (the application's client id)")
    name, tenant_id = values.get("name"), values.get("tenant_id")
    label = name or tenant_id or ""
    folder = folder_name(label)
    if not folder:
        what = f"name {label!r}" if label else "a row without name or tenant_id"
        raise InputError(f"{where}: {what} leaves no folder name (letters, digits, '.', '_', '-'): give a name")
    if folder.lower() in (*FLEET_FILES, MANIFEST) or folder.split(".")[0].lower() in _WINDOWS_DEVICES:
        raise InputError(f"{where}: {folder!r} cannot be a tenant's folder name: give another name")
    return TenantRow(number, name, tenant_id, folder, live, row_app_id.lower() if row_app_id else None)


def load_tenants(path: Path, defaults: LiveOptions, app_id: str | None = None) -> list[TenantRow]:
    """Every tenant of the file, in file order, with the command line's `defaults` under its empty cells."""
    text = read_input(path, "tenants file").removeprefix("\ufeff")  # spreadsheets often save a BOM
    text, delimiter, number = _dialect(text)
    header: list[str] | None = None
    tenants: list[TenantRow] = []
    try:
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            number += 1
            if header is None:
                header = _header(cells, f"{path} row {number}", delimiter) if cells else None
                continue
            if len(cells) > len(header):
                raise InputError(f"{path} row {number}: {len(cells)} values but {len(header)} columns")
            values = {key: cell.strip() for key, cell in zip(header, cells, strict=False) if cell.strip()}
            if values:  # blank lines and rows of empty cells are skipped
                tenants.append(_tenant(path, number, values, defaults, app_id))
    except csv.Error as exc:
        raise InputError(f"{path} row {number + 1}: not valid CSV ({exc})") from None
    if header is None:
        raise InputError(f"{path}: empty tenants file (expected a header row: {', '.join(COLUMNS)})")
    if not tenants:
        raise InputError(f"{path}: no tenants below the header row")
    _check_folders(path, tenants)
    return tenants


def _check_folders(path: Path, tenants: list[TenantRow]) -> None:
    """Two rows writing to one folder would overwrite each other's reports (case-insensitive file systems too)."""
    seen: dict[str, TenantRow] = {}
    for tenant in tenants:
        first = seen.setdefault(tenant.folder.lower(), tenant)
        if first is not tenant:
            raise InputError(f"{path} rows {first.row} and {tenant.row} both write to folder {tenant.folder!r}: "
                             "give them distinct names")
