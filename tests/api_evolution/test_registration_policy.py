"""The persisted-query registry decides itself who may register where: operators with
tenant.admin at platform scope (or for a tenant), a tenant admin in its own scope only."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import POLICY_DENIED, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.persisted.registry import PLATFORM, PersistedQueryRegistry, document_sha256
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine

PLATFORM_ADMIN = Principal(None, "k", "bob", ("platform-admin",), is_operator=True)
AUDITOR = Principal(None, "k", "ann", ("auditor",), is_operator=True)


def document() -> str:
    """A document no other test registered (the PostgreSQL database is shared)."""
    return f"query Q{secrets.token_hex(6)} {{ apiVersion }}"


@pytest.fixture
def registry(database_url: str) -> Iterator[PersistedQueryRegistry]:
    engine: Engine = create_store_engine(database_url)
    migrate.upgrade_if_behind(engine)
    clock = ManualClock(datetime(2026, 12, 7, tzinfo=UTC))
    yield PersistedQueryRegistry(engine, clock, PolicyEngine())
    engine.dispose()


def test_an_auditor_may_not_register_a_platform_operation_or_load_a_manifest(
    registry: PersistedQueryRegistry,
) -> None:
    text = document()
    for attempt in (
        lambda: registry.register(AUDITOR, text, "auditorOp:v1"),
        lambda: registry.register_manifest(AUDITOR, {"operations": [{"document": text}]}),
    ):
        with pytest.raises(IntelGraphError) as refused:
            attempt()
        assert refused.value.error is POLICY_DENIED
    assert registry.find_by_hash(PLATFORM, document_sha256(text)) is None


def test_a_platform_admin_registers_at_platform_scope_as_an_operator(
    registry: PersistedQueryRegistry,
) -> None:
    registered = registry.register(PLATFORM_ADMIN, document())

    assert (registered.tenant_id, registered.origin) == (PLATFORM, "operator")


def test_a_tenant_admin_registers_in_its_own_scope_and_not_in_another_tenants(
    registry: PersistedQueryRegistry,
) -> None:
    mine = f"t_{secrets.token_hex(6)}"
    admin = Principal(mine, "k", "carol", ("admin",))
    viewer = Principal(mine, "k", "vic", ("viewer",))

    registered = registry.register(admin, document())
    assert (registered.tenant_id, registered.origin) == (mine, "tenant")
    for principal, tenant_id in ((admin, f"t_{secrets.token_hex(6)}"), (viewer, None)):
        with pytest.raises(IntelGraphError) as refused:
            registry.register(principal, document(), tenant_id=tenant_id)
        assert refused.value.error is POLICY_DENIED
