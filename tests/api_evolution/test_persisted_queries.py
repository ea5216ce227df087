"""Persisted queries as clients use them: Apollo APQ, ``documentId`` and ``operationId`` over
POST and GET, safelist mode, tenant-scoped and role-restricted registrations.

One app per backend for the module; a test that registers operations or changes settings
makes its own tenant, so registrations never leak between tests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
import pytest

from conftest import Harness, TenantHandle, person

GRAPHQL_RESPONSE = "application/graphql-response+json"
MANIFEST = orjson.loads(
    resources.files("intelgraph.persisted").joinpath("manifest.json").read_text()
)
GET_ENTITY = next(op for op in MANIFEST["operations"] if op["id"] == "getEntityById:v1")
GET_ENTITY_TEXT: str = GET_ENTITY["document"]
LABEL_QUERY = "query Label($id: ID!) { entity(id: $id) { id label } }"
INGEST_MUTATION = (
    'mutation { ingest(entities: [{externalId: "via-get", type: PERSON, label: "Gus Getter"}]) '
    "{ acceptedEntities } }"
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apq(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


@dataclass
class Seeded:
    tenant: TenantHandle
    entity_id: str


def seed(harness: Harness) -> Seeded:
    tenant = harness.new_tenant()
    response = harness.ingest(tenant.admin_key, [person("ada", "Ada Lovelace", city="London")])
    assert response.status_code == 200, response.text
    return Seeded(tenant, response.json()["ids"]["ada"])


@pytest.fixture
def seeded(harness: Harness) -> Seeded:
    """A fresh tenant with one entity: its registrations are its own."""
    return seed(harness)


def post(harness: Harness, key: str, body: dict[str, Any], **headers: str) -> Any:
    return harness.client.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {key}"} | headers
    )


def get(harness: Harness, key: str, params: dict[str, Any], **headers: str) -> Any:
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return harness.client.get(
        "/graphql", params=encoded, headers={"Authorization": f"Bearer {key}"} | headers
    )


def error_code(response: Any) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


def register(
    harness: Harness, key: str, document: str, operation_id: str | None = None, **extra: Any
) -> Any:
    body: dict[str, Any] = {"document": document} | extra
    if operation_id is not None:
        body["id"] = operation_id
    return harness.client.post(
        "/v1/persisted-queries", json=body, headers={"Authorization": f"Bearer {key}"}
    )


def registered(harness: Harness, key: str) -> list[dict[str, Any]]:
    response = harness.client.get(
        "/v1/persisted-queries", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    operations: list[dict[str, Any]] = response.json()["operations"]
    return operations


def set_api_settings(harness: Harness, tenant: TenantHandle, **settings: Any) -> None:
    response = harness.client.put(
        f"/v1/admin/tenants/{tenant.slug}/api-settings",
        json=settings,
        headers=harness.operator_headers,
    )
    assert response.status_code == 200, response.text


# --- APQ ------------------------------------------------------------------------------------


def test_the_apq_flow_registers_a_query_sent_with_its_text(
    harness: Harness, seeded: Seeded
) -> None:
    key, variables = seeded.tenant.admin_key, {"id": seeded.entity_id}
    hash_only = {"extensions": apq(LABEL_QUERY), "variables": variables}

    first = post(harness, key, hash_only)
    assert first.status_code == 404, first.text
    assert error_code(first) == "PERSISTED_QUERY_NOT_FOUND"

    with_text = post(harness, key, hash_only | {"query": LABEL_QUERY})
    assert with_text.status_code == 200, with_text.text
    expected = {"entity": {"id": seeded.entity_id, "label": "Ada Lovelace"}}
    assert with_text.json()["data"] == expected
    apq_registered = [op for op in registered(harness, key) if op["sha256"] == sha256(LABEL_QUERY)]
    assert [op["origin"] for op in apq_registered] == ["apq"]

    again = post(harness, key, hash_only)
    assert again.status_code == 200, again.text
    assert again.json()["data"] == expected


def test_an_apq_hash_that_does_not_match_the_text_is_refused(
    harness: Harness, seeded: Seeded
) -> None:
    key = seeded.tenant.admin_key
    other = "query Other($id: ID!) { entity(id: $id) { id } }"
    body = {"query": LABEL_QUERY, "extensions": apq(other), "variables": {"id": seeded.entity_id}}
    response = post(harness, key, body)
    assert response.status_code == 400, response.text
    assert error_code(response) == "PERSISTED_QUERY_HASH_MISMATCH"
    # Nothing was registered under either hash.
    for text in (LABEL_QUERY, other):
        probe = post(harness, key, {"extensions": apq(text), "variables": {"id": "x"}})
        assert probe.status_code == 404, probe.text


def test_a_hash_mismatch_is_refused_even_when_the_hash_is_registered(
    harness: Harness, seeded: Seeded
) -> None:
    # The manifest's document is registered; pairing its hash with other text is still refused.
    body = {
        "query": LABEL_QUERY,
        "extensions": apq(GET_ENTITY_TEXT),
        "variables": {"id": seeded.entity_id},
    }
    response = post(harness, seeded.tenant.admin_key, body)
    assert response.status_code == 400, response.text
    assert error_code(response) == "PERSISTED_QUERY_HASH_MISMATCH"


def test_a_tenant_that_disallows_apq_runs_the_text_without_registering_it(
    harness: Harness, seeded: Seeded
) -> None:
    set_api_settings(harness, seeded.tenant, allowsApq=False)
    key, variables = seeded.tenant.admin_key, {"id": seeded.entity_id}
    body = {"query": LABEL_QUERY, "extensions": apq(LABEL_QUERY), "variables": variables}
    assert post(harness, key, body).status_code == 200
    hash_only = post(harness, key, {"extensions": apq(LABEL_QUERY), "variables": variables})
    # Apollo's answer for a server without APQ: clients stop sending hashes (issue 12).
    assert hash_only.status_code == 400, hash_only.text
    assert error_code(hash_only) == "PERSISTED_QUERY_NOT_SUPPORTED"


# --- documentId and operationId, POST and GET -----------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        {"documentId": f"sha256:{sha256(GET_ENTITY_TEXT)}"},
        {"operationId": "getEntityById:v1"},
        {"extensions": apq(GET_ENTITY_TEXT)},
    ],
    ids=["documentId", "operationId", "apq"],
)
def test_a_shipped_operation_gives_the_same_body_over_post_and_get(
    harness: Harness, seeded: Seeded, reference: dict[str, Any]
) -> None:
    key, variables = seeded.tenant.admin_key, {"id": seeded.entity_id}
    by_post = post(harness, key, reference | {"variables": variables})
    by_get = get(harness, key, reference | {"variables": variables})
    assert by_post.status_code == by_get.status_code == 200, (by_post.text, by_get.text)
    assert by_post.content == by_get.content
    entity = by_post.json()["data"]["entity"]
    assert entity["id"] == seeded.entity_id
    assert entity["label"] == "Ada Lovelace"
    # ...and the same as sending the full text.
    as_text = post(harness, key, {"query": GET_ENTITY_TEXT, "variables": variables})
    assert as_text.content == by_post.content


def test_get_variables_that_are_not_json_are_refused(harness: Harness, seeded: Seeded) -> None:
    params = {"operationId": "getEntityById:v1", "variables": "{id: nope"}
    response = get(harness, seeded.tenant.admin_key, params)
    assert response.status_code == 400, response.text
    assert error_code(response) == "MALFORMED_REQUEST"


@pytest.mark.parametrize(
    "document_id",
    [
        "sha256:xyz",
        f"sha256:{sha256(GET_ENTITY_TEXT).upper()}",
        f"sha256:{sha256(GET_ENTITY_TEXT)[:-1]}",
        f"md5:{sha256(GET_ENTITY_TEXT)}",
        sha256(GET_ENTITY_TEXT),
        f"sha256: {sha256(GET_ENTITY_TEXT)}",
    ],
    ids=["not-hex", "upper-case", "short", "other-algorithm", "no-prefix", "space"],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_malformed_document_id_is_refused(
    harness: Harness, seeded: Seeded, document_id: str, method: str
) -> None:
    send = post if method == "POST" else get
    response = send(harness, seeded.tenant.admin_key, {"documentId": document_id})
    assert response.status_code == 400, response.text
    assert error_code(response) == "MALFORMED_REQUEST"


@pytest.mark.parametrize(
    "reference",
    [{"documentId": f"sha256:{'0' * 64}"}, {"operationId": "noSuchOperation:v1"}],
    ids=["documentId", "operationId"],
)
def test_an_unknown_persisted_reference_is_not_found(
    harness: Harness, seeded: Seeded, reference: dict[str, Any]
) -> None:
    response = post(harness, seeded.tenant.admin_key, reference)
    assert response.status_code == 404, response.text
    assert error_code(response) == "PERSISTED_QUERY_NOT_FOUND"


def test_a_mutation_over_get_is_refused_with_allow_post(harness: Harness, seeded: Seeded) -> None:
    key = seeded.tenant.admin_key
    response = get(harness, key, {"query": INGEST_MUTATION})
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == "POST"
    assert error_code(response) == "METHOD_NOT_ALLOWED"
    search = '{ searchEntities(q: "Gus") { total } }'
    assert harness.graphql(key, search).json()["data"]["searchEntities"]["total"] == 0
    # The same mutation over POST is fine.
    assert post(harness, key, {"query": INGEST_MUTATION}).status_code == 200


def test_a_registered_mutation_by_document_id_over_get_is_refused(
    harness: Harness, seeded: Seeded
) -> None:
    key = seeded.tenant.admin_key
    created = register(harness, key, INGEST_MUTATION, "ingestGus:v1")
    assert created.status_code == 201, created.text
    for reference in (
        {"operationId": "ingestGus:v1"},
        {"documentId": created.json()["documentId"]},
    ):
        response = get(harness, key, reference)
        assert response.status_code == 405, response.text
        assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_client_that_accepts_graphql_response_json_gets_it(
    harness: Harness, seeded: Seeded, method: str
) -> None:
    send = post if method == "POST" else get
    body = {"operationId": "getEntityById:v1", "variables": {"id": seeded.entity_id}}
    chosen = send(harness, seeded.tenant.admin_key, body, accept=GRAPHQL_RESPONSE)
    assert chosen.status_code == 200, chosen.text
    assert chosen.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    plain = send(harness, seeded.tenant.admin_key, body)
    assert plain.headers["content-type"].startswith("application/json")
    assert chosen.content == plain.content


def test_a_refused_request_also_uses_graphql_response_json_when_accepted(
    harness: Harness, seeded: Seeded
) -> None:
    key = seeded.tenant.admin_key
    invalid = post(harness, key, {"query": "{ nope }"}, accept=GRAPHQL_RESPONSE)
    assert invalid.status_code == 400
    assert invalid.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    unknown = post(harness, key, {"extensions": apq("{ x }")}, accept=GRAPHQL_RESPONSE)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(GRAPHQL_RESPONSE)


# --- safelist mode --------------------------------------------------------------------------


def test_a_safelisted_tenant_cannot_run_unregistered_text_and_is_audited(
    harness: Harness, seeded: Seeded
) -> None:
    set_api_settings(harness, seeded.tenant, safelistMode=True)
    key = seeded.tenant.admin_key
    response = post(harness, key, {"query": LABEL_QUERY, "variables": {"id": seeded.entity_id}})
    assert response.status_code == 403, response.text
    assert error_code(response) == "OPERATION_NOT_SAFELISTED"
    document_id = f"sha256:{sha256(LABEL_QUERY)}"
    assert response.json()["errors"][0]["extensions"]["documentId"] == document_id

    audit = harness.client.get("/v1/admin/audit", headers=seeded.tenant.headers)
    assert audit.status_code == 200, audit.text
    refusals = [r for r in audit.json()["records"] if r["action"] == "graphql.not_safelisted"]
    assert len(refusals) == 1, audit.text
    assert refusals[0]["target"] == document_id
    # The operator sees it in the tenant's log too.
    by_operator = harness.client.get(
        "/v1/admin/audit", params={"tenant": seeded.tenant.slug}, headers=harness.operator_headers
    )
    assert "graphql.not_safelisted" in {r["action"] for r in by_operator.json()["records"]}


@pytest.mark.parametrize(
    "reference",
    [
        {"operationId": "getEntityById:v1"},
        {"documentId": f"sha256:{sha256(GET_ENTITY_TEXT)}"},
        {"extensions": apq(GET_ENTITY_TEXT)},
        {"query": GET_ENTITY_TEXT},
    ],
    ids=["operationId", "documentId", "apq-hash", "exact-registered-text"],
)
def test_a_safelisted_tenant_still_runs_registered_operations(
    harness: Harness, seeded: Seeded, reference: dict[str, Any]
) -> None:
    set_api_settings(harness, seeded.tenant, safelistMode=True)
    response = post(
        harness, seeded.tenant.admin_key, reference | {"variables": {"id": seeded.entity_id}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["entity"]["id"] == seeded.entity_id


def test_a_safelisted_tenant_runs_its_own_registration(harness: Harness, seeded: Seeded) -> None:
    set_api_settings(harness, seeded.tenant, safelistMode=True)
    key = seeded.tenant.admin_key
    assert register(harness, key, LABEL_QUERY, "label:v1").status_code == 201
    response = post(
        harness, key, {"operationId": "label:v1", "variables": {"id": seeded.entity_id}}
    )
    assert response.status_code == 200, response.text


def test_apq_auto_registration_is_refused_in_safelist_mode(
    harness: Harness, seeded: Seeded
) -> None:
    set_api_settings(harness, seeded.tenant, safelistMode=True, allowsApq=True)
    key, variables = seeded.tenant.admin_key, {"id": seeded.entity_id}
    body = {"query": LABEL_QUERY, "extensions": apq(LABEL_QUERY), "variables": variables}
    response = post(harness, key, body)
    assert response.status_code == 403, response.text
    assert error_code(response) == "OPERATION_NOT_SAFELISTED"
    hash_only = post(harness, key, {"extensions": apq(LABEL_QUERY), "variables": variables})
    assert hash_only.status_code == 404, hash_only.text
    assert sha256(LABEL_QUERY) not in {op["sha256"] for op in registered(harness, key)}


# --- tenant scope, roles, registration ------------------------------------------------------


def test_a_tenants_registration_is_invisible_to_another_tenant(harness: Harness) -> None:
    owner, stranger = seed(harness), seed(harness)
    created = register(harness, owner.tenant.admin_key, LABEL_QUERY, "myLabel:v1")
    assert created.status_code == 201, created.text
    assert created.json()["scope"] == owner.tenant.id
    document_id = created.json()["documentId"]
    assert document_id == f"sha256:{sha256(LABEL_QUERY)}"

    for reference in ({"operationId": "myLabel:v1"}, {"documentId": document_id}):
        mine = post(
            harness, owner.tenant.admin_key, reference | {"variables": {"id": owner.entity_id}}
        )
        assert mine.status_code == 200, mine.text
        theirs = post(
            harness,
            stranger.tenant.admin_key,
            reference | {"variables": {"id": stranger.entity_id}},
        )
        assert theirs.status_code == 404, theirs.text
        assert error_code(theirs) == "PERSISTED_QUERY_NOT_FOUND"
    apq_hash = post(harness, stranger.tenant.admin_key, {"extensions": apq(LABEL_QUERY)})
    assert apq_hash.status_code == 404
    assert "myLabel:v1" not in {
        op["operationId"] for op in registered(harness, stranger.tenant.admin_key)
    }
    # Ids are scoped: the stranger may use the same id for its own document.
    own = register(harness, stranger.tenant.admin_key, GET_ENTITY_TEXT + "\n", "myLabel:v1")
    assert own.status_code == 201, own.text


def test_a_role_restricted_operation_refuses_other_roles(harness: Harness, seeded: Seeded) -> None:
    key = seeded.tenant.admin_key
    created = register(harness, key, LABEL_QUERY, "adminLabel:v1", roles=["admin"])
    assert created.status_code == 201, created.text
    viewer = harness.new_key(seeded.tenant, "viewer")
    body = {"operationId": "adminLabel:v1", "variables": {"id": seeded.entity_id}}
    refused = post(harness, viewer, body)
    assert refused.status_code == 403, refused.text
    assert error_code(refused) == "POLICY_DENIED"
    by_hash = {"documentId": created.json()["documentId"], "variables": body["variables"]}
    assert post(harness, viewer, by_hash).status_code == 403
    analyst = harness.new_key(seeded.tenant, "analyst")
    assert post(harness, analyst, body).status_code == 403
    assert post(harness, key, body).status_code == 200


def test_the_rewrite_of_a_role_restricted_operation_keeps_its_roles(
    harness: Harness, seeded: Seeded
) -> None:
    set_api_settings(harness, seeded.tenant, safelistMode=True)
    key = seeded.tenant.admin_key
    old = "query AdminName($id: ID!) { entity(id: $id) { id name } }"
    assert register(harness, key, old, "adminName:v1", roles=["admin"]).status_code == 201
    variables = {"id": seeded.entity_id}
    ran = post(harness, key, {"operationId": "adminName:v1", "variables": variables})
    assert ran.status_code == 200, ran.text
    hint = ran.json()["extensions"]["rewriteHint"]["documentId"]
    viewer = harness.new_key(seeded.tenant, "viewer")
    assert (
        post(harness, viewer, {"operationId": "adminName:v1", "variables": variables}).status_code
        == 403
    )
    response = post(harness, viewer, {"documentId": hint, "variables": variables})
    assert response.status_code == 403, response.text


def test_a_viewer_cannot_register_operations(harness: Harness, seeded: Seeded) -> None:
    viewer = harness.new_key(seeded.tenant, "viewer")
    response = register(harness, viewer, LABEL_QUERY, "viewerLabel:v1")
    assert response.status_code == 403, response.text


@pytest.mark.parametrize(
    "document",
    [
        "query { entity(id: ",
        "query { noSuchField }",
        "query($id: ID!) { entity(id: $id) { id } }  query($id: ID!) { entity(id: $id) { label } }",
    ],
    ids=["syntax", "unknown-field", "two-anonymous-operations"],
)
def test_registering_an_invalid_document_is_refused(
    harness: Harness, seeded: Seeded, document: str
) -> None:
    response = register(harness, seeded.tenant.admin_key, document, "broken:v1")
    assert response.status_code == 400, response.text
    assert error_code(response) == "GRAPHQL_VALIDATION"
    assert "broken:v1" not in {
        op["operationId"] for op in registered(harness, seeded.tenant.admin_key)
    }


def test_an_operation_id_reused_for_another_document_is_refused(
    harness: Harness, seeded: Seeded
) -> None:
    key = seeded.tenant.admin_key
    assert register(harness, key, LABEL_QUERY, "label:v1").status_code == 201
    # The same document under the same id again is fine (idempotent).
    again = register(harness, key, LABEL_QUERY, "label:v1")
    assert again.status_code == 201, again.text
    other = "query Label2($id: ID!) { entity(id: $id) { id label type } }"
    response = register(harness, key, other, "label:v1")
    assert response.status_code == 400, response.text
    assert error_code(response) == "VALIDATION"
    assert "label:v1" in response.json()["errors"][0]["message"]
    # The id still names the first document.
    ran = post(harness, key, {"operationId": "label:v1", "variables": {"id": seeded.entity_id}})
    assert ran.json()["data"] == {"entity": {"id": seeded.entity_id, "label": "Ada Lovelace"}}


@pytest.mark.parametrize("operation_id", ["label", "label:1", "la-bel:v1", "label:v1:v2"])
def test_a_malformed_operation_id_is_refused(
    harness: Harness, seeded: Seeded, operation_id: str
) -> None:
    response = register(harness, seeded.tenant.admin_key, LABEL_QUERY, operation_id)
    assert response.status_code == 400, response.text
    assert error_code(response) == "VALIDATION"


def test_a_document_first_registered_by_apq_can_then_be_given_an_id(
    harness: Harness, seeded: Seeded
) -> None:
    key, variables = seeded.tenant.admin_key, {"id": seeded.entity_id}
    body = {"query": LABEL_QUERY, "extensions": apq(LABEL_QUERY), "variables": variables}
    assert post(harness, key, body).status_code == 200  # registered by APQ, no id
    created = register(harness, key, LABEL_QUERY, "labelLater:v1")
    assert created.status_code == 201, created.text
    assert created.json()["operationId"] == "labelLater:v1"
    response = post(harness, key, {"operationId": "labelLater:v1", "variables": variables})
    assert response.status_code == 200, response.text
