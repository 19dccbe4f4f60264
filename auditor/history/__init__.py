"""History of scans (`--history URL`): every run stored through SQLAlchemy, in SQLite or PostgreSQL, and
drift between runs (`drift.py`).

A plain path is an SQLite file (the embedded default); a `postgresql://` URL lets a team share one
history. Nothing is imported here: SQLAlchemy is slow to import, and only the commands that use the
history import `store` and `location`.
"""
