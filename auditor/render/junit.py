"""`report.junit.xml`: the findings as JUnit test results, for the test views of Azure DevOps and GitHub.

One test suite per scan, one test case per rule: `classname` is the rule's category, `name` its id and
title. A failing rule is a `<failure>` (message, evidence and remediation), an `error` finding an
`<error>`, a not-applicable rule `<skipped>`; a failure under an unexpired risk acceptance is
`<skipped>` too, with the acceptance as the message, since it does not fail the scan either.

Tenant strings are untrusted: ElementTree escapes markup, and characters XML 1.0 cannot carry at all
(NUL, terminal escapes, lone surrogates) are replaced, so the file always parses.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import timezone

from auditor.result import Finding, Result, Status

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: _xml(value) for key, value in attributes.items()})
    if text is not None:
        element.text = _xml(text)
    return element


def _details(finding: Finding) -> str:
    evidence = json.dumps(finding.evidence, indent=2, ensure_ascii=False, default=str)
    return f"{finding.message}\n\nEvidence:\n{evidence}\n\nRemediation:\n{finding.remediation}\n"


def _outcome(case: ET.Element, finding: Finding) -> None:
    accepted = finding.accepted
    if finding.waived and accepted:
        note = f"Accepted risk until {accepted.expires} ({accepted.owner}): {accepted.reason}"
        _element(case, "skipped", message=note)
    elif finding.status is Status.FAIL:
        expired = f" Risk acceptance expired on {accepted.expires}." if accepted else ""
        _element(case, "failure", _details(finding), message=finding.message + expired, type=finding.severity.value)
    elif finding.status is Status.ERROR:
        _element(case, "error", _details(finding), message=finding.message, type="not-evaluated")
    elif finding.status is Status.NOT_APPLICABLE:
        _element(case, "skipped", message=finding.message)


def render_junit(result: Result) -> bytes:
    findings = result.findings
    waived = sum(f.waived for f in findings)
    counts = {
        "tests": str(len(findings)),
        "failures": str(result.summary.fail - waived),
        "errors": str(result.summary.error),
        "skipped": str(result.summary.not_applicable + waived),
        "time": "0",
    }
    suites = ET.Element("testsuites", {"name": "auditor", **counts})
    tenant = result.tenant.display_name or result.tenant.id
    generated = result.generated_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    suite = _element(suites, "testsuite", name=f"{result.rule_pack.id}: {tenant}", timestamp=generated, **counts)
    properties = _element(suite, "properties")
    for name, value in (
        ("tenant.id", result.tenant.id),
        ("tenant.name", result.tenant.display_name),
        ("verdict", result.verdict.value),
        ("score", f"{result.summary.score:g}"),
        ("rule_pack", f"{result.rule_pack.id} {result.rule_pack.version}"),
        ("collected_at", result.collected_at.astimezone(timezone.utc).isoformat()),
    ):
        _element(properties, "property", name=name, value=value)
    for finding in findings:
        case = _element(suite, "testcase", classname=finding.category, name=f"{finding.rule_id} {finding.title}",
                        time="0")
        _outcome(case, finding)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"
