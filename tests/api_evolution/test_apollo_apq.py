"""Apollo Client's persisted-query link against a live server (issue 12, "APQ-off tenants pay
twice"): a tenant with APQ off answers a hash-only request PERSISTED_QUERY_NOT_SUPPORTED, so
the client stops sending hashes after the first answer; a not-found or not-supported answer
is never billed as an API call. The client is the real one (tests/js/apq_client.mjs)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from intelgraph.app import Services, create_app
from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings
from js_clients import run_node
from live_servers import uvicorn_server

LABEL = "query Label($id: ID!) { entity(id: $id) { id label } }"
MINUTE = timedelta(minutes=1)
SEARCH = 'query Search { searchEntities(q: "ada", limit: 5) { total } }'


@dataclass
class LiveTenant:
    id: str
    key: str
    entity_id: str


def new_tenant(url: str, operator_key: str, *, allows_apq: bool) -> LiveTenant:
    operator = {"Authorization": f"Bearer {operator_key}"}
    slug = f"t-{secrets.token_hex(4)}"
    created = httpx.post(
        f"{url}/v1/admin/tenants",
        json={"name": f"Tenant {slug}", "slug": slug, "plan": "standard"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    tenant_id, key = created.json()["tenant"]["id"], created.json()["apiKey"]
    updated = httpx.put(
        f"{url}/v1/admin/tenants/{slug}/api-settings",
        json={"allowsApq": allows_apq},
        headers=operator,
    )
    assert updated.status_code == 200, updated.text
    line = {"kind": "entity", "external_id": "ada", "type": "PERSON", "label": "Ada Lovelace"}
    ingested = httpx.post(  # one billed API call of the tenant's own
        f"{url}/v1/ingest",
        content=json.dumps(line).encode(),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/x-ndjson"},
    )
    assert ingested.status_code == 200, ingested.text
    return LiveTenant(tenant_id, key, ingested.json()["ids"]["ada"])


def run_apollo(url: str, tenant: LiveTenant) -> list[tuple[bool, bool, int, str | None]]:
    """Label, Search, Label again through Apollo Client; each HTTP request it sent as
    (sent the text, sent a hash, status, error code). Every operation must succeed."""
    operations = [
        {"query": LABEL, "variables": {"id": tenant.entity_id}},
        {"query": SEARCH, "variables": {}},
        {"query": LABEL, "variables": {"id": tenant.entity_id}},
    ]
    out = run_node("apq_client.mjs", url, tenant.key, json.dumps(operations))
    labels = [result.get("data", {}).get("entity", {}).get("label") for result in out["results"]]
    assert labels[0] == labels[2] == "Ada Lovelace", out["results"]
    assert out["results"][1]["data"]["searchEntities"]["total"] == 1, out["results"]
    return [(r["hasQuery"], r["hash"] is not None, r["status"], r["code"]) for r in out["requests"]]


def billed_api_calls(services: Services, tenant_id: str) -> int:
    """The tenant's api_calls in the durable ledger (what billing exports)."""
    now = services.clock.now()
    totals = services.metering.usage_totals(tenant_id, now - timedelta(days=1), now + MINUTE)
    return totals["api_calls"]


@pytest.fixture
def live(settings: Settings) -> tuple[Services, str]:
    return start_services(settings), settings.operator_key or ""


def test_apollo_stops_sending_hashes_to_a_tenant_with_apq_off_and_pays_once(
    live: tuple[Services, str],
) -> None:
    services, operator_key = live
    with uvicorn_server(create_app(services=services)) as url:
        tenant = new_tenant(url, operator_key, allows_apq=False)
        requests = run_apollo(url, tenant)
    assert requests == [
        (False, True, 400, "PERSISTED_QUERY_NOT_SUPPORTED"),  # the client turns APQ off
        (True, False, 200, None),
        (True, False, 200, None),
        (True, False, 200, None),
    ]
    assert billed_api_calls(services, tenant.id) == 1 + 3  # the ingest, the three operations


def test_apollo_registers_with_a_tenant_with_apq_on_and_not_found_is_not_billed(
    live: tuple[Services, str],
) -> None:
    services, operator_key = live
    with uvicorn_server(create_app(services=services)) as url:
        tenant = new_tenant(url, operator_key, allows_apq=True)
        requests = run_apollo(url, tenant)
    assert requests == [
        (False, True, 404, "PERSISTED_QUERY_NOT_FOUND"),
        (True, True, 200, None),  # registered
        (False, True, 404, "PERSISTED_QUERY_NOT_FOUND"),
        (True, True, 200, None),
        (False, True, 200, None),  # the registered hash alone runs
    ]
    assert billed_api_calls(services, tenant.id) == 1 + 3  # the ingest, the three operations
