"""Values as plain text, the same in every report: evidence keys as labels ("Stale requests"), booleans
as yes/no, lists joined, evidence as readable "name: value" lines, remediation as steps and commands."""

from __future__ import annotations

import re
from typing import Any

from auditor.report.render.remediation import remediation_blocks

EVIDENCE_LIST_LIMIT = 25
ACRONYMS = {"id": "ID", "ids": "IDs", "url": "URL"}


def label(key: object) -> str:
    """`stale_requests` → "Stale requests"; Graph property names such as `isEnabled` stay as they are."""
    text = str(key)
    if not re.fullmatch(r"[a-z0-9_]+", text):
        return text
    words = [ACRONYMS.get(word, word) for word in text.split("_")]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def inline(value: Any) -> str:
    if value is None:
        return "\u2014"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{label(key)}: {inline(item)}" for key, item in value.items())
    if isinstance(value, list):
        return joined(value, ", ")
    return str(value)


def joined(values: list[Any], separator: str) -> str:
    shown = separator.join(inline(item) for item in values[:EVIDENCE_LIST_LIMIT])
    rest = len(values) - EVIDENCE_LIST_LIMIT
    return shown + (f"{separator}\u2026 and {rest} more" if rest > 0 else "")


def evidence_lines(evidence: dict[str, Any]) -> str:
    """Evidence as "Name: value" lines; a list of objects as one indented "• …" line per object."""
    lines: list[str] = []
    for key, value in evidence.items():
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            lines.append(f"{label(key)}:")
            lines += [f"  \u2022 {inline(item)}" for item in value[:EVIDENCE_LIST_LIMIT]]
            if len(value) > EVIDENCE_LIST_LIMIT:
                lines.append(f"  \u2026 and {len(value) - EVIDENCE_LIST_LIMIT} more")
        else:
            lines.append(f"{label(key)}: {inline(value) if value not in ([], {}) else 'none'}")
    return "\n".join(lines)


def remediation_parts(remediation: str) -> tuple[str, dict[str, str]]:
    """The portal steps, and the commands (with their notes) of each section: "Microsoft Graph", …"""
    steps: list[str] = []
    sections: dict[str, list[str]] = {}
    for block in remediation_blocks(remediation):
        if block.kind == "steps":
            steps += [f"{number}. {item}" for number, item in enumerate(block.items, start=1)]
        elif block.kind == "bullets":
            steps += [f"\u2022 {item}" for item in block.items]
        elif block.kind == "text":
            steps.append(block.text)
        else:
            sections.setdefault(block.label, []).append(block.text)
    return "\n".join(steps), {label: "\n\n".join(texts) for label, texts in sections.items()}
