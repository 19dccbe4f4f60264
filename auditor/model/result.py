"""The result of evaluating a snapshot against a rule pack: `result.json` (DESIGN §7, contract)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from auditor.model.documents import parse_document
from auditor.model.errors import read_input
from auditor.model.severity import Severity

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


class PathState(str, Enum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class ApproverRef(BaseModel):
    """A reviewer who can approve HD Meeting's consent request (DESIGN §4)."""

    model_config = ConfigDict(extra="forbid")

    user: str
    id: str
    role: str
    assignment: Literal["active", "eligible"]  # eligible: must activate the role in PIM first
    via: str  # "direct", or the name of the group that holds the role


class ConsentPath(BaseModel):
    """One way HD Meeting can get its delegated permissions (DESIGN §5): its state and why."""

    model_config = ConfigDict(extra="forbid")

    state: PathState
    reasons: list[str] = Field(default_factory=list)


class WorkflowPath(ConsentPath):
    approvers: list[ApproverRef] = Field(default_factory=list)


class ConsentPaths(BaseModel):
    model_config = ConfigDict(extra="forbid")

    granted: ConsentPath
    user_consent: ConsentPath
    admin_consent_workflow: WorkflowPath

    def items(self) -> list[tuple[str, ConsentPath]]:
        return [("granted", self.granted), ("user_consent", self.user_consent),
                ("admin_consent_workflow", self.admin_consent_workflow)]


class Accepted(BaseModel):
    """A risk acceptance applied to a failing finding (`--exceptions`): who accepted it, why, until when."""

    model_config = ConfigDict(extra="forbid")

    reason: str
    owner: str
    expires: date
    expired: bool  # decided against the scan's `generated_at` date: an expired acceptance counts again


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
    accepted: Accepted | None = None

    @property
    def waived(self) -> bool:
        """A failure under an acceptance that has not expired: it does not count for exit codes."""
        return self.status is Status.FAIL and self.accepted is not None and not self.accepted.expired

    @model_serializer(mode="wrap")
    def _accepted_only_when_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # result.json stays exactly DESIGN §7 unless a risk acceptance applies to the finding.
        data = handler(self)
        if self.accepted is None:
            data.pop("accepted", None)
        return data


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
    cloud: Literal["global", "usgov", "usgovdod", "china"] = "global"  # the cloud the snapshot came from


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
    paths: ConsentPaths | None = None  # None only in result files written before the consent paths
    summary: Summary
    findings: list[Finding]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def load_result(path: Path) -> Result:
    """Read a `result.json` written by `auditor scan`; any problem is one InputError line naming the file."""
    return parse_document(
        read_input(path, "result file"),
        str(path),
        Result,
        kind="result.json",
        schema_version=RESULT_SCHEMA_VERSION,
        recognise=lambda raw: "findings" in raw and "verdict" in raw,
        expected="verdict and findings",
    )
