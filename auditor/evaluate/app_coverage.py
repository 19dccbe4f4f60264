"""`scan --snapshot --app-id X`: whether the snapshot holds what the rules read about app X.

The collector reads the grants and app role assignments (and looks up the service principal) of
the app it was asked for (`target.app_id`), of the legacy app ids, and of the service principals
named like the app. Asked about another app, a snapshot has no lists for it: empty lists would pass
the grant rules, so those sources are `error` for this scan instead ("collect again with --app-id").
"""

from __future__ import annotations

from auditor.model.graph_objects import text
from auditor.model.snapshot import GraphError, Snapshot, Source, SourceStatus

# Read per service principal found (requests 6-8 of DESIGN §3).
PER_APP_SOURCES = ("delegated_grants", "app_role_assignments", "app_role_assigned_to")


def _collected_by_name(snapshot: Snapshot, app_id: str) -> tuple[bool, bool]:
    """(whether the app's service principal is in the snapshot, whether its lists were read as a name match)."""
    prefix = snapshot.target.app_display_name.casefold()
    found = [sp for sp in snapshot.data("service_principals") if text(sp, "appId").lower() == app_id]
    return bool(found), any(text(sp, "displayName").casefold().startswith(prefix) for sp in found)


def for_app(snapshot: Snapshot, app_id: str | None) -> Snapshot:
    """The snapshot as evaluating `app_id` may use it: unchanged when it was collected for that app,
    else with the sources never read for it marked `error`."""
    target = snapshot.target
    if not app_id or not snapshot.source("service_principals").ok:
        return snapshot
    app_id = app_id.lower()
    if app_id in {known.lower() for known in [target.app_id or "", *target.legacy_app_ids]}:
        return snapshot
    present, lists_read = _collected_by_name(snapshot, app_id)
    if lists_read:
        return snapshot
    names = (*PER_APP_SOURCES, *(() if present else ("service_principals",)))
    error = GraphError(code="NotCollected", message=f"not collected for this app; collect again with --app-id {app_id}")
    unread = {name: Source(status=SourceStatus.ERROR, error=error) for name in names if snapshot.source(name).ok}
    return snapshot.model_copy(update={"sources": {**snapshot.sources, **unread}})
