"""Live collection: read one tenant through Microsoft Graph (msgraph-sdk) into a Snapshot.

The entry point is `collect_snapshot` (in `auditor.collect.live`). This package itself imports
nothing heavy: the CLI imports `auditor.collect.options` at start-up, and msgraph-sdk and
azure-identity load only when a name below is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.collect.auth import build_credential
    from auditor.collect.live import (
        DEFAULT_CONSENT_CAPABLE_ROLE_IDS,
        collect_for_pack,
        collect_for_pack_async,
        collect_snapshot,
    )
    from auditor.collect.retry import RetryPolicy

__all__ = [
    "DEFAULT_CONSENT_CAPABLE_ROLE_IDS",
    "RetryPolicy",
    "build_credential",
    "collect_for_pack",
    "collect_for_pack_async",
    "collect_snapshot",
]

_HOMES = {
    "DEFAULT_CONSENT_CAPABLE_ROLE_IDS": "auditor.collect.live",
    "RetryPolicy": "auditor.collect.retry",
    "build_credential": "auditor.collect.auth",
    "collect_for_pack": "auditor.collect.live",
    "collect_for_pack_async": "auditor.collect.live",
    "collect_snapshot": "auditor.collect.live",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
