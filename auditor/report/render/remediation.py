"""A rule's remediation text, split into what the HTML report shows: steps, notes and copyable commands.

The rule pack writes remediation as plain text (see `Remediation.as_text`): hard-wrapped portal steps
("1. Sign in ...", continuation lines indented), then "Microsoft Graph:" and "Microsoft Graph
PowerShell:" sections where requests and cmdlets are mixed with short explanations. Only the
commands go into copyable blocks, so that "Copy" gives something that runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SECTION_LABELS = ("Microsoft Graph PowerShell", "Microsoft Graph", "Azure CLI", "PowerShell")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
LIST_ITEM = re.compile(r"[ \t]*(\d+[.)]|[-*\u2022])[ \t]+")
REQUEST = re.compile(r"(GET|POST|PUT|PATCH|DELETE)[ \t]+(https?://|/)")
# A paragraph is a command when it starts like one: a request, a JSON body, a PowerShell variable,
# comment, hashtable or Verb-Noun cmdlet, or an az command.
COMMAND = re.compile(r"""(GET|POST|PUT|PATCH|DELETE)[ \t]+(https?://|/)|[{\[$#]|@\{|[A-Z][a-z]+-[A-Z]\w+|az[ \t]""")


@dataclass(frozen=True)
class Block:
    kind: str  # steps (numbered) | bullets | text | note | code
    text: str = ""
    label: str = ""  # the section a command belongs to, e.g. "Microsoft Graph"
    items: list[str] = field(default_factory=list)


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """Paragraphs grouped under their section label; the portal steps come first, under ""."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for paragraph in PARAGRAPH_BREAK.split(text.strip()):
        first, _, rest = paragraph.partition("\n")
        label = first.strip().removesuffix(":")
        if first.strip().endswith(":") and label in SECTION_LABELS:
            sections.append((label, [rest] if rest.strip() else []))
        else:
            sections[-1][1].append(paragraph)
    return sections


def _prose(text: str) -> list[Block]:
    """Lists with each item's hard-wrapped continuation lines joined, and reflowed plain paragraphs.

    Consecutive items form one list even across blank lines; a blank line ends a plain paragraph.
    """
    groups: list[tuple[str, list[str]]] = []  # (steps | bullets | text, lines)
    fresh = True  # at the start of a paragraph
    for line in text.splitlines():
        if not line.strip():
            fresh = True
            continue
        item = LIST_ITEM.match(line)
        previous = groups[-1][0] if groups else None
        if item:
            groups.append(("steps" if item.group(1)[0].isdigit() else "bullets", [line[item.end():].strip()]))
        elif previous and ((line[:1].isspace() and previous != "text") or (previous == "text" and not fresh)):
            groups[-1][1].append(line.strip())
        else:
            groups.append(("text", [line.strip()]))
        fresh = False
    blocks: list[Block] = []
    for kind, lines in groups:
        sentence = " ".join(lines)
        if kind == "text":
            blocks.append(Block("text", sentence))
        elif blocks and blocks[-1].kind == kind:
            blocks[-1].items.append(sentence)
        else:
            blocks.append(Block(kind, items=[sentence]))
    return blocks


def _reflow(note: str) -> str:
    """Join hard-wrapped lines, but keep a command quoted inside a note on a line of its own."""
    lines: list[str] = []
    for line in (raw.strip() for raw in note.splitlines()):
        if lines and line and not COMMAND.match(line) and not COMMAND.match(lines[-1]):
            lines[-1] += " " + line
        elif line:
            lines.append(line)
    return "\n".join(lines)


def _commands(label: str, paragraphs: list[str]) -> list[Block]:
    """Commands as code blocks: a request body or a script's next paragraph stays with what it belongs to;
    explanations between them become notes."""
    blocks: list[Block] = []
    for paragraph in paragraphs:
        body = paragraph.strip("\n")
        start = body.lstrip()
        if not start:
            continue
        if not COMMAND.match(start):
            blocks.append(Block("note", _reflow(body), label))
        elif blocks and blocks[-1].kind == "code" and not REQUEST.match(start):
            last = blocks.pop()
            blocks.append(Block("code", f"{last.text}\n\n{body}", label))
        else:
            blocks.append(Block("code", body, label))
    return blocks


def remediation_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    for label, paragraphs in _sections(text):
        blocks += _commands(label, paragraphs) if label else _prose("\n\n".join(paragraphs))
    return blocks
