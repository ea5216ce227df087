"""Records the store did not keep give their ingest_eps allowance back.

A batch is charged before it is stored; lines only the store can refuse (a relationship to
an unknown entity, a changed type) are refunded from the very charge that took them, on
memory and on Redis, over REST and GraphQL.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from conftest import Harness, TenantHandle, edge
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.kernel.clock import SystemClock
from intelgraph.quotas import QuotaDecision
from intelgraph.quotas.windows import MemoryWindows, MovingWindows, RedisWindows
from intelgraph.settings import Settings
from intelgraph.tenants.plans import LimitName
from quotas.conftest import StackFactory
from quotas.ingest_allowance import ALLOWANCE, people, tenant_with_small_allowance
from quotas.stack import REDIS_URL, Stack, build_stack, delete_prefix, limits, unique_prefix

CLOSED_PORT = "redis://127.0.0.1:1/0"

# --- the engine ---------------------------------------------------------------------------


def charged(
    make_stack: StackFactory, *, records: int, per_second: int = 5
) -> tuple[Stack, str, QuotaDecision]:
    """A stack allowing ``per_second`` ingest records, a new tenant, and its charge for
    ``records`` of them."""
    stack = make_stack(limits(ingest_eps=per_second))
    tenant = stack.tenant()
    return stack, tenant, stack.engine.charge_ingest(tenant, records, per_second)


def test_a_refund_gives_back_the_records_the_store_did_not_keep(make_stack: StackFactory) -> None:
    stack, tenant, charge = charged(make_stack, records=5)

    after = stack.engine.refund_ingest(tenant, charge, stored=2)

    assert (charge.remaining, after.remaining) == (0, 3)
    assert after.is_allowed and after.headers()["RateLimit"].startswith('"ingest_eps";r=3;')
    assert stack.engine.charge_ingest(tenant, 3, 5).is_allowed
    assert not stack.engine.charge_ingest(tenant, 1, 5).is_allowed  # what was kept still counts


def test_a_batch_that_stored_nothing_leaves_the_whole_allowance(make_stack: StackFactory) -> None:
    stack, tenant, charge = charged(make_stack, records=5)

    after = stack.engine.refund_ingest(tenant, charge, stored=0)

    assert (after.remaining, after.reset_seconds) == (5, 0)
    assert stack.engine.charge_ingest(tenant, 5, 5).is_allowed


def test_a_refund_takes_back_only_its_own_charge(make_stack: StackFactory) -> None:
    stack, tenant, first = charged(make_stack, records=3)
    stack.engine.charge_ingest(tenant, 2, 5)  # another batch, stored whole

    stack.engine.refund_ingest(tenant, first, stored=0)

    assert not stack.engine.charge_ingest(tenant, 4, 5).is_allowed  # the other 2 still count
    assert stack.engine.charge_ingest(tenant, 3, 5).is_allowed


def test_a_batch_over_the_allowance_that_stored_the_allowance_keeps_the_window_full(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(limits(ingest_eps=10))
    tenant, other = stack.tenant(), stack.tenant()
    kept_most = stack.engine.charge_ingest(tenant, 25, 10)
    kept_few = stack.engine.charge_ingest(other, 25, 10)

    stack.engine.refund_ingest(tenant, kept_most, stored=12)
    stack.engine.refund_ingest(other, kept_few, stored=4)

    assert not stack.engine.charge_ingest(tenant, 1, 10).is_allowed
    assert stack.engine.charge_ingest(other, 6, 10).is_allowed
    assert not stack.engine.charge_ingest(other, 1, 10).is_allowed


def test_a_refund_after_its_charge_left_the_window_gives_nothing_back(
    make_stack: StackFactory,
) -> None:
    stack, tenant, slow = charged(make_stack, records=5)
    stack.let_time_pass(1.05)  # the window is 1 s: the slow batch's charge has left it
    stack.engine.charge_ingest(tenant, 5, 5)

    after = stack.engine.refund_ingest(tenant, slow, stored=0)

    assert after.remaining == 0
    assert not stack.engine.charge_ingest(tenant, 1, 5).is_allowed


def test_refused_and_unchecked_charges_refund_nothing(make_stack: StackFactory) -> None:
    stack, tenant, _ = charged(make_stack, records=5)
    refused = stack.engine.charge_ingest(tenant, 2, 5)

    assert stack.engine.refund_ingest(tenant, refused, stored=0) == refused
    assert not stack.engine.charge_ingest(tenant, 1, 5).is_allowed


def test_a_refund_on_an_unreachable_redis_changes_nothing_and_is_counted(redis_up: None) -> None:
    prefix = unique_prefix()
    try:
        stack = build_stack(limits(ingest_eps=5), REDIS_URL, prefix)
        cut = build_stack(limits(ingest_eps=5), CLOSED_PORT, prefix)
        tenant = stack.tenant()
        charge = stack.engine.charge_ingest(tenant, 5, 5)

        after = cut.engine.refund_ingest(tenant, charge, stored=0)

        assert after == charge
        assert cut.sample("intelgraph_quota_backend_errors_total", operation="ingest_refund") == 1
    finally:
        delete_prefix(prefix)


# --- the windows: refund arithmetic (a 60 s window, so no example outlives it) -------------


@pytest.fixture(scope="module")
def redis_windows() -> Iterator[RedisWindows]:
    prefix = unique_prefix()
    yield RedisWindows(REDIS_URL, prefix)
    delete_prefix(prefix)


@pytest.fixture(scope="module", params=["memory", "redis"])
def windows(request: pytest.FixtureRequest) -> MovingWindows:
    if request.param == "redis":
        request.getfixturevalue("redis_up")
        found: MovingWindows = request.getfixturevalue("redis_windows")
        return found
    return MemoryWindows(SystemClock())


@given(
    quota=st.integers(min_value=1, max_value=30),
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=12), st.integers(min_value=0, max_value=15)),
        min_size=1,
        max_size=10,
    ),
)
@settings(max_examples=60, deadline=None)
def test_refunds_free_exactly_what_the_store_did_not_keep(
    windows: MovingWindows, quota: int, steps: list[tuple[int, int]]
) -> None:
    tenant = f"ten_{secrets.token_hex(6)}"
    used = 0
    for cost, stored in steps:
        state = windows.acquire(LimitName.API_RPM, tenant, quota, cost)
        assert state.is_acquired == (used + cost <= quota)
        if not state.is_acquired or cost == 0:
            continue
        used += cost
        assert state.charged_at is not None
        unstored = cost - min(cost, stored)
        refunded = windows.refund(LimitName.API_RPM, tenant, state.charged_at, unstored)
        assert refunded == unstored
        used -= refunded
        assert windows.acquire(LimitName.API_RPM, tenant, quota, 0).remaining == quota - used


def test_a_refund_never_gives_back_more_than_was_charged(windows: MovingWindows) -> None:
    tenant = f"ten_{secrets.token_hex(6)}"
    state = windows.acquire(LimitName.INGEST_EPS, tenant, 5, 4)
    assert state.charged_at is not None

    assert windows.refund(LimitName.INGEST_EPS, tenant, state.charged_at, 9) == 4
    assert windows.refund(LimitName.INGEST_EPS, tenant, state.charged_at, 9) == 0
    assert windows.acquire(LimitName.INGEST_EPS, tenant, 5, 5).is_acquired
    assert not windows.acquire(LimitName.INGEST_EPS, tenant, 5, 1).is_acquired


def test_a_refund_of_a_whole_window_leaves_no_redis_keys(redis_windows: RedisWindows) -> None:
    tenant = f"ten_{secrets.token_hex(6)}"
    state = redis_windows.acquire(LimitName.INGEST_EPS, tenant, 5, 4)
    assert state.charged_at is not None

    assert redis_windows.refund(LimitName.INGEST_EPS, tenant, state.charged_at, 4) == 4

    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.exists(*redis_windows.keys(LimitName.INGEST_EPS, tenant)) == 0
    finally:
        client.close()


# --- over HTTP: REST and GraphQL, SQLite and PostgreSQL, memory and Redis quotas ------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "sqlite-redis"])
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    """One app per store (and one with its quotas on Redis); tests make their own tenants."""
    tmp: Path = tmp_path_factory.mktemp("app")
    store, _, quotas = str(request.param).partition("-")
    if quotas:
        request.getfixturevalue("redis_up")
    url = (
        f"sqlite:///{tmp}/intelgraph.db"
        if store == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    app_settings = Settings(
        database_url=url,
        data_dir=tmp / "data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
        redis_url=REDIS_URL if quotas else None,
    )
    services = start_services(app_settings)
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": f"Bearer {app_settings.operator_key}"})


def ghost_edges(n: int) -> list[dict[str, Any]]:
    return [edge("CONNECTED_TO", f"ghost-{i}", f"phantom-{i}") for i in range(n)]


def ingest_events(harness: Harness, tenant: TenantHandle) -> int:
    now = datetime.now(UTC)
    usage = harness.services.metering.usage_totals(
        tenant.id, now - timedelta(hours=1), now + timedelta(hours=1)
    )
    return usage["ingest_events"]


def assert_rate_exceeded(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "INGEST_RATE_EXCEEDED"


def test_a_partial_batch_of_unknown_relationship_ends_stores_nothing_and_costs_nothing(
    app: Harness,
) -> None:
    tenant = tenant_with_small_allowance(app)

    ghosts = app.ingest(tenant.admin_key, ghost_edges(ALLOWANCE), partial="true")
    stored = app.ingest(tenant.admin_key, people("a", ALLOWANCE))
    over = app.ingest(tenant.admin_key, people("b", 1))

    assert ghosts.status_code == 200, ghosts.text
    assert ghosts.json()["accepted"] == {"entities": 0, "relationships": 0}
    assert {e["line"] for e in ghosts.json()["lineErrors"]} == {1, 2, 3}
    assert ghosts.headers["ratelimit"].startswith(f'"ingest_eps";r={ALLOWANCE};t=0')
    assert stored.status_code == 200, stored.text  # 429 before refunds
    assert_rate_exceeded(over)  # what was stored did use the allowance
    assert ingest_events(app, tenant) == ALLOWANCE  # metered: stored records only


def test_a_partial_batch_is_charged_only_for_the_lines_it_stored(app: Harness) -> None:
    tenant = tenant_with_small_allowance(app)

    mixed = app.ingest(tenant.admin_key, [*people("a", 2), *ghost_edges(1)], partial="true")
    fits = app.ingest(tenant.admin_key, people("b", 1))
    over = app.ingest(tenant.admin_key, people("c", 1))

    assert mixed.status_code == 200, mixed.text
    assert mixed.json()["accepted"] == {"entities": 2, "relationships": 0}
    assert fits.status_code == 200, fits.text
    assert_rate_exceeded(over)
    assert ingest_events(app, tenant) == ALLOWANCE


def test_a_batch_the_store_refuses_whole_costs_nothing(app: Harness) -> None:
    tenant = tenant_with_small_allowance(app)

    refused = app.ingest(tenant.admin_key, [*people("a", 2), *ghost_edges(1)])
    stored = app.ingest(tenant.admin_key, people("b", ALLOWANCE))

    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "INGEST_INVALID"
    assert stored.status_code == 200, stored.text
    assert app.services.graph.counts(tenant.id)["entities"] == ALLOWANCE


def test_an_ingest_mutation_of_unknown_relationship_ends_costs_nothing(app: Harness) -> None:
    tenant = tenant_with_small_allowance(app)
    relationships = [
        {"type": "CONNECTED_TO", "from": f"ghost-{i}", "to": f"phantom-{i}"}
        for i in range(ALLOWANCE)
    ]

    ghosts = app.graphql(
        tenant.admin_key,
        "mutation($r: [RelationshipInput!]) {"
        " ingest(relationships: $r, partial: true) { acceptedRelationships errors { line } } }",
        {"r": relationships},
    )
    stored = app.ingest(tenant.admin_key, people("a", ALLOWANCE))

    assert ghosts.status_code == 200, ghosts.text
    answer = ghosts.json()["data"]["ingest"]
    assert answer["acceptedRelationships"] == 0
    assert {e["line"] for e in answer["errors"]} == {1, 2, 3}
    assert stored.status_code == 200, stored.text
