"""Unstorable input is refused the same way on SQLite and PostgreSQL, at every entry point.

U+0000 and lone surrogates in any string (value or object key), and integers beyond signed
64 bits, answer 400 (category VALIDATION) naming the field, and nothing of the request is
stored. PostgreSQL used to answer 500 where SQLite stored the text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conftest import NDJSON, Harness, TenantHandle, edge, person

NUL = "a\x00b"
SURROGATE = "a\ud800b"
BAD_TEXT = pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
# The same two, percent-encoded in a URL (a surrogate as its would-be UTF-8 bytes).
BAD_URL = pytest.mark.parametrize("bad", ["a%00b", "a%ED%A0%80b"], ids=["nul", "lone-surrogate"])
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


def encoded(value: Any) -> bytes:
    """JSON as a client sends it: the standard library escapes NUL and surrogates (\\u0000)."""
    return json.dumps(value).encode()


def send_json(harness: Harness, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return harness.client.request(
        method, path, content=encoded(body), headers=headers | {"content-type": "application/json"}
    )


def shown(key: str) -> str:
    """How an error names an object key holding unstorable characters."""
    return key.replace("\x00", "\\u0000").replace("\ud800", "\\ud800")


def assert_unstorable(response: Any, field: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    extensions = error["extensions"]
    assert extensions["code"] == "UNSTORABLE_VALUE", error
    assert extensions["category"] == "VALIDATION"
    assert extensions["field"] == field
    assert field in error["message"]
    return error


def assert_refused_line(response: Any, line: int, field: str) -> str:
    """A non-partial batch with one unstorable line: 400 INGEST_INVALID naming line and field."""
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INGEST_INVALID"
    assert error["extensions"]["category"] == "VALIDATION"
    problems = [(e["line"], e["field"]) for e in error["extensions"]["lineErrors"]]
    assert problems == [(line, field)]
    reason: str = error["extensions"]["lineErrors"][0]["reason"]
    return reason


def counts(harness: Harness, tenant: TenantHandle) -> dict[str, int]:
    return harness.services.graph.counts(tenant.id)


# --- POST /v1/ingest ---------------------------------------------------------------------------

# A line, and the field its error names, for each place of an entity or relationship line.
LINE_CASES: dict[str, Callable[[str], tuple[dict[str, Any], str]]] = {
    "entity external_id": lambda bad: (person(bad, "Ada"), "external_id"),
    "entity label": lambda bad: (person("p-2", bad), "label"),
    "entity source": lambda bad: ({**person("p-2", "Ada"), "source": bad}, "source"),
    "entity type": lambda bad: ({**person("p-2", "Ada"), "type": bad}, "type"),
    "entity purpose": lambda bad: ({**person("p-2", "Ada"), "purposes": ["ok", bad]}, "purposes.1"),
    "entity attribute value": lambda bad: (person("p-2", "Ada", note=bad), "attributes.note"),
    "entity attribute key": lambda bad: (
        {**person("p-2", "Ada"), "attributes": {"ok": 1, bad: "x"}},
        f"attributes.{shown(bad)}",
    ),
    "entity nested attribute": lambda bad: (
        {**person("p-2", "Ada"), "attributes": {"tags": [{"name": bad}]}},
        "attributes.tags.0.name",
    ),
    "relationship from": lambda bad: (edge("OWNS", bad, "p-1"), "from"),
    "relationship to": lambda bad: (edge("OWNS", "p-1", bad), "to"),
    "relationship type": lambda bad: (edge(bad, "p-1", "p-1"), "type"),
    "relationship attribute value": lambda bad: (
        {**edge("OWNS", "p-1", "p-1"), "attributes": {"since": bad}},
        "attributes.since",
    ),
}


def ingest_raw(harness: Harness, key: str, lines: list[dict[str, Any]], **params: Any) -> Any:
    body = b"\n".join(encoded(line) for line in lines)
    return harness.ingest(key, body, **params)


@BAD_TEXT
@pytest.mark.parametrize("case", list(LINE_CASES))
def test_a_line_with_unstorable_text_is_a_line_error_and_stores_nothing(
    harness: Harness, bad: str, case: str
) -> None:
    tenant = harness.new_tenant()
    line, field = LINE_CASES[case](bad)

    response = ingest_raw(harness, tenant.admin_key, [person("p-1", "Ok"), line])

    reason = assert_refused_line(response, 2, field)
    assert "U+0000" in reason or "surrogate" in reason
    assert counts(harness, tenant) == {"entities": 0, "relationships": 0}


@BAD_TEXT
def test_partial_mode_stores_the_other_lines_of_a_batch_with_unstorable_text(
    harness: Harness, bad: str
) -> None:
    tenant = harness.new_tenant()

    response = ingest_raw(
        harness,
        tenant.admin_key,
        [person("p-1", "Ada"), person(bad, "Bad"), person("p-3", "Cy")],
        partial="true",
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == {"entities": 2, "relationships": 0}
    assert [(e["line"], e["field"]) for e in body["lineErrors"]] == [(2, "external_id")]
    assert set(body["ids"]) == {"p-1", "p-3"}
    assert counts(harness, tenant)["entities"] == 2


# --- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", [2**63, 123456789012345678901234567890, INT64_MIN - 1, -(10**30)]
)
def test_an_integer_beyond_64_bits_in_attributes_is_refused_naming_it(
    harness: Harness, number: int
) -> None:
    tenant = harness.new_tenant()

    response = ingest_raw(harness, tenant.admin_key, [person("p-1", "Ada", n=number)])  # type: ignore[arg-type]

    reason = assert_refused_line(response, 1, "attributes.n")
    assert "64-bit" in reason
    assert counts(harness, tenant)["entities"] == 0


@pytest.mark.parametrize(
    ("extreme", "beyond"), [(INT64_MAX, INT64_MAX + 1), (INT64_MIN, INT64_MIN - 1)]
)
def test_integers_are_stored_exactly_up_to_64_bits_and_refused_one_beyond(
    harness: Harness, extreme: int, beyond: int
) -> None:
    tenant = harness.new_tenant()
    stored = ingest_raw(harness, tenant.admin_key, [person("p-1", "Ada", n=extreme)])  # type: ignore[arg-type]
    refused = ingest_raw(harness, tenant.admin_key, [person("p-2", "Bob", n=beyond)])  # type: ignore[arg-type]

    assert stored.status_code == 200, stored.text
    assert_refused_line(refused, 1, "attributes.n")
    read = harness.graphql(
        tenant.admin_key,
        "query($id: ID!) { entity(id: $id) { attributes } }",
        {"id": stored.json()["ids"]["p-1"]},
    )
    assert read.status_code == 200, read.text
    kept = read.json()["data"]["entity"]["attributes"]["n"]
    assert type(kept) is int and kept == extreme
    assert counts(harness, tenant)["entities"] == 1


def test_an_integer_beyond_64_bits_in_graphql_variables_is_refused(harness: Harness) -> None:
    tenant = harness.new_tenant()
    body = {
        "query": INGEST_MUTATION,
        "variables": {
            "e": [{"externalId": "p-1", "type": "PERSON", "label": "A", "attributes": {"n": 2**64}}]
        },
    }

    response = send_json(harness, "POST", "/graphql", body, tenant.headers)

    error = assert_unstorable(response, "variables.e.0.attributes.n")
    assert error["extensions"]["max"] == INT64_MAX
    assert counts(harness, tenant)["entities"] == 0


def test_an_integer_beyond_64_bits_in_an_admin_body_is_refused(harness: Harness) -> None:
    tenant = harness.new_tenant()
    before = harness.client.get(
        f"/v1/admin/tenants/{tenant.slug}/limits", headers=harness.operator_headers
    ).json()

    response = send_json(
        harness,
        "POST",
        f"/v1/admin/tenants/{tenant.slug}/overrides",
        {"limit": "ingest_eps", "value": 2**63, "reason": "big"},
        harness.operator_headers,
    )

    assert_unstorable(response, "value")
    after = harness.client.get(
        f"/v1/admin/tenants/{tenant.slug}/limits", headers=harness.operator_headers
    ).json()
    assert after == before


# --- GraphQL -----------------------------------------------------------------------------------

INGEST_MUTATION = (
    "mutation($e: [EntityInput!], $r: [RelationshipInput!]) "
    "{ ingest(entities: $e, relationships: $r) { acceptedEntities } }"
)
READS = {
    "entity": ("query($v: ID!) { entity(id: $v) { id } }", {}),
    "searchEntities": ("query($v: String!) { searchEntities(q: $v) { total } }", {}),
    "neighbors": ("query($v: ID!) { neighbors(id: $v) { entities { id } } }", {}),
    "pathBetween": (
        "query($a: ID!, $v: ID!) { pathBetween(fromId: $a, toId: $v) { length } }",
        {"a": "ent_x"},
    ),
}


@BAD_TEXT
@pytest.mark.parametrize("read", list(READS))
def test_a_graphql_read_with_an_unstorable_variable_is_refused_naming_it(
    harness: Harness, bad: str, read: str
) -> None:
    tenant = harness.new_tenant()
    query, others = READS[read]

    response = send_json(
        harness,
        "POST",
        "/graphql",
        {"query": query, "variables": others | {"v": bad}},
        tenant.headers,
    )

    assert_unstorable(response, "variables.v")


@BAD_TEXT
@pytest.mark.parametrize(
    ("variables", "field"),
    [
        (
            lambda bad: {"e": [{"externalId": bad, "type": "PERSON", "label": "Ada"}]},
            "variables.e.0.externalId",
        ),
        (
            lambda bad: {"e": [{"externalId": "p", "type": "PERSON", "label": "A", "source": bad}]},
            "variables.e.0.source",
        ),
        (
            lambda bad: {"r": [{"type": "OWNS", "from": bad, "to": "p"}]},
            "variables.r.0.from",
        ),
    ],
    ids=["externalId", "source", "relationship from"],
)
def test_the_ingest_mutation_with_unstorable_variables_stores_nothing(
    harness: Harness, bad: str, variables: Callable[[str], dict[str, Any]], field: str
) -> None:
    tenant = harness.new_tenant()

    response = send_json(
        harness,
        "POST",
        "/graphql",
        {"query": INGEST_MUTATION, "variables": variables(bad)},
        tenant.headers,
    )

    assert_unstorable(response, field)
    assert counts(harness, tenant) == {"entities": 0, "relationships": 0}


@BAD_TEXT
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lambda bad: {"query": "{ __typename } # " + bad}, "query"),
        (lambda bad: {"query": "query Q { __typename }", "operationName": bad}, "operationName"),
        (
            lambda bad: {"query": "{ __typename }", "extensions": {bad: 1}},
            "extensions.{key}",
        ),
    ],
    ids=["query text", "operationName", "extensions key"],
)
def test_a_graphql_body_with_unstorable_text_is_refused_naming_the_field(
    harness: Harness, bad: str, body: Callable[[str], dict[str, Any]], field: str
) -> None:
    tenant = harness.new_tenant()

    response = send_json(harness, "POST", "/graphql", body(bad), tenant.headers)

    assert_unstorable(response, field.replace("{key}", shown(bad)))


@BAD_TEXT
def test_graphql_get_variables_with_unstorable_text_are_refused(harness: Harness, bad: str) -> None:
    tenant = harness.new_tenant()
    params = {
        "query": "query($v: ID!) { entity(id: $v) { id } }",
        "variables": json.dumps({"v": bad}),  # ASCII: \u0000 escapes, fine in a URL
    }

    response = harness.client.get("/graphql", params=params, headers=tenant.headers)

    assert_unstorable(response, "variables.v")


@BAD_URL
def test_graphql_get_query_text_with_unstorable_bytes_is_refused(
    harness: Harness, bad: str
) -> None:
    tenant = harness.new_tenant()

    response = harness.client.get(
        f"/graphql?query=%7B__typename%7D%23{bad}", headers=tenant.headers
    )

    error = assert_unstorable(response, "query")
    assert error["extensions"]["in"] == "query"


# --- admin, ER, persisted queries, edge cache ------------------------------------------------


def tenant_slugs(harness: Harness) -> set[str]:
    response = harness.client.get("/v1/admin/tenants", headers=harness.operator_headers)
    return {tenant["slug"] for tenant in response.json()["tenants"]}


def key_ids(harness: Harness, tenant: TenantHandle) -> set[str]:
    response = harness.client.get(
        f"/v1/admin/tenants/{tenant.slug}/keys", headers=harness.operator_headers
    )
    return {key["id"] for key in response.json()["keys"] if key["revokedAt"] is None}


@BAD_TEXT
@pytest.mark.parametrize("field", ["name", "slug", "plan", "adminKeyName"])
def test_creating_a_tenant_with_unstorable_text_is_refused(
    harness: Harness, bad: str, field: str
) -> None:
    before = tenant_slugs(harness)
    body = {"name": "Acme", "slug": "acme-unstorable", "plan": "standard"} | {field: bad}

    response = send_json(harness, "POST", "/v1/admin/tenants", body, harness.operator_headers)

    assert_unstorable(response, field)
    assert tenant_slugs(harness) == before


@BAD_TEXT
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lambda bad: {"name": bad}, "name"),
        (lambda bad: {"name": "k", "roles": ["viewer", bad]}, "roles.1"),
    ],
    ids=["name", "role"],
)
def test_creating_a_key_with_unstorable_text_is_refused(
    harness: Harness, bad: str, body: Callable[[str], dict[str, Any]], field: str
) -> None:
    tenant = harness.new_tenant()
    before = key_ids(harness, tenant)

    response = send_json(
        harness, "POST", f"/v1/admin/tenants/{tenant.slug}/keys", body(bad), tenant.headers
    )

    assert_unstorable(response, field)
    assert key_ids(harness, tenant) == before


@BAD_TEXT
@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("POST", "overrides", lambda bad: {"limit": "ingest_eps", "value": 5, "reason": bad}),
        ("PUT", "plan", lambda bad: {"plan": "standard", "reason": bad}),
        ("POST", "suspend", lambda bad: {"reason": bad}),
    ],
    ids=["override", "plan", "suspend"],
)
def test_an_admin_change_with_an_unstorable_reason_is_refused(
    harness: Harness, bad: str, method: str, route: str, body: Callable[[str], dict[str, Any]]
) -> None:
    tenant = harness.new_tenant()
    path = f"/v1/admin/tenants/{tenant.slug}"
    before = harness.client.get(f"{path}/limits", headers=harness.operator_headers).json()

    response = send_json(harness, method, f"{path}/{route}", body(bad), harness.operator_headers)

    assert_unstorable(response, "reason")
    shown_tenant = harness.client.get(path, headers=harness.operator_headers).json()
    assert shown_tenant["tenant"]["status"] == "active"
    after = harness.client.get(f"{path}/limits", headers=harness.operator_headers).json()
    assert after == before


@BAD_TEXT
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/er/splits", lambda bad: {"entityIds": [bad]}, "entityIds.0"),
        ("POST", "/v1/er/models/train", lambda bad: {"type": bad}, "type"),
        (
            "POST",
            "/v1/er/thresholds",
            lambda bad: {"type": bad, "autoMerge": 0.9, "review": 0.5},
            "type",
        ),
        ("PUT", "/v1/er/configs/PERSON", lambda bad: {"config": bad}, "config"),
        (
            "POST",
            "/v1/er/review/rev_x/reject",
            lambda bad: {"reason": bad},
            "reason",
        ),
    ],
    ids=["split", "train", "thresholds", "config", "review reason"],
)
def test_an_er_request_with_unstorable_text_is_refused(
    harness: Harness,
    bad: str,
    method: str,
    path: str,
    body: Callable[[str], dict[str, Any]],
    field: str,
) -> None:
    tenant = harness.new_tenant()
    before = er_state(harness, tenant)

    response = send_json(harness, method, path, body(bad), tenant.headers)

    assert_unstorable(response, field)
    assert er_state(harness, tenant) == before


def er_state(harness: Harness, tenant: TenantHandle) -> list[Any]:
    """What the ER routes above could change: configs, thresholds, models, review items."""
    return [
        harness.client.get(path, headers=tenant.headers).json()
        for path in ("/v1/er/configs", "/v1/er/thresholds", "/v1/er/models", "/v1/er/review")
    ]


def test_a_golden_set_with_nul_is_refused(harness: Harness) -> None:
    tenant = harness.new_tenant()

    response = harness.client.post(
        "/v1/er/golden-sets",
        content=b"record_id,cluster_id,entity_type\nr\x001,c1,PERSON\n",
        headers=tenant.headers | {"content-type": "text/csv"},
    )

    assert_unstorable(response, "body")
    listed = harness.client.get("/v1/er/golden-sets", headers=tenant.headers)
    assert listed.json()["goldenSets"] == []


def registered_operations(harness: Harness, tenant: TenantHandle) -> list[dict[str, Any]]:
    response = harness.client.get("/v1/persisted-queries", headers=tenant.headers)
    assert response.status_code == 200, response.text
    operations: list[dict[str, Any]] = response.json()["operations"]
    return operations


@BAD_TEXT
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lambda bad: {"document": "query Q { __typename } # " + bad}, "document"),
        (lambda bad: {"document": "query Q { __typename }", "id": f"q{bad}:v1"}, "id"),
        (lambda bad: {"document": "query Q { __typename }", "roles": [bad]}, "roles.0"),
    ],
    ids=["document", "id", "role"],
)
def test_registering_a_persisted_query_with_unstorable_text_is_refused(
    harness: Harness, bad: str, body: Callable[[str], dict[str, Any]], field: str
) -> None:
    tenant = harness.new_tenant()
    before = registered_operations(harness, tenant)

    response = send_json(harness, "POST", "/v1/persisted-queries", body(bad), tenant.headers)

    assert_unstorable(response, field)
    assert registered_operations(harness, tenant) == before


@BAD_TEXT
def test_an_edge_cache_purge_with_unstorable_text_is_refused(harness: Harness, bad: str) -> None:
    tenant = harness.new_tenant()

    response = send_json(
        harness, "POST", "/v1/admin/cache/purge", {"opId": bad, "varsHash": "*"}, tenant.headers
    )

    assert_unstorable(response, "opId")


# --- path and query parameters -----------------------------------------------------------------


@BAD_URL
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/admin/tenants/{bad}"),
        ("DELETE", "/v1/admin/tenants/{slug}/keys/{bad}"),
        ("GET", "/v1/er/entities/{bad}/resolution"),
        ("GET", "/v1/er/clusters/{bad}"),
        ("POST", "/v1/er/review/{bad}/reject"),
        ("DELETE", "/v1/admin/cache/safelist/{bad}"),
    ],
)
def test_a_path_parameter_with_unstorable_bytes_is_refused(
    harness: Harness, bad: str, method: str, path: str
) -> None:
    tenant = harness.new_tenant()
    headers = harness.operator_headers if "/admin/" in path else tenant.headers

    response = harness.client.request(
        method, path.format(bad=bad, slug=tenant.slug), headers=headers
    )

    error = assert_unstorable(response, "path")
    assert error["extensions"]["in"] == "path"
    assert len(key_ids(harness, tenant)) == 1  # the tenant's first key was not revoked


@BAD_URL
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/admin/audit?tenant={bad}", "tenant"),
        ("/v1/er/review?type={bad}", "type"),
        ("/v1/er/explain?a=ent_1&b={bad}", "b"),
        ("/v1/ingest?partial={bad}", "partial"),
    ],
)
def test_a_query_parameter_with_unstorable_bytes_is_refused_naming_it(
    harness: Harness, bad: str, path: str, field: str
) -> None:
    tenant = harness.new_tenant()
    method = "POST" if path.startswith("/v1/ingest") else "GET"

    response = harness.client.request(
        method, path.format(bad=bad), headers=tenant.headers | NDJSON, content=b""
    )

    error = assert_unstorable(response, field)
    assert error["extensions"]["in"] == "query"
