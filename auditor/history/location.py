"""Where the history lives: a `--history` value turned into a SQLAlchemy URL, and a label safe to print.

The URL may hold a database password: it is never printed back. Messages name the history by its
label, the file path or the URL with the password replaced by `***`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from auditor.errors import InputError

# The PostgreSQL driver the package depends on (psycopg 3); SQLAlchemy's default would be psycopg2.
POSTGRES_DRIVER = "postgresql+psycopg"
_POSTGRES_NAMES = ("postgresql", "postgres", POSTGRES_DRIVER)
_SQLITE_NAMES = ("sqlite", "sqlite+pysqlite")
_PASSWORD_IN_AUTHORITY = re.compile(r"(://[^:/@?#]*):[^@/?#]*@")
_PASSWORD_IN_QUERY = re.compile(r"(?i)(password=)[^&]*")


class HistoryError(InputError):
    """The history cannot be opened, read or written (exit 2)."""


def redact(text: str) -> str:
    """The text with any password in a database URL replaced by `***`."""
    return _PASSWORD_IN_QUERY.sub(r"\1***", _PASSWORD_IN_AUTHORITY.sub(r"\1:***@", text))


@dataclass(frozen=True)
class HistoryLocation:
    url: URL
    label: str  # safe to print
    sqlite_file: Path | None  # the database file, for SQLite on disk

    @property
    def is_postgres(self) -> bool:
        return self.url.drivername == POSTGRES_DRIVER

    def scrub(self, message: str) -> str:
        """A driver's message with this URL's password removed, should the driver have echoed it."""
        password = self.url.password
        message = redact(message)
        return message.replace(str(password), "***") if password else message


def locate(value: str) -> HistoryLocation:
    """`PATH`, `sqlite:///PATH` or `postgresql://user@host/db` → where the history lives."""
    if "://" not in value:
        path = Path(value).expanduser()
        return HistoryLocation(URL.create("sqlite", database=str(path)), str(path), path)
    label = redact(value)
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise HistoryError(f"history URL {label!r} is not a valid database URL") from None
    if url.drivername in _POSTGRES_NAMES:
        return HistoryLocation(url.set(drivername=POSTGRES_DRIVER), label, None)
    if url.drivername in _SQLITE_NAMES:
        database = url.database
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        return HistoryLocation(url, label, Path(database) if on_disk else None)
    raise HistoryError(
        f"history URL {label!r}: unsupported database {url.drivername!r}; use a file path, "
        "sqlite:///PATH or postgresql://USER@HOST/DB"
    )
