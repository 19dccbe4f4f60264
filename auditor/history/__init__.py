"""History of scans (`--history URL`): every run stored through SQLAlchemy, in SQLite or PostgreSQL.

A plain path is an SQLite file (the embedded default); a `postgresql://` URL lets a team share one
history. Only the commands that use the history import this package (SQLAlchemy is slow to import).
"""

from auditor.history.location import HistoryError
from auditor.history.store import HistoryStore, RunSummary, open_history

__all__ = ["HistoryError", "HistoryStore", "RunSummary", "open_history"]
