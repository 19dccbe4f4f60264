"""Loading the rule pack and snapshots: valid files load, anything else is one clear InputError."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from auditor.evaluate.engine import load_rule_pack, parse_rule_pack
from auditor.evaluate.rulepack import Severity
from auditor.model.errors import InputError
from auditor.model.resources import DEFAULT_RULE_PACK, DEMO_SNAPSHOT
from auditor.model.snapshot_file import load_snapshot, parse_snapshot


def _pack() -> dict:
    return yaml.safe_load(DEFAULT_RULE_PACK.read_text())


def _parse(data: dict) -> None:
    parse_rule_pack(yaml.safe_dump(data), origin="pack.yaml")


def test_default_pack_has_the_17_rules_in_design_order() -> None:
    pack = load_rule_pack()
    assert pack.id == "hd-meeting"
    assert [rule.id for rule in pack.rules][:3] == ["HDM-ACW-01", "HDM-ACW-02", "HDM-ACW-03"]
    assert len(pack.rules) == 17
    assert pack.parameters.request_duration_days.min == 7
    assert pack.parameters.request_duration_days.max == 30
    for rule in pack.rules:
        assert rule.remediation.portal and rule.references, rule.id


def test_a_consultants_copy_changes_severity_and_thresholds(tmp_path: Path) -> None:
    data = _pack()
    data["rules"][0]["severity"] = "critical"
    data["parameters"]["pending_request_max_age_days"] = 3
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    pack = load_rule_pack(path)
    assert pack.rules[0].severity is Severity.CRITICAL
    assert pack.parameters.pending_request_max_age_days == 3


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["rules"][2].update(colour="red"), "rules.HDM-ACW-03.colour: unknown key"),
        (lambda d: d["rules"][4].pop("title"), "rules.HDM-ACW-05.title"),
        (lambda d: d["rules"][0].update(severity="severe"), "rules.HDM-ACW-01.severity"),
        (lambda d: d["rules"].pop(), "check(s) without a rule: HDM-LEG-01"),
        (lambda d: d["rules"][-1].update(id="HDM-NEW-01"), "rule(s) without a check: HDM-NEW-01"),
        (lambda d: d["rules"].append(copy.deepcopy(d["rules"][0])), "HDM-ACW-01 appears twice"),  # no YAML alias
        (lambda d: d["parameters"].update(request_duration_days={"min": 30, "max": 7}), "min is greater"),
        (lambda d: d["parameters"].update(required_graph_scopes=["Mail.Read"]), "missing from allowed"),
        (lambda d: d.update(extra=1), "extra: unknown key"),
    ],
)
def test_invalid_rule_pack_names_the_problem(mutate: Callable[[dict], object], fragment: str) -> None:
    data = _pack()
    mutate(data)
    with pytest.raises(InputError, match=r"pack\.yaml") as raised:
        _parse(data)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "id: [", "{{{{", "42"])
def test_non_pack_yaml_is_rejected(text: str) -> None:
    with pytest.raises(InputError, match=r"pack\.yaml"):
        parse_rule_pack(text, origin="pack.yaml")


def test_demo_snapshot_loads() -> None:
    snapshot = load_snapshot(DEMO_SNAPSHOT)
    assert snapshot.tenant.id
    assert snapshot.collected_at.tzinfo is not None


def _demo() -> dict:
    return json.loads(DEMO_SNAPSHOT.read_text())


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.update(format="something-else"), "not an auditor snapshot"),
        (lambda d: d.update(schema_version=99), "schema_version 99 is not supported"),
        (lambda d: d["sources"].pop("users"), "missing source(s): users"),
        (lambda d: d["sources"].update(tokens={"status": "ok", "data": []}), "unknown source(s): tokens"),
        (lambda d: d["sources"]["users"].update(status="maybe"), "sources.users.status"),
        (lambda d: d["sources"]["users"].update(data=[1, 2]), "source users: expected a JSON object keyed by id"),
        (lambda d: d["sources"]["service_principals"].update(data=[1]), "expected a list of JSON objects"),
        (lambda d: d.update(collected_at="2026-11-20T09:00:00"), "time zone"),
        (lambda d: d.update(collected_at="yesterday"), "collected_at"),
        (lambda d: d.update(access_token="eyJ..."), "access_token"),
    ],
)
def test_invalid_snapshot_names_the_problem(mutate: Callable[[dict], object], fragment: str) -> None:
    data = _demo()
    mutate(data)
    with pytest.raises(InputError) as raised:
        parse_snapshot(json.dumps(data), origin="snap.json")
    assert fragment in str(raised.value)
    assert str(raised.value).startswith("snap.json")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("text", ["", "[]", "null", "{", "\"text\"", "[" * 100000])
def test_non_snapshot_json_is_rejected(text: str) -> None:
    with pytest.raises(InputError):
        parse_snapshot(text, origin="snap.json")


def test_snapshot_round_trips_unchanged() -> None:
    snapshot = load_snapshot(DEMO_SNAPSHOT)
    assert parse_snapshot(snapshot.to_json()) == snapshot
