"""Where the history lives: a `--history` value turned into a SQLAlchemy URL, and a label safe to print.

The URL may hold a database password: it is never printed back. Messages name the history by its
label: the file path, or the URL as SQLAlchemy renders it with the password hidden (`***`). The password
(and PGPASSWORD) join the secrets that every message and output is redacted of.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from auditor.model.errors import ExitCode, InputError, remember_secret

# The PostgreSQL driver the package depends on (psycopg 3); SQLAlchemy's default would be psycopg2.
POSTGRES_DRIVER = "postgresql+psycopg"
_POSTGRES_NAMES = ("postgresql", "postgres", POSTGRES_DRIVER)
_SQLITE_NAMES = ("sqlite", "sqlite+pysqlite")


class HistoryError(InputError):
    """The history cannot be opened or read (exit 2: checked before anything is written)."""


class HistoryNotRecorded(InputError):
    """The reports are written but the run could not be stored (exit 4)."""

    exit_code = ExitCode.NOT_RECORDED


class HistoryRefused(InputError):
    """The run is not stored because its tenant's identity is unknown (exit 3, as the run's own code)."""

    exit_code = ExitCode.INCOMPLETE


@dataclass(frozen=True)
class HistoryLocation:
    url: URL
    label: str  # safe to print
    sqlite_file: Path | None  # the database file, for SQLite on disk

    @property
    def is_postgres(self) -> bool:
        return self.url.drivername == POSTGRES_DRIVER


def _scheme(value: str) -> str:
    return value.split("://", 1)[0][:40]


def locate(value: str) -> HistoryLocation:
    """`PATH`, `sqlite:///PATH` or `postgresql://user@host/db` → where the history lives."""
    if "://" not in value:
        path = Path(value).expanduser()
        return HistoryLocation(URL.create("sqlite", database=str(path)), str(path), path)
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise HistoryError(f"history URL {_scheme(value)}://… is not a valid database URL") from None
    for password in (url.password, url.query.get("password")):
        remember_secret(password if isinstance(password, str) else None)
    if "@" in (url.host or ""):
        # user:p@ss@host reads as password "p" at host "ss@host": any rendering would show part of it.
        raise HistoryError(f"history URL {_scheme(value)}://…: its password holds a raw '@' "
                           "(write it as %40, or put the password in PGPASSWORD or ~/.pgpass)")
    label = url.difference_update_query(["password"]).render_as_string(hide_password=True)
    if url.drivername in _POSTGRES_NAMES:
        remember_secret(os.environ.get("PGPASSWORD"))
        return HistoryLocation(url.set(drivername=POSTGRES_DRIVER), label, None)
    if url.drivername in _SQLITE_NAMES:
        database = url.database
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        return HistoryLocation(url, label, Path(database) if on_disk else None)
    raise HistoryError(
        f"history URL {label!r}: unsupported database {url.drivername!r}; use a file path, "
        "sqlite:///PATH or postgresql://USER@HOST/DB"
    )
