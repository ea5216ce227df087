"""Every response says whether a shared cache may keep it: private + Vary for a principal's
answers, no-store for the rest (issue 11, D6)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
import pytest
from starlette.routing import Mount, Route

from conftest import Harness, TenantHandle, person
from edgecache.support import GET_ENTITY, MANIFEST
from intelgraph.gateway.authn import JWKS_PATH
from intelgraph.gateway.cache_headers import cache_headers
from intelgraph.web.assets import STATIC_PREFIX, asset_url, vendored_assets

PATH_PARAMS = {
    "key_id": "key_missing",
    "limit": "api_rpm",
    "day": "2024-01-01",
    "file": "usage-2024-01-01.csv",
    "entity_type": "PERSON",
    "operation_id": "notSafelisted:v1",  # never a real entry: the walk must not unlist one
}
NOT_SAFELISTED = "searchEntities:v1"
# The API reference (document and page) is the same for everyone: public, cached 5 minutes.
REFERENCE = {"/openapi.json", "/docs"}
PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/graphiql",
    "/docs/api/deprecations.md",
    JWKS_PATH,
    *REFERENCE,
}
OWN_DOCUMENT = "query ownTypename { __typename }"
# The static mount's files: public like the pages that load them, cached for a year.
STATIC_FILES = {asset_url(name) for name in vendored_assets()} | {"/static/vendor/missing.js"}
IMMUTABLE = ["public", "max-age=31536000", "immutable"]


def is_public(path: str) -> bool:
    return path in PUBLIC or path in STATIC_FILES


def directives(response: Any) -> list[str]:
    values = response.headers.get_list("cache-control")
    assert len(values) == 1, f"one Cache-Control header, got {values}"
    return [d.strip().lower() for d in values[0].split(",")]


def assert_private(response: Any, what: str) -> None:
    found = directives(response)
    assert "private" in found, (what, found)
    assert "public" not in found, (what, found)
    assert "no-store" in found or any(d.startswith("max-age=") for d in found), (what, found)
    vary = {v.strip().lower() for v in ",".join(response.headers.get_list("vary")).split(",")}
    assert {"authorization", "x-ig-api-version"} <= vary, (what, vary)


def assert_not_stored(response: Any, what: str) -> None:
    assert "no-store" in directives(response), (what, response.headers)


def app_routes(harness: Harness) -> list[Route]:
    app: Any = harness.client.app
    routes = [route for route in app.routes if isinstance(route, Route)]
    static = [r for r in app.routes if isinstance(r, Mount) and r.path == STATIC_PREFIX]
    assert len(routes) + len(static) == len(app.routes), "a mount or websocket route: walk it too"
    return routes


def concrete(path: str, tenant_slug: str) -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda m: tenant_slug if m.group(1) == "tenant" else PATH_PARAMS.get(m.group(1), "x1"),
        path,
    )


def every_request(harness: Harness, tenant_slug: str) -> list[tuple[str, str]]:
    """(method, path) for every method of every route, and one method each route refuses."""
    requests: list[tuple[str, str]] = []
    for route in app_routes(harness):
        path = concrete(route.path, tenant_slug)
        methods = sorted(route.methods or [])
        requests += [(method, path) for method in methods]
        requests.append(("PATCH", path))  # no route takes PATCH: the 405 answer
    for path in sorted(STATIC_FILES):
        requests += [("GET", path), ("HEAD", path), ("PATCH", path)]
    return requests


def send(harness: Harness, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {} if method in ("POST", "PUT") else None
    return harness.client.request(method, path, json=body, headers=headers)


@pytest.fixture
def subject(harness: Harness) -> TenantHandle:
    """The tenant the {tenant} routes name (the operator may suspend it during the walk)."""
    return harness.new_tenant()


def test_every_route_answers_a_tenant_privately(harness: Harness, subject: TenantHandle) -> None:
    caller = harness.new_tenant()
    for method, path in every_request(harness, subject.slug):
        for headers in (caller.headers, caller.headers | {"X-IG-Api-Version": "1.1"}):
            if is_public(path):
                continue  # authentication does not run there: nobody is authenticated
            response = send(harness, method, path, headers)
            assert_private(response, (method, path, response.status_code))


def test_every_route_answers_the_operator_privately(
    harness: Harness, subject: TenantHandle
) -> None:
    for method, path in every_request(harness, subject.slug):
        if is_public(path):
            continue
        response = send(harness, method, path, harness.operator_headers)
        assert_private(response, (method, path, response.status_code))


def test_every_route_tells_an_anonymous_client_not_to_store(
    harness: Harness, subject: TenantHandle
) -> None:
    for method, path in every_request(harness, subject.slug):
        for headers in ({}, {"Authorization": "Bearer igk_not_a_key"}):
            response = send(harness, method, path, headers)
            if path == JWKS_PATH and response.status_code == 200:
                assert directives(response) == ["public", "max-age=60"]
                continue
            if path in REFERENCE and response.status_code == 200:
                assert directives(response) == ["public", "max-age=300"]
                continue
            if path in STATIC_FILES and response.status_code == 200:
                assert directives(response) == IMMUTABLE
                continue
            assert_not_stored(response, (method, path, response.status_code))
            if not is_public(path):
                assert response.status_code == 401, (method, path)


def test_public_paths_answer_the_same_with_or_without_a_key(harness: Harness) -> None:
    tenant = harness.new_tenant()
    for path in sorted(PUBLIC):
        response = harness.client.get(path, headers=tenant.headers)
        assert response.status_code == 200, path
        expected = ["no-store"]
        if path == JWKS_PATH:
            expected = ["public", "max-age=60"]
        elif path in REFERENCE:
            expected = ["public", "max-age=300"]
        assert directives(response) == expected, path


def graphql_gets(harness: Harness, tenant: TenantHandle, entity_id: str) -> dict[str, Any]:
    """Every GET form of /graphql, by name: text, persisted ids and hashes, APQ, errors."""
    registered = harness.client.post(
        "/v1/persisted-queries",
        json={"id": "ownTypename:v1", "document": OWN_DOCUMENT},
        headers=tenant.headers,
    )
    assert registered.status_code == 201, registered.text
    apq_text = "query apqTypename { __typename }"
    apq_hash = hashlib.sha256(apq_text.encode()).hexdigest()
    apq = orjson.dumps({"persistedQuery": {"version": 1, "sha256Hash": apq_hash}}).decode()
    stored = harness.client.post(
        "/graphql",
        json={"query": apq_text, "extensions": orjson.loads(apq)},
        headers=tenant.headers,
    )
    assert stored.status_code == 200, stored.text
    variables = orjson.dumps({"id": entity_id}).decode()
    entity_sha = hashlib.sha256(MANIFEST[GET_ENTITY].encode()).hexdigest()
    unknown = orjson.dumps({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}).decode()
    return {
        "query text": {"query": "{ __typename }"},
        "query text with variables": {
            "query": "query($id: ID!) { entity(id: $id) { label } }",
            "variables": variables,
        },
        "safelisted operationId (miss)": {"operationId": GET_ENTITY, "variables": variables},
        "safelisted operationId (hit)": {"operationId": GET_ENTITY, "variables": variables},
        "safelisted documentId": {"documentId": f"sha256:{entity_sha}", "variables": variables},
        "safelisted document text": {"query": MANIFEST[GET_ENTITY], "variables": variables},
        "platform operationId not safelisted": {
            "operationId": NOT_SAFELISTED,
            "variables": orjson.dumps({"q": "ada"}).decode(),
        },
        "tenant's own operationId": {"operationId": "ownTypename:v1"},
        "tenant's own documentId": {
            "documentId": "sha256:" + hashlib.sha256(OWN_DOCUMENT.encode()).hexdigest()
        },
        "APQ hash": {"extensions": apq},
        "APQ unknown hash": {"extensions": unknown},
        "unknown operationId": {"operationId": "nothing:v1"},
        "invalid document": {"query": "{ nope"},
        "no query": {},
    }


def test_every_graphql_get_form_is_private_to_its_principal(harness: Harness) -> None:
    tenant = harness.new_tenant()
    ingested = harness.ingest(tenant.admin_key, [person("ada", "Ada Lovelace")])
    entity_id = ingested.json()["ids"]["ada"]
    statuses = {}
    for name, params in graphql_gets(harness, tenant, entity_id).items():
        for version in ("1.0", "1.1"):
            headers = tenant.headers | {"X-IG-Api-Version": version}
            response = harness.client.get("/graphql", params=params, headers=headers)
            assert_private(response, (name, version, response.status_code))
            statuses[name] = response.status_code
            anonymous = harness.client.get("/graphql", params=params)
            assert anonymous.status_code == 401, name
            assert_not_stored(anonymous, name)
        operator = harness.client.get("/graphql", params=params, headers=harness.operator_headers)
        assert_private(operator, (name, "operator", operator.status_code))
    assert statuses["query text"] == statuses["APQ hash"] == 200
    assert statuses["safelisted operationId (hit)"] == statuses["tenant's own operationId"] == 200


def test_an_edge_cache_hit_keeps_its_max_age() -> None:
    hit = [
        (b"content-type", b"application/json"),
        (b"cache-control", b"private, max-age=30"),
        (b"vary", b"Authorization, X-IG-Api-Version"),
    ]
    assert cache_headers(hit, is_authenticated=True) == hit


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ([], [(b"cache-control", b"private, no-store")]),
        ([(b"cache-control", b"public, max-age=60")], [(b"cache-control", b"private, max-age=60")]),
        ([(b"cache-control", b"no-store")], [(b"cache-control", b"private, no-store")]),
        (
            [(b"vary", b"Accept"), (b"Vary", b"authorization")],
            [(b"vary", b"Accept, authorization, X-IG-Api-Version")],
        ),
        ([(b"vary", b"*")], [(b"vary", b"*")]),
    ],
)
def test_a_principal_s_answer_gets_private_and_a_merged_vary(
    sent: list[tuple[bytes, bytes]], expected: list[tuple[bytes, bytes]]
) -> None:
    answered = dict(cache_headers(sent, is_authenticated=True))
    for name, value in expected:
        assert answered[name] == value


def test_an_anonymous_answer_keeps_the_handler_s_choice_or_gets_no_store() -> None:
    assert cache_headers([], is_authenticated=False) == [(b"cache-control", b"no-store")]
    public = [(b"cache-control", b"public, max-age=60")]
    assert cache_headers(public, is_authenticated=False) == public
