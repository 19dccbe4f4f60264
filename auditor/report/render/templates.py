"""The reports' Jinja2 templates: one environment per process, and each template compiled once.

A cached loader does not stop threads that ask for a template at the same time from each compiling it:
a lock does. `prepare_renderers` compiles them before a fleet's workers are forked, so they inherit them.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from auditor.model.resources import REPORTS_DIR

_lock = threading.Lock()
_compiled: dict[str, Template] = {}


def when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(REPORTS_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package: no need to look at the file again each time
    )
    env.filters["when"] = when
    env.filters["thousands"] = lambda number: f"{number:,}"
    return env


_ENV = _environment()


def template(name: str) -> Template:
    """The template `reports/NAME`, compiled on first use (by one thread only) and kept for the process."""
    with _lock:
        if name not in _compiled:
            _compiled[name] = _ENV.get_template(name)
        return _compiled[name]
