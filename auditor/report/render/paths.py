"""The consent paths as every report shows them: one lane per path (DESIGN §5), in the same words.

Reads only the Result: renderers never reach back into evaluation or collection.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.result import ConsentPath, PathState, Result, Verdict, WorkflowPath

PATH_TITLES = {
    "granted": "Consent already granted",
    "user_consent": "Users consent for themselves",
    "admin_consent_workflow": "Users ask, an approver approves (admin consent workflow)",
}
STATE_LABELS = {PathState.OPEN: "Open", PathState.CLOSED: "Closed", PathState.UNKNOWN: "Unknown"}
STATE_TONES = {PathState.OPEN: "pass", PathState.CLOSED: "fail", PathState.UNKNOWN: "error"}
ACTIVATE_FIRST = "activate in PIM first"


@dataclass(frozen=True)
class ApproverView:
    user: str
    role: str
    via: str  # "direct" or the group's name
    eligible: bool  # must activate the role (or the group membership) in PIM first

    @property
    def how(self) -> str:
        via = "" if self.via == "direct" else f" via {self.via}"
        return f"{self.role}{via}" + (f" ({ACTIVATE_FIRST})" if self.eligible else "")


@dataclass(frozen=True)
class PathView:
    key: str
    title: str
    state: PathState
    reasons: list[str]
    approvers: list[ApproverView]

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def tone(self) -> str:
        return STATE_TONES[self.state]


def path_views(result: Result) -> list[PathView]:
    """The three paths in contract order; empty for a result written before the paths existed."""
    if result.paths is None:
        return []
    return [_view(key, path) for key, path in result.paths.items()]


def _view(key: str, path: ConsentPath) -> PathView:
    approvers = [
        ApproverView(a.user, a.role, a.via, a.assignment == "eligible")
        for a in (path.approvers if isinstance(path, WorkflowPath) else [])
    ]
    return PathView(key, PATH_TITLES[key], path.state, list(path.reasons), approvers)


# Rules that fail only because HD Meeting has not been consented yet: on a tenant whose user consent
# or workflow path is open, they are that path's next step, not a separate problem.
NOT_CONSENTED_YET = ("HDM-SP-01", "HDM-GR-01")
_OPEN_BY_ASKING = (Verdict.READY_VIA_USER_CONSENT, Verdict.READY_VIA_WORKFLOW)


def awaiting_consent(result: Result, rule_id: str) -> bool:
    """Whether a failing rule is simply "not consented yet" on a tenant where consent can be obtained."""
    return result.verdict in _OPEN_BY_ASKING and rule_id in NOT_CONSENTED_YET


def not_consented_note(result: Result) -> str:
    """How every report names the open path's next step while HD Meeting is not consented yet; "" otherwise."""
    if result.verdict is Verdict.READY_VIA_WORKFLOW:
        return "Not consented yet — the first approval creates it"
    if result.verdict is Verdict.READY_VIA_USER_CONSENT:
        return "Not consented yet — the first user's consent creates it"
    return ""
