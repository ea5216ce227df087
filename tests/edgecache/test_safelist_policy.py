"""The safelist service decides itself who may change it: platform operators with
tenant.admin, whoever calls it (REST, CLI or code)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from edgecache.support import GET_ENTITY
from intelgraph.audit.service import list_records
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import POLICY_DENIED, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.persisted.registry import PersistedQueryRegistry
from intelgraph.persisted.safelist import Safelist
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine

PLATFORM_ADMIN = Principal(None, "k", "bob", ("platform-admin",), is_operator=True)
REFUSED = [
    Principal("t_one", "k", "carol", ("admin",)),
    Principal(None, "k", "ann", ("auditor",), is_operator=True),
    Principal(None, "k", "bill", ("billing-admin",), is_operator=True),
]


@pytest.fixture
def safelist(database_url: str) -> Iterator[Safelist]:
    engine: Engine = create_store_engine(database_url)
    migrate.upgrade_if_behind(engine)
    clock = ManualClock(datetime(2026, 12, 7, tzinfo=UTC))
    policy = PolicyEngine()
    registry = PersistedQueryRegistry(engine, clock, policy)
    registry.sync_shipped_manifest()
    safelist = Safelist(engine, clock, registry, policy)
    safelist.sync_shipped()
    yield safelist
    safelist.set_entry(PLATFORM_ADMIN, GET_ENTITY, 30, reason="restore the shipped entry")
    engine.dispose()


@pytest.mark.parametrize("principal", REFUSED, ids=["tenant-admin", "auditor", "billing-admin"])
def test_a_safelist_change_by_anyone_but_a_platform_admin_is_refused_and_changes_nothing(
    safelist: Safelist, principal: Principal
) -> None:
    before = safelist.refresh().by_operation[GET_ENTITY]
    for change in (
        lambda: safelist.set_entry(principal, GET_ENTITY, 5, reason="faster"),
        lambda: safelist.remove_entry(principal, GET_ENTITY, reason="off"),
        lambda: safelist.list_entries(principal),
    ):
        with pytest.raises(IntelGraphError) as refused:
            change()
        assert refused.value.error is POLICY_DENIED
    assert safelist.refresh().by_operation[GET_ENTITY] == before


def test_a_platform_admin_changes_the_safelist_and_the_record_names_them(
    database_url: str, safelist: Safelist
) -> None:
    reason = f"hot churn {secrets.token_hex(4)}"
    entry = safelist.set_entry(PLATFORM_ADMIN, GET_ENTITY, 7, reason=reason)

    assert entry.ttl == 7
    listed = {row["operationId"]: row for row in safelist.list_entries(PLATFORM_ADMIN)}
    assert listed[GET_ENTITY]["updatedBy"] == "operator:bob"
    engine = create_store_engine(database_url)
    try:
        (record,) = [r for r in list_records(engine, limit=1000) if r.reason == reason]
    finally:
        engine.dispose()
    assert (record.action, record.actor) == ("edge_cache.safelist.set", "operator:bob")
    assert record.new_value == {"ttl": 7, "graphDerived": False, "cached": True}
