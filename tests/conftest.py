"""Shared fixtures: a real app on a temp SQLite file or on a fresh PostgreSQL database.

Tests build the app with other Settings (composition root), never by monkeypatching.
"""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)
from starlette.testclient import TestClient  # noqa: E402

from intelgraph.app import Services, create_app  # noqa: E402
from intelgraph.bootstrap import start_services  # noqa: E402
from intelgraph.settings import Settings  # noqa: E402

# One master key for every app a test run builds: the key ring is global to a database and
# sealed by one master key, and the session's PostgreSQL database is shared by many tests
# (each with its own data dir, where a key file would otherwise be generated).
TEST_MASTER_KEY = "aW50ZWxncmFwaC10ZXN0LW1hc3Rlci1rZXktMzJieXQ="
os.environ["INTELGRAPH_MASTER_KEY"] = TEST_MASTER_KEY

PG_ADMIN_URL = os.environ.get("INTELGRAPH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"intelgraph_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}; run `make services`")
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own (for state that is global to a database)."""
    name = f"intelgraph_fresh_{secrets.token_hex(4)}"
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on a temp SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/intelgraph.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
    )


@dataclass
class TenantHandle:
    id: str
    slug: str
    admin_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


@dataclass
class Harness:
    """A running app and ways to drive it as a user would."""

    client: TestClient
    services: Services
    operator_headers: dict[str, str]

    def new_tenant(self, plan: str = "standard") -> TenantHandle:
        slug = f"t-{secrets.token_hex(4)}"
        response = self.client.post(
            "/v1/admin/tenants",
            json={"name": f"Tenant {slug}", "slug": slug, "plan": plan},
            headers=self.operator_headers,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return TenantHandle(body["tenant"]["id"], slug, body["apiKey"])

    def new_key(self, tenant: TenantHandle, *roles: str) -> str:
        response = self.client.post(
            f"/v1/admin/tenants/{tenant.slug}/keys",
            json={"name": "test key", "roles": list(roles)},
            headers=self.operator_headers,
        )
        assert response.status_code == 201, response.text
        key: str = response.json()["apiKey"]
        return key

    def ingest(self, key: str, lines: list[dict[str, Any]] | bytes, **params: Any) -> Any:
        import orjson

        body = lines if isinstance(lines, bytes) else b"\n".join(orjson.dumps(x) for x in lines)
        return self.client.post(
            "/v1/ingest",
            content=body,
            params=params,
            headers={"Authorization": f"Bearer {key}"} | NDJSON,
        )

    def graphql(self, key: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {key}"},
        )


@pytest.fixture
def harness(settings: Settings) -> Iterator[Harness]:
    services = start_services(settings)
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_harness(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    """One app per backend shared by a whole module (building an app is the slow part).

    Tests using it must make their own tenants, so they cannot see each other's data.
    """
    tmp = tmp_path_factory.mktemp("app")
    url = (
        f"sqlite:///{tmp}/intelgraph.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    settings = Settings(
        database_url=url,
        data_dir=tmp / "data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
    )
    services = start_services(settings)
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})


def person(external_id: str, label: str, **attributes: str) -> dict[str, Any]:
    return {
        "kind": "entity",
        "external_id": external_id,
        "type": "PERSON",
        "label": label,
        "attributes": attributes,
    }


def edge(kind: str, source: str, target: str) -> dict[str, Any]:
    return {"kind": "relationship", "type": kind, "from": source, "to": target}
