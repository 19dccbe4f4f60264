"""The history's tables. Their names carry an `auditor_` prefix, so a shared PostgreSQL database can hold them
beside other applications' tables.

`auditor_schema` holds the schema version: a history written by a newer auditor is refused rather than
misread. Version 2 added `auditor_fleet_tenants` (one row per tenant per `auditor fleet` run, failed
tenants included, for `auditor fleet-report`); the first run that stores into a version 1 history
upgrades it in place, and reading one needs no upgrade. Findings keep what drift needs (status,
evidence, acceptance) but not the rule pack's texts (remediation, references), which the pack id and
version recorded with each run identify.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

SCHEMA_VERSION = 2

metadata = MetaData()


def storable(value: str) -> str:
    """PostgreSQL text cannot hold NUL: a hostile tenant string must not make storing fail."""
    return value.replace("\x00", "\ufffd")


schema_info = Table(
    "auditor_schema",
    metadata,
    Column("version", Integer, nullable=False),
)

runs = Table(
    "auditor_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(255), nullable=False),
    Column("tenant_name", Text, nullable=False),
    Column("collected_at", DateTime(timezone=True), nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("score", Float, nullable=False),
    Column("passed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("not_applicable", Integer, nullable=False),
    Column("rule_pack_id", Text, nullable=False),
    Column("rule_pack_version", Text, nullable=False),
    Column("tool_version", Text, nullable=False),
    Column("app_id", Text),
    Index("auditor_runs_tenant_time", "tenant_id", "generated_at"),
)

findings = Table(
    "auditor_findings",
    metadata,
    Column("run_id", Integer, ForeignKey("auditor_runs.id"), primary_key=True),
    Column("position", Integer, primary_key=True),  # the rule pack's order
    Column("rule_id", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("accepted", JSON(none_as_null=True)),  # {reason, owner, expires, expired} or null
)

# What fleet.json says of one tenant in one `auditor fleet` run (any shard), and where its reports went.
fleet_tenants = Table(
    "auditor_fleet_tenants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),  # SHA-256 (hex) of the row's shard key: one tenant of the fleet
    Column("started_at", DateTime(timezone=True), nullable=False),  # when the fleet run (the shard) started
    Column("shard", String(16), nullable=False),  # "K/N"
    Column("row", Integer, nullable=False),  # the tenants file's row: the merged report's order
    Column("name", Text),
    Column("row_tenant_id", Text),  # the row's tenant_id
    Column("folder", Text, nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("error", Text),
    # Below: the evaluated tenant, null when it failed before evaluation.
    Column("tenant_id", Text),  # the id Graph reported
    Column("tenant_name", Text),
    Column("verdict", String(32)),
    Column("score", Float),
    Column("passed", Integer),
    Column("failed", Integer),
    Column("errors", Integer),
    Column("not_applicable", Integer),
    Index("auditor_fleet_tenants_key_time", "key", "started_at"),
)
