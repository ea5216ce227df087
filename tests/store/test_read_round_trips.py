"""A read of one entity is one statement in autocommit (one round trip, one transaction on
PostgreSQL), and a pooled connection the server dropped while it sat idle is replaced
before it is used, not handed to a request."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from conftest import Harness, person
from intelgraph.store import engine as store_engine
from intelgraph.store.engine import create_store_engine

GET_ENTITY = "query($id: ID!) { entity(id: $id) { id label type } }"


def test_an_entity_read_is_one_statement_outside_any_transaction(harness: Harness) -> None:
    tenant = harness.new_tenant()
    ada = harness.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
    harness.graphql(tenant.admin_key, GET_ENTITY, {"id": ada})  # the key is checked, cached
    seen: list[tuple[str, bool]] = []

    def note(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi = conn.connection.dbapi_connection
        is_autocommit = (
            bool(dbapi.autocommit)
            if hasattr(dbapi, "autocommit")
            else dbapi.isolation_level is None
        )
        seen.append((statement.split()[0], is_autocommit))

    event.listen(harness.services.engine, "before_cursor_execute", note)
    try:
        answer = harness.graphql(tenant.admin_key, GET_ENTITY, {"id": ada})
    finally:
        event.remove(harness.services.engine, "before_cursor_execute", note)

    assert answer.json()["data"]["entity"]["label"] == "Ada"
    assert seen == [("SELECT", True)]


def test_a_connection_dropped_while_idle_is_replaced_before_a_request_gets_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_store_engine(postgres_url)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = create_store_engine(postgres_url)
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        monkeypatch.setattr(store_engine, "IDLE_PING_SECONDS", 0.0)

        with engine.connect() as conn:  # the pool pings the idle connection, finds it gone
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
