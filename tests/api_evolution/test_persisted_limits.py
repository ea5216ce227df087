"""Persisted operations cannot be used as free storage: APQ text is stored only once it
parsed and validated, every tenant has caps on how many operations and bytes it holds, and
the listing comes a page at a time.

Apps here run with small caps (8 operations, 4,096 bytes per tenant), on both stores.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import Harness, TenantHandle
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.settings import Settings
from intelgraph.store.tables import persisted_queries

MAX_OPERATIONS = 8
MAX_BYTES = 4_096
OPERATOR_KEY = "igo_test_operator_key"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The harness's settings with small persisted-operation caps."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        operator_key=OPERATOR_KEY,
        run_background_jobs=False,
        persisted_max_operations=MAX_OPERATIONS,
        persisted_max_bytes=MAX_BYTES,
    )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def query(n: int) -> str:
    return f"query Q{n} {{ __typename }}"


def send_apq(harness: Harness, key: str, text: str, **headers: str) -> Any:
    body = {
        "query": text,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}},
    }
    return harness.client.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {key}"} | headers
    )


def register(harness: Harness, key: str, document: str) -> Any:
    return harness.client.post(
        "/v1/persisted-queries",
        json={"document": document},
        headers={"Authorization": f"Bearer {key}"},
    )


def stored(harness: Harness, tenant_id: str) -> int:
    """Rows the store holds for the tenant, counted in the database itself."""
    with harness.services.engine.connect() as conn:
        count = conn.execute(
            select(func.count()).where(persisted_queries.c.tenant_id == tenant_id)
        ).scalar_one()
    return int(count)


def error(response: Any) -> dict[str, Any]:
    extensions: dict[str, Any] = response.json()["errors"][0]["extensions"]
    return extensions


def fill(harness: Harness, tenant: TenantHandle, count: int) -> None:
    for n in range(count):
        response = send_apq(harness, tenant.admin_key, query(n))
        assert response.status_code == 200, response.text


# --- APQ stores only documents that parse and validate ---------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "x" * 900_000,  # the issue's ~1 MB of arbitrary text
        "this is not GraphQL {",
        "{ noSuchField }",
    ],
    ids=["one-megabyte-of-text", "syntax-error", "unknown-field"],
)
def test_apq_text_that_does_not_validate_is_refused_and_not_stored(
    harness: Harness, text: str
) -> None:
    tenant = harness.new_tenant()
    response = send_apq(harness, tenant.admin_key, text)
    assert response.status_code == 400, response.text[:500]
    assert error(response)["category"] == "VALIDATION"
    assert stored(harness, tenant.id) == 0


def test_apq_text_is_registered_once_it_validates_for_the_requests_api_version(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    only_in_v1_1 = "query V { apiVersion }"
    refused = send_apq(harness, tenant.admin_key, only_in_v1_1, **{"X-IG-Api-Version": "1.0"})
    assert refused.status_code == 400, refused.text
    assert stored(harness, tenant.id) == 0

    accepted = send_apq(harness, tenant.admin_key, only_in_v1_1, **{"X-IG-Api-Version": "1.1"})
    assert accepted.status_code == 200, accepted.text
    assert stored(harness, tenant.id) == 1
    by_hash = harness.client.post(
        "/graphql",
        json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(only_in_v1_1)}}},
        headers=tenant.headers | {"X-IG-Api-Version": "1.1"},
    )
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json()["data"] == {"apiVersion": "1.1"}


# --- caps --------------------------------------------------------------------------------------


def test_a_full_tenant_is_refused_new_operations_but_keeps_running_its_own(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    fill(harness, tenant, MAX_OPERATIONS)

    refused = send_apq(harness, tenant.admin_key, query(MAX_OPERATIONS))
    assert refused.status_code == 409, refused.text
    details = error(refused)
    assert details["code"] == "PERSISTED_QUERY_LIMIT"
    assert details["retryable"] is False
    assert details["limit"] == "persisted_max_operations"
    assert details["maxOperations"] == MAX_OPERATIONS
    assert details["operations"] == MAX_OPERATIONS
    assert stored(harness, tenant.id) == MAX_OPERATIONS
    # What the tenant already holds keeps running, and registering it again needs no room.
    assert send_apq(harness, tenant.admin_key, query(0)).status_code == 200
    assert register(harness, tenant.admin_key, query(0)).status_code == 201
    # A deprecated field's rewrite hint would be a new registration: the answer comes without.
    uses_deprecated = '{ getEntity(id: "nope") { id } }'
    deprecated = harness.graphql(tenant.admin_key, uses_deprecated)
    assert deprecated.status_code == 200, deprecated.text
    assert "rewriteHint" not in deprecated.json().get("extensions", {})
    with_room = harness.graphql(harness.new_tenant().admin_key, uses_deprecated)
    assert "rewriteHint" in with_room.json()["extensions"]
    assert stored(harness, tenant.id) == MAX_OPERATIONS


def test_the_byte_cap_counts_utf8_bytes_of_registered_documents(harness: Harness) -> None:
    tenant = harness.new_tenant()
    # 1,500 characters of comment, 3,000 bytes: under the cap by characters and by bytes.
    first = register(harness, tenant.admin_key, "# " + "é" * 1_500 + "\nquery A { __typename }")
    assert first.status_code == 201, first.text
    # 600 characters more (2,100 in all, under 4,096) but 1,200 bytes more (over 4,096).
    second = register(harness, tenant.admin_key, "# " + "é" * 600 + "\nquery B { __typename }")
    assert second.status_code == 409, second.text
    details = error(second)
    assert details["code"] == "PERSISTED_QUERY_LIMIT"
    assert details["limit"] == "persisted_max_bytes"
    assert details["maxBytes"] == MAX_BYTES
    assert details["bytes"] == len(("# " + "é" * 1_500 + "\nquery A { __typename }").encode())
    assert stored(harness, tenant.id) == 1


def test_concurrent_registrations_never_overshoot_the_cap(harness: Harness) -> None:
    tenant = harness.new_tenant()
    registry = harness.services.persisted_queries
    outcomes: list[str] = []
    start = threading.Barrier(16)

    def one(n: int) -> None:
        start.wait()
        try:
            registry.register_served(tenant.id, query(n), origin="apq")
            outcomes.append("stored")
        except IntelGraphError as err:
            outcomes.append(err.code)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == sorted(
        ["stored"] * MAX_OPERATIONS + ["PERSISTED_QUERY_LIMIT"] * (16 - MAX_OPERATIONS)
    )
    assert stored(harness, tenant.id) == MAX_OPERATIONS


def test_a_manifest_past_the_cap_registers_nothing_from_the_cli(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    tenant = harness.new_tenant()
    fill(harness, tenant, MAX_OPERATIONS - 2)
    manifest = tmp_path / "manifest.json"
    operations = [{"id": f"op{n}:v1", "document": query(100 + n)} for n in range(3)]
    manifest.write_bytes(orjson.dumps({"operations": operations}))
    env = {
        "INTELGRAPH_DATABASE_URL": settings.database_url,
        "INTELGRAPH_DATA_DIR": str(settings.data_dir),
        "INTELGRAPH_OPERATOR_KEY": OPERATOR_KEY,
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "INTELGRAPH_PERSISTED_MAX_OPERATIONS": str(MAX_OPERATIONS),
        "COLUMNS": "200",
    }
    cli_services.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["pq", "register", str(manifest), "--tenant", tenant.slug], env=env
        )
    finally:
        cli_services.cache_clear()

    assert result.exit_code == 1, result.output
    assert "PERSISTED_QUERY_LIMIT" in result.output
    assert stored(harness, tenant.id) == MAX_OPERATIONS - 2


# --- paginated listing ------------------------------------------------------------------------


def visible(harness: Harness, tenant_id: str) -> list[str]:
    """sha256 of every operation the tenant may list, read from the database."""
    with harness.services.engine.connect() as conn:
        rows = conn.execute(
            select(persisted_queries.c.sha256).where(
                persisted_queries.c.tenant_id.in_(["platform", tenant_id])
            )
        ).all()
    return [row.sha256 for row in rows]


def test_the_listing_pages_cover_every_operation_exactly_once(harness: Harness) -> None:
    tenant = harness.new_tenant()
    fill(harness, tenant, MAX_OPERATIONS - 1)
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params = {"limit": "3"} | ({"after": after} if after else {})
        response = harness.client.get(
            "/v1/persisted-queries", params=params, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["operations"]) <= 3
        seen += [op["sha256"] for op in body["operations"]]
        pages += 1
        after = body["nextCursor"]
        if after is None:
            break
    expected = visible(harness, tenant.id)
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))  # nothing twice
    assert pages == -(-len(expected) // 3)
    # The platform's first, then the tenant's own, oldest first.
    own = [sha256(query(n)) for n in range(MAX_OPERATIONS - 1)]
    assert seen[-len(own) :] == own


def test_the_listing_defaults_to_one_hundred_and_refuses_more_than_five_hundred(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    first = harness.client.get("/v1/persisted-queries", headers=tenant.headers)
    assert first.status_code == 200, first.text
    assert len(first.json()["operations"]) <= 100
    for limit in ("501", "0", "ten", "٣"):
        refused = harness.client.get(
            "/v1/persisted-queries", params={"limit": limit}, headers=tenant.headers
        )
        assert refused.status_code == 400, (limit, refused.text)
        assert error(refused)["maxLimit"] == 500


def test_a_cursor_the_listing_did_not_give_out_is_refused(harness: Harness) -> None:
    tenant = harness.new_tenant()
    for cursor in ("not-a-cursor", "MXxub3R8YQ"):
        response = harness.client.get(
            "/v1/persisted-queries", params={"after": cursor}, headers=tenant.headers
        )
        assert response.status_code == 400, response.text
        assert error(response)["code"] == "VALIDATION"
