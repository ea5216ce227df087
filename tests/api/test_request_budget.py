"""GraphQL off the event loop, within a time budget, a byte budget and a share of threads.

Heavy requests are made heavy deterministically: a resolver (patched on the app's own
schema) blocks on a threading.Event or hands out an endless list one item at a time. The
tests assert what a client can observe, in what order, never how long anything took.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from conftest import Harness, TenantHandle, person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings
from live_servers import uvicorn_server

OPERATOR = {"Authorization": "Bearer igo_test_operator_key"}
# How long a blocked resolver waits for the test to release it: on code that runs queries
# on the event loop nothing else is answered meanwhile, and the test fails instead of hanging.
RELEASE_SECONDS = 10.0
SEARCH = '{ searchEntities(q: "x") { items { id label } } }'
ENTITY = "query($id: ID!) { entity(id: $id) { id label } }"

MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_harness(database_url: str, tmp_path: Path) -> Iterator[MakeHarness]:
    """Builds apps on this test's store with other settings (INTELGRAPH_GRAPHQL_*)."""
    with contextlib.ExitStack() as stack:
        made = 0

        def make(**overrides: Any) -> Harness:
            nonlocal made
            made += 1
            settings = Settings(
                database_url=database_url,
                data_dir=tmp_path / f"data{made}",
                operator_key="igo_test_operator_key",
                run_background_jobs=False,
                **overrides,
            )
            services = start_services(settings)
            client = stack.enter_context(TestClient(create_app(services=services)))
            return Harness(client, services, OPERATOR)

        yield make


def patch_resolver(
    monkeypatch: pytest.MonkeyPatch, app: Any, type_name: str, field: str, resolve: Any
) -> None:
    """Replace one field's resolver in every API version of this app's schema."""
    for executor in app.state.executors.values():
        graphql_field = executor.schema.type_map[type_name].fields[field]
        monkeypatch.setattr(graphql_field, "resolve", resolve)


class BlockingSearch:
    """A searchEntities resolver that blocks until released (an empty page then)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.on_return: Callable[[], None] = lambda: None

    def __call__(self, *_: Any, **__: Any) -> Any:
        self.entered.set()
        self.release.wait(RELEASE_SECONDS)
        self.on_return()
        return SimpleNamespace(items=[], total=0, next_cursor=None)


class EndlessSearch:
    """A searchEntities resolver whose page never ends: one item per pull, a little apart."""

    def __init__(self, most: int, pause: float = 0.001) -> None:
        self.most = most  # a bound, so that code without a budget still answers
        self.pause = pause
        self.pulled = 0
        self.entered = threading.Event()
        self.stop = threading.Event()

    def __call__(self, *_: Any, **__: Any) -> Any:
        return SimpleNamespace(items=self._items(), total=0, next_cursor=None)

    def _items(self) -> Iterator[Any]:
        while self.pulled < self.most and not self.stop.is_set():
            self.pulled += 1
            self.entered.set()
            time.sleep(self.pause)
            yield SimpleNamespace(id=f"e{self.pulled}", label="spinning")


def blocked_search(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, label: str = "heavy"
) -> tuple[BlockingSearch, list[str]]:
    """Make searchEntities on ``harness``'s app block until released; ``label`` is appended
    to the returned list (the order of events a test records) when the resolver returns."""
    order: list[str] = []
    search = BlockingSearch()
    search.on_return = lambda: order.append(label)
    patch_resolver(monkeypatch, harness.client.app, "Query", "searchEntities", search)
    return search, order


def in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    answer: list[Any] = []
    thread = threading.Thread(target=lambda: answer.append(call()), daemon=True)
    thread.start()
    return thread, answer


def tenant_with_entity(harness: Harness) -> tuple[TenantHandle, str]:
    tenant = harness.new_tenant()
    ingested = harness.ingest(tenant.admin_key, [person("p1", "Ada Lovelace")])
    assert ingested.status_code == 200, ingested.text
    entity_id: str = ingested.json()["ids"]["p1"]
    return tenant, entity_id


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one coded error of a response: its status and code, and no stack trace."""
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code, error
    return error  # type: ignore[no-any-return]


# --- the event loop stays free ----------------------------------------------------------------


def test_healthz_and_another_tenants_read_are_answered_while_a_heavy_query_runs(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness()
    heavy_tenant = harness.new_tenant()
    other, entity_id = tenant_with_entity(harness)
    heavy, order = blocked_search(monkeypatch, harness)

    thread, heavy_answer = in_background(lambda: harness.graphql(heavy_tenant.admin_key, SEARCH))
    try:
        assert heavy.entered.wait(RELEASE_SECONDS)
        health = harness.client.get("/healthz")
        order.append("healthz")
        read = harness.graphql(other.admin_key, ENTITY, {"id": entity_id})
        order.append("entity")
    finally:
        heavy.release.set()
        thread.join(RELEASE_SECONDS)

    assert order == ["healthz", "entity", "heavy"]
    assert health.status_code == 200
    assert read.status_code == 200, read.text
    assert read.json()["data"]["entity"] == {"id": entity_id, "label": "Ada Lovelace"}
    assert heavy_answer[0].status_code == 200, heavy_answer[0].text


def test_a_tenant_beyond_its_share_of_threads_waits_while_other_tenants_are_served(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(graphql_tenant_concurrency=1)
    busy = harness.new_tenant()
    other, entity_id = tenant_with_entity(harness)
    heavy, order = blocked_search(monkeypatch, harness)
    off_loop = harness.client.app.state.graphql_off_loop

    def read_as_busy() -> Any:
        response = harness.graphql(busy.admin_key, ENTITY, {"id": "ent_x"})
        order.append("second")
        return response

    first, _ = in_background(lambda: harness.graphql(busy.admin_key, SEARCH))
    try:
        assert heavy.entered.wait(RELEASE_SECONDS)
        second, second_answer = in_background(read_as_busy)
        assert _soon(lambda: off_loop.tenants.waiting(busy.id) == 1)  # behind its own first
        served = harness.graphql(other.admin_key, ENTITY, {"id": entity_id})
        order.append("other")
    finally:
        heavy.release.set()
        first.join(RELEASE_SECONDS)
    second.join(RELEASE_SECONDS)

    assert order == ["other", "heavy", "second"]
    assert served.status_code == 200, served.text
    assert second_answer[0].status_code == 200, second_answer[0].text


def _soon(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` holds within a few seconds (a state to reach, not a duration)."""
    for _ in range(500):
        if condition():
            return True
        time.sleep(0.01)
    return False


# --- the time budget ----------------------------------------------------------------------------


def test_a_query_past_its_time_budget_is_answered_query_timeout(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(graphql_timeout_seconds=0.5, graphql_tenant_concurrency=1)
    tenant = harness.new_tenant()
    endless = EndlessSearch(most=5_000)
    patch_resolver(monkeypatch, harness.client.app, "Query", "searchEntities", endless)

    try:
        response = harness.graphql(tenant.admin_key, SEARCH)
        # Its thread stopped too: the tenant's one place is free again for its next request.
        again = harness.graphql(tenant.admin_key, ENTITY, {"id": "ent_x"})
    finally:
        endless.stop.set()

    error = error_of(response, 504, "QUERY_TIMEOUT")
    assert error["extensions"]["category"] == "TIMEOUT"
    assert error["extensions"]["retryable"] is True
    assert error["extensions"]["timeoutSeconds"] == 0.5
    assert "0.5 s" in error["message"]
    assert endless.pulled < endless.most  # stopped by the budget, not by running out
    assert again.status_code == 200, again.text


def test_a_query_stuck_inside_one_resolver_is_answered_at_the_deadline(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(graphql_timeout_seconds=0.5)
    tenant = harness.new_tenant()
    stuck, order = blocked_search(monkeypatch, harness, "resolver returned")

    try:
        response = harness.graphql(tenant.admin_key, SEARCH)
        order.append("answered")
    finally:
        stuck.release.set()

    assert order[0] == "answered"
    error_of(response, 504, "QUERY_TIMEOUT")


def test_the_deadline_never_cuts_a_write_in_half(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mutation still waiting for a thread at its deadline writes nothing; one that has
    started writing commits and its answer says what was written."""
    harness = make_harness(graphql_timeout_seconds=0.5, graphql_threads=1)
    reader = harness.new_tenant()
    writer = harness.new_tenant()
    heavy, _ = blocked_search(monkeypatch, harness)
    mutation = (
        'mutation { ingest(entities: [{externalId: "w1", type: PERSON, label: "Wanda"}]) '
        "{ acceptedEntities ids } }"
    )

    thread, _ = in_background(lambda: harness.graphql(reader.admin_key, SEARCH))
    try:
        assert heavy.entered.wait(RELEASE_SECONDS)
        waited = harness.graphql(writer.admin_key, mutation)  # the one thread is busy
    finally:
        heavy.release.set()
        thread.join(RELEASE_SECONDS)

    error_of(waited, 504, "QUERY_TIMEOUT")
    monkeypatch.undo()  # the real search again
    found = harness.graphql(writer.admin_key, '{ searchEntities(q: "wanda") { total } }')
    assert found.json()["data"]["searchEntities"]["total"] == 0

    ingest = harness.client.app.state.executors["1.0"].schema.mutation_type.fields["ingest"]
    write = ingest.resolve

    def slow_write(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)  # twice the budget, inside the mutation, before its write
        return write(*args, **kwargs)

    patch_resolver(monkeypatch, harness.client.app, "Mutation", "ingest", slow_write)
    written = harness.graphql(writer.admin_key, mutation)

    assert written.status_code == 200, written.text
    assert written.json()["data"]["ingest"]["acceptedEntities"] == 1
    found = harness.graphql(writer.admin_key, '{ searchEntities(q: "wanda") { total } }')
    assert found.json()["data"]["searchEntities"]["total"] == 1


# --- a client that leaves -------------------------------------------------------------------------


def test_a_client_that_disconnects_cancels_its_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/intelgraph.db",
        data_dir=tmp_path / "data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
        graphql_timeout_seconds=600.0,  # only the disconnect can stop it within the test
        graphql_tenant_concurrency=1,  # the tenant's next request waits until the work ends
    )
    app = create_app(services=start_services(settings))
    endless = EndlessSearch(most=10**9)
    patch_resolver(monkeypatch, app, "Query", "searchEntities", endless)

    with (
        uvicorn_server(app) as url,
        httpx.Client(base_url=url, timeout=RELEASE_SECONDS) as client,
    ):
        host, port = client.base_url.host, int(url.rsplit(":", 1)[1])
        harness = Harness(client, app.state.services, OPERATOR)  # type: ignore[arg-type]
        tenant = harness.new_tenant()
        body = orjson.dumps({"query": SEARCH})
        request = (
            f"POST /graphql HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {tenant.admin_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            with socket.create_connection((host, port)) as connection:
                connection.sendall(request)
                assert endless.entered.wait(RELEASE_SECONDS)
            # Closed: the server reads http.disconnect and the work stops.
            is_stopped = _tenant_is_served_again(harness, tenant.admin_key)
            pulled = endless.pulled
            still = client.get("/healthz")
        finally:
            endless.stop.set()

    assert is_stopped, "the work of the disconnected request went on"
    assert endless.pulled == pulled  # nothing pulls the endless list any more
    assert pulled < endless.most
    assert still.status_code == 200
    cancelled = app.state.services.metrics.registry.get_sample_value(
        "intelgraph_http_requests_total", {"operation": "graphql", "status": "499"}
    )
    assert cancelled == 1  # answered REQUEST_CANCELLED, to nobody


def _tenant_is_served_again(harness: Harness, key: str) -> bool:
    """Whether the tenant's next GraphQL request is answered before long: while the
    disconnected request's work runs, it waits behind it for the tenant's one place."""
    try:
        response = harness.graphql(key, ENTITY, {"id": "ent_x"})
    except httpx.TimeoutException:
        return False
    return response.status_code == 200


# --- bounded answers ------------------------------------------------------------------------------


def test_an_answer_larger_than_the_limit_is_refused_response_too_large(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(graphql_max_response_bytes=20_000)
    tenant = harness.new_tenant()
    lines = [person(f"p{n}", f"Xavier {n}", notes="n" * 2_000) for n in range(30)]
    assert harness.ingest(tenant.admin_key, lines).status_code == 200
    small = '{ searchEntities(q: "xavier", limit: 3) { total items { id label } } }'
    big = '{ searchEntities(q: "xavier", limit: 30) { items { id label attributes } } }'

    answered = harness.graphql(tenant.admin_key, small)
    refused = harness.graphql(tenant.admin_key, big)

    assert answered.status_code == 200, answered.text
    assert answered.json()["data"]["searchEntities"]["total"] == 30
    error = error_of(refused, 400, "RESPONSE_TOO_LARGE")
    assert error["extensions"]["maxResponseBytes"] == 20_000
    assert error["extensions"]["responseBytes"] > 20_000
    assert "20000 bytes" in error["message"]
    assert len(refused.content) < 1_000


def test_an_answer_is_stopped_while_it_grows_past_the_limit(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(graphql_max_response_bytes=20_000)
    tenant = harness.new_tenant()
    endless = EndlessSearch(most=50_000, pause=0)
    patch_resolver(monkeypatch, harness.client.app, "Query", "searchEntities", endless)

    refused = harness.graphql(tenant.admin_key, SEARCH)

    error_of(refused, 400, "RESPONSE_TOO_LARGE")
    assert endless.pulled < 2_000  # ~30 bytes an item: stopped near 20 KB, not at the end
