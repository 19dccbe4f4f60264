"""Locate the files shipped beside the code: rule packs, report templates, the demo tenant.

A wheel carries `rules/` and `reports/` inside the package (see pyproject.toml); a source checkout
or editable install has them at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the auditor package (this file is in auditor/model/)


def _shipped(name: str) -> Path:
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _PACKAGE.parent / name


RULES_DIR = _shipped("rules")
REPORTS_DIR = _shipped("reports")
DEFAULT_RULE_PACK = RULES_DIR / "hd-meeting.yaml"
DEMO_SNAPSHOT = _PACKAGE / "demo" / "contoso-demo.json"
