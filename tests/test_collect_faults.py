"""Faults while collecting: throttling and transient errors retried, 403/errors kept per source,
and the failures that stop collection with one clear line (401, unreachable, timeout)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from auditor.collect import RetryPolicy, collect_snapshot
from auditor.collect.options import AuthMode
from auditor.collect.progress import SilentProgress
from auditor.model.errors import CollectionError
from auditor.model.snapshot import CollectionTarget, Snapshot, SourceStatus
from tests.fakegraph import fixtures, scenarios
from tests.fakegraph.contract import violations
from tests.fakegraph.fixtures import live_options
from tests.fakegraph.server import FakeGraph, unused_local_url
from tests.fakegraph.tenant import GLOBAL_READER, HDM_APP_ID, FakeTenant, role_query

fake_graph = fixtures.fake_graph
TARGET = CollectionTarget(app_id=HDM_APP_ID)
NO_WAITING = RetryPolicy(max_attempts=4, max_wait=0.0, max_total_wait=1.0, backoff=0.0)


class RecordingProgress(SilentProgress):
    """Silent, but keeps every retry it is told about."""

    def __init__(self) -> None:
        self.retries: list[tuple[str, int, int, float]] = []

    def retrying(self, what: str, status: int, attempt: int, wait: float) -> None:
        self.retries.append((what, status, attempt, wait))


def collect(server: FakeGraph, policy: RetryPolicy = NO_WAITING, **kwargs: Any) -> Snapshot:
    snapshot = collect_snapshot(live_options(server), TARGET, retry_policy=policy, **kwargs)
    assert violations(server.requests, server.minted_skiptokens) == []
    return snapshot


def hits(server: FakeGraph, path: str, *, in_batch: bool | None = None) -> int:
    return sum(r.path == path and in_batch in (None, r.in_batch) for r in server.requests)


def test_403_on_one_source_is_recorded_and_the_rest_is_read(fake_graph):
    server = fake_graph(scenarios.workflow_only())
    server.fail(r"^/policies/authorizationPolicy", 403, times=None)

    snapshot = collect(server)

    source = snapshot.source("authorization_policy")
    assert source.status is SourceStatus.FORBIDDEN and source.data is None
    assert source.error.code == "Authorization_RequestDenied" and source.error.http_status == 403
    assert [name for name, s in snapshot.sources.items() if not s.ok] == ["authorization_policy"]
    assert snapshot.data("admin_consent_request_policy")["isEnabled"] is True


def test_403_on_service_principals_marks_what_depends_on_them(fake_graph):
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/servicePrincipals\?", 403, times=None)

    snapshot = collect(server)

    for name in ("service_principals", "delegated_grants", "app_role_assignments", "app_role_assigned_to"):
        source = snapshot.source(name)
        assert source.status is SourceStatus.FORBIDDEN and source.error.code == "Authorization_RequestDenied", name
    assert "service principals could not be read" in snapshot.source("delegated_grants").error.message
    assert snapshot.source("users").ok and snapshot.source("role_assignments").ok


def test_403_on_user_consent_requests_forbids_the_consent_requests(fake_graph):
    server = fake_graph(scenarios.workflow_only())
    server.fail(r"/userConsentRequests", 403, times=None, code="Authorization_RequestDenied")

    snapshot = collect(server)

    assert snapshot.source("consent_requests").status is SourceStatus.FORBIDDEN


def test_other_errors_make_the_source_an_error(fake_graph):
    server = fake_graph(scenarios.workflow_only())
    server.fail(r"^/roleManagement/", 400, times=1, code="Request_UnsupportedQuery", message="No.")

    snapshot = collect(server)

    source = snapshot.source("role_assignments")
    assert source.status is SourceStatus.ERROR
    assert source.error.model_dump() == {"code": "Request_UnsupportedQuery", "message": "No.", "http_status": 400}


@pytest.mark.parametrize("status", [429, 503, 504])
def test_throttled_sub_requests_are_retried_after_retry_after(fake_graph, status):
    tenant = scenarios.workflow_only()
    server = fake_graph(tenant)
    server.fail(r"^/organization", status, times=2, retry_after=0.01)  # in the batch, then alone: a plain GET
    # Round 2 reads one user and two groups with their members: the first three throttled, retried together.
    server.fail(r"^/(users|groups)/", status, times=3, retry_after=0.02, where="batch")
    progress = RecordingProgress()

    snapshot = collect(server, RetryPolicy(max_attempts=5, max_wait=1.0, max_total_wait=5.0), progress=progress)

    assert all(source.ok for source in snapshot.sources.values())
    assert snapshot.tenant.id == tenant.id
    assert snapshot.data("users")[tenant.refs["reviewer"]]["displayName"] == "Rita Reviewer"
    assert hits(server, "/organization", in_batch=True) == 1 and hits(server, "/organization", in_batch=False) == 2
    directory = [r for r in server.requests if r.path.startswith(("/users/", "/groups/"))]
    assert len(directory) == 5 + 3 and all(r.in_batch for r in directory)
    assert {wait for _, _, _, wait in progress.retries} == {0.01, 0.02}  # the longest Retry-After of each step
    assert {code for _, code, _, _ in progress.retries} == {status}
    assert all(not r.in_batch for r in server.requests if r.path == "/$batch")


def test_throttled_batch_call_is_retried_by_the_sdk_retry_handler(fake_graph):
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/\$batch", 429, times=2, retry_after=0)
    progress = RecordingProgress()

    snapshot = collect(server, progress=progress)

    assert all(source.ok for source in snapshot.sources.values())
    assert hits(server, "/$batch") == 2 + 2
    assert [(what, status, attempt) for what, status, attempt, _ in progress.retries] == [
        ("POST /$batch", 429, 2),
        ("POST /$batch", 429, 3),
    ]


def test_plain_get_is_retried_by_the_sdk_retry_handler(fake_graph):
    tenant = FakeTenant("Coho")
    reader = tenant.add_user("Reader")
    tenant.assign_role(GLOBAL_READER, reader)
    tenant.enable_admin_consent_workflow(role_query(GLOBAL_READER))
    server = fake_graph(tenant)
    # Round 2 is one request, the reviewer role's holders (its user comes expanded): a plain GET.
    server.fail(rf"roleDefinitionId eq '{GLOBAL_READER}'", 503, times=2, retry_after=0, where="plain")

    snapshot = collect(server)

    assert snapshot.data("users")[reader]["displayName"] == "Reader"
    assert hits(server, "/roleManagement/directory/roleAssignments", in_batch=False) == 3


def test_retries_stop_after_max_attempts(fake_graph):
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/policies/adminConsentRequestPolicy", 503, times=None)  # in the batch, then alone

    snapshot = collect(server, RetryPolicy(max_attempts=3, max_wait=0.0, max_total_wait=1.0, backoff=0.0))

    source = snapshot.source("admin_consent_request_policy")
    assert source.status is SourceStatus.ERROR and source.error.code == "ServiceUnavailable"
    assert hits(server, "/policies/adminConsentRequestPolicy") == 3


def test_retries_stop_when_the_wait_budget_is_spent(fake_graph):
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/organization", 429, times=None, retry_after=30)
    progress = RecordingProgress()

    snapshot = collect(server, RetryPolicy(max_attempts=10, max_wait=0.01, max_total_wait=0.025), progress=progress)

    assert snapshot.source("organization").error.code == "TooManyRequests"
    assert [wait for *_, wait in progress.retries] == [0.01, 0.01]  # capped, then the budget is spent
    assert hits(server, "/organization") == 3


def test_wrong_token_is_a_collection_error_without_the_token(fake_graph, monkeypatch):
    server = fake_graph(scenarios.fully_consented())
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", "wrong-secret-token-value")

    with pytest.raises(CollectionError) as caught:
        collect_snapshot(live_options(server), TARGET)

    message = str(caught.value)
    assert "rejected the credentials" in message and "InvalidAuthenticationToken" in message
    assert "wrong-secret-token-value" not in message and server.token not in message
    assert "\n" not in message
    assert [r.authorized for r in server.requests if not r.in_batch] == [False]


def test_401_inside_a_batch_is_a_collection_error(fake_graph):
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/organization", 401, where="batch")

    with pytest.raises(CollectionError, match="HTTP 401 InvalidAuthenticationToken"):
        collect(server)


def test_server_down_is_a_collection_error(monkeypatch):
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", "token")
    url = unused_local_url()

    with pytest.raises(CollectionError) as caught:
        collect_snapshot(live_options(url), TARGET)

    assert str(caught.value) == (
        f"Microsoft Graph at {url} refused the connection: check --graph-url and that the endpoint is up"
    )


def test_unresolvable_host_is_a_collection_error(monkeypatch):
    monkeypatch.setenv("AUDITOR_ACCESS_TOKEN", "token")

    with pytest.raises(CollectionError, match=r"cannot resolve graph\.invalid: check --graph-url"):
        collect_snapshot(live_options("https://graph.invalid/v1.0"), TARGET)


def test_timeout_makes_the_sources_of_the_request_errors(fake_graph):
    server = fake_graph(scenarios.fully_consented())
    server.fail(r"^/\$batch", hang=True)

    snapshot = collect_snapshot(live_options(server, timeout=0.2), TARGET)

    source = snapshot.source("organization")
    assert source.status is SourceStatus.ERROR and source.error.code == "Timeout"
    assert source.error.message == "no complete answer within the timeout of 0.2 s"


@pytest.mark.skipif(shutil.which("az") is not None, reason="needs a machine without the Azure CLI")
def test_failed_sign_in_is_a_collection_error(fake_graph):
    server = fake_graph(scenarios.fully_consented())

    with pytest.raises(CollectionError, match=r"^sign-in failed: .*Azure CLI"):
        collect_snapshot(live_options(server, auth=AuthMode.AZURE_CLI), TARGET)

    assert server.requests == []
