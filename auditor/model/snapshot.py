"""The snapshot: what collection read from one tenant, as raw Microsoft Graph objects.

A snapshot is the only input of evaluation, so it records not just the data but how each source
fared (`ok`, `forbidden`, `error`): a source that could not be read must turn the rules that need
it into `error` findings, never into a silent pass. It never holds a token or a secret.

Sources (keys of `Snapshot.sources`) and the Graph requests behind them (DESIGN §3):

| source                         | data                                          | request |
|--------------------------------|-----------------------------------------------|---------|
| `organization`                 | list of organization objects                  | 1       |
| `admin_consent_request_policy` | the adminConsentRequestPolicy object          | 2       |
| `authorization_policy`         | the authorizationPolicy object                | 3       |
| `service_principals`           | servicePrincipal objects, found by appId or by display-name prefix | 4, 5 |
| `delegated_grants`             | oauth2PermissionGrant objects whose clientId is one of those SPs | 6 |
| `app_role_assignments`         | appRoleAssignment objects held by those SPs   | 7       |
| `app_role_assigned_to`         | appRoleAssignment objects granting access *to* the app | 8 |
| `users`                        | {user id: user object, or null when Graph said 404} | 9  |
| `groups`                       | {group id: group object, or null when Graph said 404} | 10 |
| `group_members`                | {group id: list of transitive member objects} | 10      |
| `role_assignments`             | unifiedRoleAssignment objects (consent-capable roles, role reviewers) | 11, 12 |
| `consent_requests`             | appConsentRequest objects, each with its `userConsentRequests` list | 13, 14 |
| `role_eligibilities`           | unifiedRoleEligibilityScheduleInstance objects (PIM-eligible role holders) | 15 |
| `group_eligibilities`          | privilegedAccessGroupEligibilityScheduleInstance objects (PIM for Groups) | 19 |
| `role_definitions`             | unifiedRoleDefinition objects of the tenant's custom roles | 16 |
| `permission_grant_policies`    | {policy id: {"id", "includes", "excludes", "apiVersion"} or null (404)} | 17 |
| `permission_classifications`   | delegatedPermissionClassification objects of Microsoft Graph | 18 |

Sources added after the first release (the last five) may be absent from an older snapshot: they load
as `error` ("not collected"), so the rules and paths that need them are `error` or unknown, never pass.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SNAPSHOT_FORMAT = "auditor-snapshot"
SNAPSHOT_SCHEMA_VERSION = 1

SOURCE_NAMES: tuple[str, ...] = (
    "organization",
    "admin_consent_request_policy",
    "authorization_policy",
    "service_principals",
    "delegated_grants",
    "app_role_assignments",
    "app_role_assigned_to",
    "users",
    "groups",
    "group_members",
    "role_assignments",
    "consent_requests",
    "role_eligibilities",
    "group_eligibilities",
    "role_definitions",
    "permission_grant_policies",
    "permission_classifications",
)
# Sources an older snapshot may lack (added with the consent paths): absent means "not collected".
LATER_SOURCES: frozenset[str] = frozenset(SOURCE_NAMES[-5:])

# The shape of each source's data: one Graph object, a list of them, {id: object or null}, or
# {group id: [member objects]}.
_SHAPES: dict[str, str] = {
    "organization": "list",
    "admin_consent_request_policy": "object",
    "authorization_policy": "object",
    "service_principals": "list",
    "delegated_grants": "list",
    "app_role_assignments": "list",
    "app_role_assigned_to": "list",
    "users": "by_id",
    "groups": "by_id",
    "group_members": "lists_by_id",
    "role_assignments": "list",
    "consent_requests": "list",
    "role_eligibilities": "list",
    "group_eligibilities": "list",
    "role_definitions": "list",
    "permission_grant_policies": "by_id",
    "permission_classifications": "list",
}


def empty_data(source: str) -> Any:
    """The value a source holds when nothing was read: an empty list, an empty mapping, or None."""
    shape = _SHAPES[source]
    return None if shape == "object" else [] if shape == "list" else {}


def _shape_problem(source: str, data: Any) -> str | None:
    """Why `data` does not have the shape of `source`, or None when it does."""
    if data is None:
        return None
    shape = _SHAPES[source]
    if shape == "object":
        return None if isinstance(data, dict) else "expected a JSON object"
    if shape == "list":
        if isinstance(data, list) and all(isinstance(item, dict) for item in data):
            return None
        return "expected a list of JSON objects"
    if not isinstance(data, dict):
        return "expected a JSON object keyed by id"
    if shape == "by_id":
        ok = all(item is None or isinstance(item, dict) for item in data.values())
        return None if ok else "expected {id: object or null}"
    ok = all(isinstance(items, list) and all(isinstance(i, dict) for i in items) for items in data.values())
    return None if ok else "expected {group id: [member objects]}"


_NOT_COLLECTED_MESSAGE = "not collected: the snapshot was made by an earlier version of auditor; collect again"


class SourceStatus(str, Enum):
    OK = "ok"
    FORBIDDEN = "forbidden"
    ERROR = "error"


class GraphError(BaseModel):
    """The error Graph (or the transport) returned for a source."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str = ""
    http_status: int | None = None

    def describe(self) -> str:
        status = f"HTTP {self.http_status} " if self.http_status else ""
        return f"{status}{self.code}: {self.message}".rstrip(": ")


_NOT_COLLECTED = GraphError(code="NotCollected", message=_NOT_COLLECTED_MESSAGE)


class Source(BaseModel):
    """One source's collection status and its raw Graph data.

    `note` explains an `ok` source whose emptiness has a reason worth telling a reader, e.g. PIM
    eligibility answered "no Entra ID P2 licence" (HTTP 400 `AadPremiumLicenseRequired`).
    """

    model_config = ConfigDict(extra="forbid")

    status: SourceStatus = SourceStatus.OK
    error: GraphError | None = None
    data: Any = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is SourceStatus.OK


Cloud = Literal["global", "usgov", "usgovdod", "china"]

# Graph host → national cloud, for snapshots that predate `tenant.cloud`.
_CLOUD_OF_GRAPH_HOST: dict[str, Cloud] = {
    "graph.microsoft.com": "global",
    "graph.microsoft.us": "usgov",
    "dod-graph.microsoft.us": "usgovdod",
    "microsoftgraph.chinacloudapi.cn": "china",
}


def cloud_of_graph_url(graph_url: str) -> Cloud:
    """The national cloud a Graph base URL belongs to; `global` for any other host (a local fake)."""
    return _CLOUD_OF_GRAPH_HOST.get((urlsplit(graph_url).hostname or "").lower(), "global")


class Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    display_name: str = ""
    # The cloud the snapshot was collected from (links and remediation hosts are this cloud's, even
    # behind --graph-url); None in snapshots that predate it: then the Graph host decides.
    cloud: Cloud | None = None


class ToolInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "auditor"
    version: str


class CollectionTarget(BaseModel):
    """What the collector looked for (the rule pack's parameters and `--app-id` at collect time)."""

    model_config = ConfigDict(extra="forbid")

    app_id: str | None = None
    app_display_name: str = "HD Meeting"
    legacy_app_ids: list[str] = Field(default_factory=list)
    # The consent-capable roles whose holders were read (request 11/15); None in snapshots that predate
    # it. A pack naming another role cannot rely on this snapshot for that role's holders.
    consent_role_ids: list[str] | None = None


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["auditor-snapshot"] = SNAPSHOT_FORMAT
    schema_version: Literal[1] = SNAPSHOT_SCHEMA_VERSION
    tool: ToolInfo
    collected_at: datetime
    graph_url: str
    tenant: Tenant
    target: CollectionTarget = Field(default_factory=CollectionTarget)
    sources: dict[str, Source]

    @field_validator("collected_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("collected_at needs a time zone (e.g. a trailing Z)")
        return value

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: dict[str, Source]) -> dict[str, Source]:
        unknown = sorted(set(value) - set(SOURCE_NAMES))
        if unknown:
            raise ValueError(f"unknown source(s): {', '.join(unknown)}")
        for name in LATER_SOURCES - set(value):
            value[name] = Source(status=SourceStatus.ERROR, error=_NOT_COLLECTED)
        missing = [name for name in SOURCE_NAMES if name not in value]
        if missing:
            raise ValueError(f"missing source(s): {', '.join(missing)}")
        for name, source in value.items():
            problem = _shape_problem(name, source.data)
            if problem:
                raise ValueError(f"source {name}: {problem}")
        return value

    @model_validator(mode="after")
    def _cloud(self) -> Snapshot:
        if self.tenant.cloud is None:
            self.tenant.cloud = cloud_of_graph_url(self.graph_url)
        return self

    @property
    def cloud(self) -> Cloud:
        return self.tenant.cloud or cloud_of_graph_url(self.graph_url)

    def source(self, name: str) -> Source:
        return self.sources[name]

    def data(self, name: str) -> Any:
        """A source's data, or its empty value when the source was not read."""
        source = self.sources[name]
        return source.data if source.ok and source.data is not None else empty_data(name)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"
