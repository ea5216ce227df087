"""The REST contract: /openapi.json documents every route, /docs shows it without an outside
asset, and a schemathesis run against a live server finds no 5xx and no answer the document
does not describe — with a tenant admin key and with the operator key."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import BaseRoute

from intelgraph.api.openapi import undocumented_routes
from intelgraph.api.rest_models import OPERATIONS
from intelgraph.api.rest_models.ingest import NDJSON_TYPES
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.kernel import errors as taxonomy
from intelgraph.kernel.errors import ErrorCode
from intelgraph.settings import Settings
from live_servers import uvicorn_server

OPERATOR_KEY = "igo_test_operator_key"
EXAMPLES_PER_OPERATION = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
KNOWN_CODES = {
    value.code: value for value in vars(taxonomy).values() if isinstance(value, ErrorCode)
}


@schemathesis.serializer(*NDJSON_TYPES)
def _ndjson(_: Any, value: Any) -> bytes:
    """Ingest bodies are text: NDJSON lines as generated from the document's string schema."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


@dataclass
class LiveApi:
    url: str
    document: dict[str, Any]
    schema: Any  # schemathesis' OpenApiSchema
    tenant_slug: str
    tenant_key: str
    operator_tenant_slug: str
    routes: list[BaseRoute]

    def headers(self, principal: str) -> dict[str, str]:
        key = self.tenant_key if principal == "tenant" else OPERATOR_KEY
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    """The app under uvicorn, one per backend, with two tenants: one whose admin key the
    tenant run uses, one that the operator run may suspend or re-plan as it likes."""
    tmp: Path = tmp_path_factory.mktemp("contract")
    url = (
        f"sqlite:///{tmp}/intelgraph.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    app_settings = Settings(
        database_url=url,
        data_dir=tmp / "data",
        operator_key=OPERATOR_KEY,
        run_background_jobs=False,
    )
    app = create_app(services=start_services(app_settings))
    with uvicorn_server(app) as base_url:
        tenant, key = _new_tenant(base_url)
        operator_tenant, _ = _new_tenant(base_url)
        document = httpx.get(f"{base_url}/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)
        yield LiveApi(base_url, document, schema, tenant, key, operator_tenant, app.routes)


def _new_tenant(base_url: str) -> tuple[str, str]:
    slug = f"c-{secrets.token_hex(4)}"
    created = httpx.post(
        f"{base_url}/v1/admin/tenants",
        json={"name": f"Contract {slug}", "slug": slug},
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
    )
    assert created.status_code == 201, created.text
    return slug, created.json()["apiKey"]


# --- the document ---------------------------------------------------------------------------


def test_every_route_of_the_app_is_declared(live_api: LiveApi) -> None:
    assert undocumented_routes(live_api.routes, OPERATIONS) == []


def test_the_document_is_served_without_a_key_and_names_every_route(live_api: LiveApi) -> None:
    document = live_api.document
    assert document["openapi"] == "3.1.0"
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == set(OPERATIONS)
    for path in ("/v1/ingest", "/v1/admin/tenants", "/v1/er/configs", "/v1/persisted-queries"):
        assert path in document["paths"]


def test_every_error_answer_lists_real_codes_of_its_status(live_api: LiveApi) -> None:
    for path, item in live_api.document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if operation.get("security") != []:
                assert "AUTH_INVALID_KEY" in responses["401"]["x-error-codes"], (method, path)
            assert "INTERNAL" in responses["500"]["x-error-codes"], (method, path)
            for status, response in responses.items():
                for code in response.get("x-error-codes", []):
                    assert KNOWN_CODES[code].http_status == int(status), (method, path, code)


@pytest.mark.parametrize(
    ("principal", "path"),
    [
        ("tenant", "/v1/er/runs?limit="),
        ("tenant", "/v1/er/alerts?limit="),
        ("tenant", "/v1/er/review?limit="),
        ("tenant", "/v1/er/configs/PERSON?version="),
        ("operator", "/v1/admin/audit?limit="),
    ],
)
@pytest.mark.parametrize("number", ["%C2%B2", "1" * 5000], ids=["superscript-two", "5000-digits"])
def test_a_number_no_int_can_read_is_refused_not_a_server_error(
    live_api: LiveApi, principal: str, path: str, number: str
) -> None:
    # "²" is a digit to str.isdigit() but not to int(); 5,000 digits pass int's limit: both
    # were answered 500 INTERNAL.
    response = httpx.get(f"{live_api.url}{path}{number}", headers=live_api.headers(principal))
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "must be a whole number from 1" in error["message"]


def test_request_bodies_are_the_models_the_handlers_validate_with(live_api: LiveApi) -> None:
    override = live_api.document["components"]["schemas"]["SetOverride"]
    assert override["properties"]["value"]["type"] == "integer"
    assert set(override["required"]) == {"value", "limit"}
    refused = httpx.post(
        f"{live_api.url}/v1/admin/tenants/{live_api.operator_tenant_slug}/overrides",
        json={"limit": "api_rpm", "value": "600"},
        headers=live_api.headers("operator"),
    )
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"] == "'value' is required and must be a whole number"


def test_the_reference_page_shows_every_path_and_loads_nothing_from_outside(
    live_api: LiveApi,
) -> None:
    page = httpx.get(f"{live_api.url}/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for path in live_api.document["paths"]:
        assert f"<code>{path}</code>" in page.text
    assert "SetOverride" in page.text and "AUTH_INVALID_KEY" in page.text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.text, re.IGNORECASE)
    assert "<script" not in page.text.lower()


# --- the schemathesis run -------------------------------------------------------------------


@pytest.mark.parametrize("principal", ["tenant", "operator"])
@pytest.mark.parametrize(
    ("method", "path"), sorted(OPERATIONS), ids=[f"{m} {p}" for m, p in sorted(OPERATIONS)]
)
def test_answers_match_the_document(
    live_api: LiveApi, method: str, path: str, principal: str
) -> None:
    operation = live_api.schema[path][method]
    own_tenant = live_api.tenant_slug if principal == "tenant" else live_api.operator_tenant_slug
    fixed = {"tenant": own_tenant} if "{tenant}" in path else None
    headers = live_api.headers(principal)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(path_parameters=fixed))
    def run(case: Any) -> None:
        case.call_and_validate(base_url=live_api.url, headers=headers, checks=CHECKS)

    run()
