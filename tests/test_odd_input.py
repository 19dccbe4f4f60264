"""Odd-but-real tenant data in snapshot files (issue 11): Graph's own timestamp and enum spellings are
read, and what cannot be read is `error`, never a pass. Each case writes a real snapshot file and
scans it with the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.model.timestamps import parse_graph_time
from tests.conftest import Run
from tests.factory import GRAPH_APP_ID, HD_APP_ID, Tenant, guid, upn

Cli = Callable[..., Run]


def scan_file(cli: Cli, tmp_path: Path, tenant: Tenant, *extra: str) -> tuple[int, dict[str, dict]]:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(tenant.build().to_json(), encoding="utf-8")
    out = tmp_path / "out"
    run = cli("scan", "--snapshot", str(snapshot), "--format", "json", "--out", str(out), *extra)
    assert run.code in (0, 1, 3), run.stderr
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return run.code, {finding["rule_id"]: finding for finding in result["findings"]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-10-18T19:07:19.7374554Z", datetime(2019, 10, 18, 19, 7, 19, 737455, tzinfo=timezone.utc)),
        ("2019-10-18T19:07:19Z", datetime(2019, 10, 18, 19, 7, 19, tzinfo=timezone.utc)),
        ("2019-10-18T21:07:19.5+02:00", datetime(2019, 10, 18, 19, 7, 19, 500000, tzinfo=timezone.utc)),
        ("2019-10-18T19:07:19", datetime(2019, 10, 18, 19, 7, 19, tzinfo=timezone.utc)),  # no zone: UTC
    ],
)
def test_graph_timestamps_are_read_on_every_python(raw: str, expected: datetime) -> None:
    assert parse_graph_time(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "yesterday", "2019-13-45T00:00:00Z", 1571425639, "\ud800"])
def test_what_is_not_a_timestamp_is_none(raw: object) -> None:
    assert parse_graph_time(raw) is None


def test_a_seven_digit_timestamp_makes_an_old_request_stale(cli: Cli, tmp_path: Path) -> None:
    tenant = Tenant()
    tenant.add_consent_request(1, requester="Olga Old")["createdDateTime"] = "2023-04-18T19:07:19.7374554Z"

    _, findings = scan_file(cli, tmp_path, tenant)

    finding = findings["HDM-REQ-01"]
    assert finding["status"] == "fail"
    assert finding["evidence"]["stale_requests"][0]["age_days"] == 1062.6  # 2023-04-18 19:07 → 2026-03-16 09:30


@pytest.mark.parametrize("status", ["inProgress", "inprogress", "INPROGRESS"])
def test_a_pending_status_in_any_letter_case_is_pending(cli: Cli, tmp_path: Path, status: str) -> None:
    tenant = Tenant()
    tenant.add_consent_request(30, status=status)

    _, findings = scan_file(cli, tmp_path, tenant)

    assert findings["HDM-REQ-01"]["status"] == "fail"


@pytest.mark.parametrize("created", [None, "", "last Tuesday", 20230418, "2023-02-30T00:00:00Z"])
def test_a_pending_request_of_unknown_age_is_an_error_naming_it(cli: Cli, tmp_path: Path, created: object) -> None:
    tenant = Tenant()
    request = tenant.add_consent_request(1, requester="Nina Nodate")
    if created is None:
        del request["createdDateTime"]
    else:
        request["createdDateTime"] = created

    code, findings = scan_file(cli, tmp_path, tenant)

    finding = findings["HDM-REQ-01"]
    assert (code, finding["status"]) == (3, "error")
    assert request["id"] in finding["message"] and upn("Nina Nodate") in finding["message"]


def test_a_per_user_grant_in_any_letter_case_is_a_per_user_grant(cli: Cli, tmp_path: Path) -> None:
    tenant = Tenant()
    tenant.grant("User.Read", consent_type="principal", principal_id=tenant.add_user("Pia Peruser"))

    _, findings = scan_file(cli, tmp_path, tenant)

    assert findings["HDM-GR-04"]["status"] == "fail"
    assert guid("user:Pia Peruser") in json.dumps(findings["HDM-GR-04"]["evidence"])


# -- `scan --snapshot --app-id X` for an app the snapshot was not collected for ---------------------------

LIST_RULES = ("HDM-GR-01", "HDM-GR-02", "HDM-GR-03", "HDM-GR-04", "HDM-SP-03")


def test_an_app_whose_lists_were_never_collected_is_an_error_not_a_pass(cli: Cli, tmp_path: Path) -> None:
    # Microsoft Graph's service principal is in every snapshot (as a resource), its grants never are.
    code, findings = scan_file(cli, tmp_path, Tenant(), "--app-id", GRAPH_APP_ID)

    assert code == 3
    for rule_id in LIST_RULES:
        assert findings[rule_id]["status"] == "error", rule_id
        assert "not collected for this app; collect again with --app-id" in findings[rule_id]["message"]


def test_an_app_absent_from_the_snapshot_was_never_looked_up(cli: Cli, tmp_path: Path) -> None:
    code, findings = scan_file(cli, tmp_path, Tenant(), "--app-id", guid("app:never collected"))

    assert code == 3 and findings["HDM-SP-01"]["status"] == "error"
    assert "collect again with --app-id" in findings["HDM-SP-01"]["message"]


def test_the_app_the_snapshot_was_collected_for_is_evaluated_whatever_its_letter_case(cli: Cli, tmp_path: Path):
    _, findings = scan_file(cli, tmp_path, Tenant(), "--app-id", HD_APP_ID.upper())

    assert {findings[rule_id]["status"] for rule_id in LIST_RULES} == {"pass"}
