"""`report.junit.xml`: the findings as JUnit test results, for the test views of Azure DevOps and GitHub.

One test suite per scan, one test case per rule: `classname` is the rule's category, `name` its id and
title. A failing rule is a `<failure>` (message, evidence and remediation), an `error` finding an
`<error>`, a not-applicable rule `<skipped>`; a failure under an unexpired risk acceptance is
`<skipped>` too, with the acceptance as the message, since it does not fail the scan either.

A second test suite holds one test case per consent path (DESIGN §5): an open path passes, an
unknown one is an `<error>`, a closed one a `<failure>` when no path is open (the verdict is
`blocked` or `unknown`) and `<skipped>` otherwise, since one open path is enough.

Tenant strings are untrusted: ElementTree escapes markup, and characters XML 1.0 cannot carry at all
(NUL, terminal escapes, lone surrogates) are replaced, so the file always parses.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import timezone

from auditor.model.result import Finding, PathState, Result, Status
from auditor.report.render.paths import PathView, path_views

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


def _path_outcome(case: ET.Element, view: PathView, another_is_open: bool) -> str:
    """Record a path's outcome on its test case; the counter it adds to."""
    reasons = "\n".join(view.reasons)
    if view.state is PathState.OPEN:
        return "passed"
    if view.state is PathState.UNKNOWN:
        _element(case, "error", reasons, message=f"Unknown: {reasons}", type="not-evaluated")
        return "errors"
    if another_is_open:
        _element(case, "skipped", message=f"Closed, but another path is open: {reasons}")
        return "skipped"
    _element(case, "failure", reasons, message=f"Closed: {reasons}", type="consent-path")
    return "failures"


def _counts(tests: int, failures: int, errors: int, skipped: int) -> dict[str, str]:
    return {"tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": str(skipped),
            "time": "0"}


def _suite(parent: ET.Element, name: str, generated: str, counts: dict[str, str]) -> ET.Element:
    return _element(parent, "testsuite", name=name, timestamp=generated, **counts)


def render_junit(result: Result) -> bytes:
    findings = result.findings
    waived = sum(f.waived for f in findings)
    rules = _counts(len(findings), result.summary.fail - waived, result.summary.error,
                    result.summary.not_applicable + waived)
    views = path_views(result)
    another_is_open = any(view.state is PathState.OPEN for view in views)
    tally = {"passed": 0, "failures": 0, "errors": 0, "skipped": 0}
    path_cases = []
    for view in views:
        case = ET.Element("testcase", {"classname": "Consent paths", "name": _xml(view.title), "time": "0"})
        tally[_path_outcome(case, view, another_is_open)] += 1
        path_cases.append(case)
    paths = _counts(len(views), tally["failures"], tally["errors"], tally["skipped"])
    total = {key: str(int(rules[key]) + int(paths[key])) for key in ("tests", "failures", "errors", "skipped")}
    suites = ET.Element("testsuites", {"name": "auditor", **total, "time": "0"})
    tenant = result.tenant.display_name or result.tenant.id
    generated = result.generated_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    suite = _suite(suites, f"{result.rule_pack.id}: {tenant}", generated, rules)
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
    if views:
        _suite(suites, f"consent paths: {tenant}", generated, paths).extend(path_cases)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"
