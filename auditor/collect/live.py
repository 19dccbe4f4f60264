"""Read one tenant through Microsoft Graph (msgraph-sdk) into a Snapshot.

`collect_snapshot` is the entry point. It only reads (DESIGN §3), and it either returns a complete
snapshot — each source `ok`, `forbidden` or `error` — or raises one-line errors: InputError for
missing or bad inputs, CollectionError when Graph cannot be used at all (sign-in refused, 401,
unreachable). A request that times out or breaks, and whatever is unread at the deadline, make
their sources `error`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timezone

from azure.core.credentials import TokenCredential

from auditor import __version__
from auditor.collect.auth import (
    OffLoopCredential,
    build_credential,
    for_event_loop,
    token_request_options,
    token_scopes,
)
from auditor.collect.batch import BatchRunner, Deadline
from auditor.collect.clouds import Endpoints, resolve_endpoints
from auditor.collect.collector import TenantCollector
from auditor.collect.graph_client import GraphClient
from auditor.collect.options import LiveOptions
from auditor.collect.progress import CollectionProgress, make_progress
from auditor.collect.retry import RetryPolicy, WaitBudget
from auditor.evaluate.reviewer_query import is_guid
from auditor.evaluate.rulepack import RulePack
from auditor.evaluate.tenant_identity import identify
from auditor.model.errors import InputError
from auditor.model.shapes import checked_sources
from auditor.model.snapshot import CollectionTarget, Snapshot, ToolInfo

# Global Administrator, Privileged Role Administrator, Cloud Application Administrator,
# Application Administrator (DESIGN §4).
DEFAULT_CONSENT_CAPABLE_ROLE_IDS: tuple[str, ...] = (
    "62e90394-69f5-4237-9190-012177145e10",
    "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "158c047a-c907-4556-b7ef-446551a6b5f7",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
)


def _check_ids(target: CollectionTarget, role_ids: Sequence[str]) -> None:
    named = [("app id", target.app_id), *(("legacy app id", a) for a in target.legacy_app_ids)]
    named += [("consent-capable role id", role_id) for role_id in role_ids]
    for what, value in named:
        if value is not None and not is_guid(value):
            raise InputError(f"{what} {value!r} is not a GUID")


def collect_snapshot(
    options: LiveOptions,
    target: CollectionTarget,
    consent_capable_role_ids: Sequence[str] = DEFAULT_CONSENT_CAPABLE_ROLE_IDS,
    *,
    retry_policy: RetryPolicy | None = None,
    progress: CollectionProgress | None = None,
) -> Snapshot:
    """Read the tenant for `target` (the rule pack's app and legacy app ids) into a snapshot, on an event
    loop of its own."""
    return asyncio.run(collect_snapshot_async(options, target, consent_capable_role_ids, retry_policy=retry_policy,
                                              progress=progress))


async def collect_snapshot_async(
    options: LiveOptions,
    target: CollectionTarget,
    consent_capable_role_ids: Sequence[str] = DEFAULT_CONSENT_CAPABLE_ROLE_IDS,
    *,
    retry_policy: RetryPolicy | None = None,
    progress: CollectionProgress | None = None,
) -> Snapshot:
    """`collect_snapshot` on the running event loop, which other tenants may share: this tenant has its
    own credential (signing in off the loop), Graph client and connections."""
    _check_ids(target, consent_capable_role_ids)
    target = target.model_copy(update={"consent_role_ids": [role_id.lower() for role_id in consent_capable_role_ids]})
    endpoints = resolve_endpoints(options)
    credential = build_credential(options, endpoints)
    progress = progress or make_progress(options.quiet)
    try:
        snapshot = await _collect(options, endpoints, for_event_loop(credential), target, consent_capable_role_ids,
                                  retry_policy, progress)
        return _identified(snapshot, options.tenant_id)
    finally:
        progress.close()
        close = getattr(credential, "close", None)
        if callable(close):
            close()


def _identified(snapshot: Snapshot, given: str | None) -> Snapshot:
    """The tenant id /organization gave; else `--tenant-id` when it is a GUID or a domain name (the collector
    takes any value given); else `unknown`."""
    tenant = snapshot.tenant.model_copy(update={"id": identify(snapshot.tenant.id, given)})
    return snapshot.model_copy(update={"tenant": tenant})


def collect_for_pack(
    options: LiveOptions, pack: RulePack, app_id: str | None = None, *, progress: CollectionProgress | None = None
) -> Snapshot:
    """Collect what `pack` evaluates: its app (by `app_id`, the pack's app ids, or its name), the legacy
    app ids and the holders of its consent-capable roles."""
    return asyncio.run(collect_for_pack_async(options, pack, app_id, progress=progress))


async def collect_for_pack_async(
    options: LiveOptions, pack: RulePack, app_id: str | None = None, *, progress: CollectionProgress | None = None
) -> Snapshot:
    """`collect_for_pack` on the running event loop (a fleet worker's, shared by its tenants)."""
    params = pack.parameters
    target = CollectionTarget(
        app_id=app_id or next(iter(params.app_ids), None),
        app_display_name=params.app_display_name,
        legacy_app_ids=list(params.legacy_app_ids),
    )
    roles = [role.id for role in params.consent_capable_roles]
    return await collect_snapshot_async(options, target, roles, progress=progress)


def _client(
    options: LiveOptions, endpoints: Endpoints, credential: TokenCredential | OffLoopCredential, budget: WaitBudget,
    progress: CollectionProgress,
) -> GraphClient:
    return GraphClient(
        credential,
        endpoints,
        scopes=token_scopes(options, endpoints),
        token_options=token_request_options(options),
        timeout=options.timeout,
        budget=budget,
        reporter=progress,
    )


async def _collect(
    options: LiveOptions,
    endpoints: Endpoints,
    credential: TokenCredential | OffLoopCredential,
    target: CollectionTarget,
    consent_capable_role_ids: Sequence[str],
    retry_policy: RetryPolicy | None,
    progress: CollectionProgress,
) -> Snapshot:
    budget = WaitBudget(retry_policy or RetryPolicy())
    client = _client(options, endpoints, credential, budget, progress)
    clients = [client]
    if endpoints.graph_url.endswith("/v1.0"):  # request 17 reads /beta: v1.0 omits certifiedClientApplicationsOnly
        clients.append(client.rebased(endpoints.graph_url.removesuffix("/v1.0") + "/beta"))
    collected_at = datetime.now(timezone.utc)
    try:
        deadline = Deadline(options.deadline)
        runner, *beta_runner = [BatchRunner(each, budget, progress, deadline) for each in clients]
        collector = TenantCollector(runner, target, consent_capable_role_ids, progress, *beta_runner)
        sources = await collector.collect()
    finally:
        await client.aclose()
    return Snapshot(
        tool=ToolInfo(version=__version__),
        collected_at=collected_at,
        graph_url=endpoints.graph_url,
        tenant=collector.tenant(options.tenant_id, options.cloud.value),
        target=target,
        sources=checked_sources(sources),
    )
