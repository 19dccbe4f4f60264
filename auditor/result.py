"""The result of evaluating a snapshot against a rule pack: `result.json` (DESIGN §7, contract)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from auditor.rulepack import Severity

RESULT_SCHEMA_VERSION = 1


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"


class Verdict(str, Enum):
    READY = "ready"
    READY_VIA_USER_CONSENT = "ready-via-user-consent"
    READY_VIA_WORKFLOW = "ready-via-workflow"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: str
    title: str
    category: str
    severity: Severity
    status: Status
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    remediation: str
    references: list[str] = Field(default_factory=list)
    frameworks: dict[str, str] = Field(default_factory=dict)


class Summary(BaseModel):
    # `pass` is a Python keyword, hence the alias.
    passed: int = Field(0, alias="pass")
    fail: int = 0
    error: int = 0
    not_applicable: int = 0
    score: float = 0.0

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ToolRef(BaseModel):
    name: str = "auditor"
    version: str


class TenantRef(BaseModel):
    id: str
    display_name: str


class RulePackRef(BaseModel):
    id: str
    version: str


class AppRef(BaseModel):
    app_id: str | None
    display_name: str
    service_principal_id: str | None


class Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = RESULT_SCHEMA_VERSION
    generated_at: datetime
    collected_at: datetime
    tool: ToolRef
    tenant: TenantRef
    rule_pack: RulePackRef
    app: AppRef
    verdict: Verdict
    summary: Summary
    findings: list[Finding]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
