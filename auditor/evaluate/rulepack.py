"""Rule packs: rule metadata and requirement parameters, read from YAML and validated on load.

`rules/hd-meeting.yaml` is the default pack. A consultant may copy it and change severities,
texts or thresholds (`--rules FILE`); rule ids must stay those that have a check.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.model.errors import InputError, parse_yaml
from auditor.model.result import Severity


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(_Strict):
    id: str
    name: str


class DayRange(_Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> DayRange:
        if self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class LegacyExchangePermissions(_Strict):
    delegated: list[str]
    application: list[str]


class Parameters(_Strict):
    """The requirement parameters of DESIGN §4."""

    app_display_name: str = Field(min_length=1)
    app_ids: list[str] = Field(default_factory=list)
    required_graph_scopes: list[str] = Field(min_length=1)
    allowed_graph_scopes: list[str]
    request_duration_days: DayRange
    pending_request_max_age_days: int = Field(ge=0)
    consent_capable_roles: list[Role] = Field(min_length=1)
    legacy_app_ids: list[str] = Field(default_factory=list)
    legacy_exchange_permissions: LegacyExchangePermissions
    # HD Meeting's publisher facts, used only before its service principal exists (DESIGN §4);
    # None: unknown.
    publisher_verified: bool | None = None
    verified_publisher_id: str | None = None
    owner_tenant_id: str | None = None

    @model_validator(mode="after")
    def _required_are_allowed(self) -> Parameters:
        allowed = {scope.lower() for scope in self.allowed_graph_scopes}
        missing = [scope for scope in self.required_graph_scopes if scope.lower() not in allowed]
        if missing:
            raise ValueError(f"required scopes missing from allowed_graph_scopes: {', '.join(missing)}")
        return self


class Remediation(_Strict):
    portal: str = Field(min_length=1)
    graph: str | None = None
    powershell: str | None = None

    def as_text(self) -> str:
        parts = [self.portal.strip()]
        if self.graph:
            parts.append("Microsoft Graph:\n" + self.graph.strip())
        if self.powershell:
            parts.append("Microsoft Graph PowerShell:\n" + self.powershell.strip())
        return "\n\n".join(parts)


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    title: str = Field(min_length=1)
    severity: Severity
    category: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    remediation: Remediation
    references: list[str] = Field(default_factory=list)
    frameworks: dict[str, str] = Field(default_factory=dict)


class RulePack(_Strict):
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    parameters: Parameters
    rules: list[Rule] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule {rule.id} appears twice")
            seen.add(rule.id)
        return rules

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)


def _describe(exc: ValidationError, data: object) -> str:
    error = exc.errors()[0]
    loc = list(error["loc"])
    # Name a rule by its id rather than by its position in the list.
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            loc[1] = rules[loc[1]].get("id", loc[1])
    where = ".".join(str(part) for part in loc) or "top level"
    message = error["msg"].replace("Extra inputs are not permitted", "unknown key").removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {message}{more}"


def read_rule_pack(text: str, origin: str) -> RulePack:
    """Parse and validate a rule pack's YAML and fields; whether each rule has a check is the engine's
    to say (`auditor.evaluate.engine.parse_rule_pack`), which knows both."""
    data = parse_yaml(text, origin, "rule pack")
    if not isinstance(data, dict):
        raise InputError(f"{origin}: a rule pack is a YAML mapping with id, version, parameters and rules")
    try:
        return RulePack.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{origin}: invalid rule pack: {_describe(exc, data)}") from None
