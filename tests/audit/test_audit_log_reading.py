"""Who may read the audit log: every operator role (audit.read), a tenant admin its own
tenant's records only, nobody else."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from intelgraph.audit.log import AuditLog
from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import POLICY_DENIED, IntelGraphError
from intelgraph.kernel.tenancy import Principal, local_operator
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_store_engine(database_url)
    migrate.upgrade_if_behind(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def tenants(engine: Engine) -> tuple[str, str]:
    """Two tenants with one audit record each."""
    uow = UnitOfWorkFactory(engine, ManualClock(datetime(2026, 12, 7, tzinfo=UTC)))
    mine, theirs = f"t_{secrets.token_hex(6)}", f"t_{secrets.token_hex(6)}"
    with uow() as unit:
        for tenant_id in (mine, theirs):
            unit.audit(
                local_operator("alice"), "tenant.create", f"tenant:{tenant_id}", tenant_id=tenant_id
            )
        unit.commit()
    return mine, theirs


@pytest.mark.parametrize("role", ["auditor", "billing-admin", "trust-admin", "platform-admin"])
def test_every_operator_role_may_read_any_tenants_audit_records(
    engine: Engine, tenants: tuple[str, str], role: str
) -> None:
    mine, theirs = tenants
    operator = Principal(None, "k", "ann", (role,), is_operator=True)
    log = AuditLog(engine, PolicyEngine())

    assert [r.target for r in log.list_records(operator, theirs)] == [f"tenant:{theirs}"]
    everything = {r.tenant_id for r in log.list_records(operator, None, limit=1000)}
    assert {mine, theirs} <= everything


def test_a_tenant_admin_reads_only_its_own_tenants_records_whatever_it_names(
    engine: Engine, tenants: tuple[str, str]
) -> None:
    mine, theirs = tenants
    admin = Principal(mine, "k", "carol", ("admin",))
    log = AuditLog(engine, PolicyEngine())

    for wanted in (None, theirs):
        assert {r.tenant_id for r in log.list_records(admin, wanted)} == {mine}


@pytest.mark.parametrize(
    "principal",
    [
        Principal("t_x", "k", "vic", ("viewer",)),
        Principal("t_x", "k", "ana", ("analyst",)),
        Principal(None, "k", "nobody", (), is_operator=True),
    ],
    ids=["viewer", "analyst", "operator-without-a-role"],
)
def test_anyone_else_is_refused_the_audit_log(engine: Engine, principal: Principal) -> None:
    with pytest.raises(IntelGraphError) as refused:
        AuditLog(engine, PolicyEngine()).list_records(principal)
    assert refused.value.error is POLICY_DENIED
