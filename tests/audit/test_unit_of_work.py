"""A unit of work keeps a change and its audit record together: both, or neither."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from intelgraph.audit.service import list_records
from intelgraph.audit.unit_of_work import UnitOfWork, UnitOfWorkFactory
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import local_operator
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine
from intelgraph.store.tables import platform_settings


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_store_engine(database_url)
    migrate.upgrade_if_behind(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine, ManualClock(datetime(2026, 12, 7, tzinfo=UTC)))


def change(unit: UnitOfWork, tenant_id: str) -> None:
    unit.conn.execute(
        insert(platform_settings).values(name=tenant_id, value={"on": True}, updated_at=unit.now)
    )
    unit.audit(local_operator("alice"), "setting.set", f"setting:{tenant_id}", tenant_id=tenant_id)


def stored(engine: Engine, name: str) -> bool:
    with engine.connect() as conn:
        query = select(platform_settings).where(platform_settings.c.name == name)
        return conn.execute(query).first() is not None


def test_a_committed_unit_keeps_the_change_and_a_record_naming_the_person(
    engine: Engine, uow: UnitOfWorkFactory
) -> None:
    tenant_id = f"t_{secrets.token_hex(6)}"
    with uow() as unit:
        change(unit, tenant_id)
        unit.commit()

    assert stored(engine, tenant_id)
    (entry,) = list_records(engine, tenant_id)
    assert entry.actor == "cli:alice" and entry.action == "setting.set"


def test_a_unit_left_without_commit_keeps_neither_change_nor_record(
    engine: Engine, uow: UnitOfWorkFactory
) -> None:
    tenant_id = f"t_{secrets.token_hex(6)}"
    with uow() as unit:
        change(unit, tenant_id)

    assert not stored(engine, tenant_id)
    assert list_records(engine, tenant_id) == []


def test_an_error_inside_a_unit_rolls_back_the_change_and_its_record(
    engine: Engine, uow: UnitOfWorkFactory
) -> None:
    tenant_id = f"t_{secrets.token_hex(6)}"
    with pytest.raises(IntelGraphError), uow() as unit:
        change(unit, tenant_id)
        raise IntelGraphError(VALIDATION, "the change was refused after it was written")

    assert not stored(engine, tenant_id)
    assert list_records(engine, tenant_id) == []
