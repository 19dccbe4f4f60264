"""Risk acceptance (`scan --exceptions FILE.yaml`): accept one failing rule, with a reason, an owner and an expiry.

The file is a YAML list of entries:

    - rule_id: HDM-UC-01
      tenant_id: 0f3c5d2a-7b41-4e8c-9a6d-2b1e4f7c8d90   # optional: only this tenant
      reason: Users may consent to low-risk apps until the pilot ends.
      owner: it-security@contoso.com
      expires: 2026-06-30

An accepted failure keeps its status `fail` and carries the acceptance in result.json; it does not
count for the exit code until it expires. Acceptances are about *now*, so expiry is decided against
the scan's `generated_at` date (UTC), not the snapshot's `collected_at`: an acceptance that expires on
30 June still holds for a scan run on 30 June and counts again from 1 July. Only `fail` findings are
accepted: an `error` means the rule could not be evaluated, and nobody can accept what was not seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.evaluate.rulepack import RulePack
from auditor.model.errors import InputError, parse_yaml, read_input
from auditor.model.result import Accepted, Result, Status


class Acceptance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str = Field(min_length=1)
    tenant_id: str | None = Field(None, min_length=1)
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date

    @property
    def tenant_key(self) -> str | None:
        return self.tenant_id.lower() if self.tenant_id else None

    def covers(self, rule_id: str, tenant_id: str) -> bool:
        return self.rule_id == rule_id and self.tenant_key in (None, tenant_id.lower())


def _entry_name(index: int, entry: object) -> str:
    rule_id = entry.get("rule_id") if isinstance(entry, dict) else None
    return f"entry {index + 1}" + (f" ({rule_id})" if isinstance(rule_id, str) else "")


def parse_acceptances(text: str, origin: str, pack: RulePack) -> list[Acceptance]:
    """Parse and validate an exceptions file against the rule pack; any problem is one InputError line."""
    data = parse_yaml(text, origin, "exceptions file")
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError(f"{origin}: an exceptions file is a YAML list of entries (rule_id, reason, owner, expires)")
    known = {rule.id for rule in pack.rules}
    acceptances: list[Acceptance] = []
    for index, entry in enumerate(data):
        where = f"{origin}: {_entry_name(index, entry)}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: an entry is a mapping with rule_id, reason, owner and expires")
        try:
            acceptance = Acceptance.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            message = error["msg"].replace("Extra inputs are not permitted", "unknown key")
            raise InputError(f"{where}: {field}: {message}") from None
        if acceptance.rule_id not in known:
            raise InputError(f"{where}: unknown rule id {acceptance.rule_id!r} (not in rule pack {pack.id})")
        if any(a.rule_id == acceptance.rule_id and a.tenant_key == acceptance.tenant_key for a in acceptances):
            raise InputError(f"{where}: {acceptance.rule_id} is accepted twice for the same tenant")
        acceptances.append(acceptance)
    return acceptances


def load_acceptances(path: Path, pack: RulePack) -> list[Acceptance]:
    return parse_acceptances(read_input(path, "exceptions file"), str(path), pack)


def _matching(acceptances: Sequence[Acceptance], rule_id: str, tenant_id: str) -> Acceptance | None:
    """The tenant's own acceptance of the rule if there is one, else the one for every tenant."""
    covering = [a for a in acceptances if a.covers(rule_id, tenant_id)]
    return min(covering, key=lambda a: a.tenant_id is None, default=None)


def apply_acceptances(result: Result, acceptances: Sequence[Acceptance]) -> Result:
    """The result with each accepted `fail` finding carrying its acceptance; statuses and counts unchanged."""
    today = result.generated_at.astimezone(timezone.utc).date()
    findings = []
    for finding in result.findings:
        acceptance = _matching(acceptances, finding.rule_id, result.tenant.id)
        if finding.status is Status.FAIL and acceptance:
            accepted = Accepted(
                reason=acceptance.reason,
                owner=acceptance.owner,
                expires=acceptance.expires,
                expired=today > acceptance.expires,
            )
            finding = finding.model_copy(update={"accepted": accepted})
        findings.append(finding)
    return result.model_copy(update={"findings": findings})
