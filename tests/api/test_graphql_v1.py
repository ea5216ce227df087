"""The v1 GraphQL API as a client sees it: reads, paths, analytics, the mutation, errors."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from conftest import PG_ADMIN_URL, Harness, edge, person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings

ENTITY_FIELDS = "id externalId type label attributes confidence degree createdAt updatedAt"


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


@dataclass
class Seeded:
    """A small graph: alice -> acme <- bob <- carol <- dave, plus a loner."""

    tenant_id: str
    slug: str
    key: str
    ids: dict[str, str]


def seed(harness: Harness) -> Seeded:
    tenant = harness.new_tenant()
    response = harness.ingest(
        tenant.admin_key,
        [
            person("alice", "Alice Smith", city="Oslo"),
            person("bob", "Bob Smith"),
            person("carol", "Carol Jones"),
            person("dave", "Dave Jones"),
            person("loner", "Zed Lonely"),
            {
                "kind": "entity",
                "external_id": "acme",
                "type": "ORGANIZATION",
                "label": "Acme Corp",
                "attributes": {"country": "Norway"},
            },
            edge("WORKS_FOR", "alice", "acme"),
            edge("WORKS_FOR", "bob", "acme"),
            edge("CONNECTED_TO", "carol", "bob"),
            edge("CONNECTED_TO", "dave", "carol"),
        ],
    )
    assert response.status_code == 200, response.text
    return Seeded(tenant.id, tenant.slug, tenant.admin_key, response.json()["ids"])


def ok(harness: Harness, key: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The data of a query that must succeed."""
    response = harness.graphql(key, query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def failure(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one error of a response that must fail with this status and code."""
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    errors = response.json()["errors"]
    assert errors, response.text
    for error in errors:
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["extensions"]["retryable"], bool)
        assert {"code", "category"} <= set(error["extensions"])
    assert errors[0]["extensions"]["code"] == code, errors
    first: dict[str, Any] = errors[0]
    return first


# --- entity --------------------------------------------------------------------------------------


def test_entity_returns_the_stored_entity(harness: Harness) -> None:
    g = seed(harness)
    data = ok(
        harness,
        g.key,
        f"query($id: ID!) {{ entity(id: $id) {{ {ENTITY_FIELDS} }} }}",
        {"id": g.ids["alice"]},
    )
    entity = data["entity"]
    assert entity["id"] == g.ids["alice"]
    assert entity["externalId"] == "alice"
    assert entity["type"] == "PERSON"
    assert entity["label"] == "Alice Smith"
    assert entity["attributes"] == {"city": "Oslo"}
    assert entity["confidence"] == 1.0
    assert entity["degree"] == 1
    assert entity["createdAt"].endswith("Z")
    assert entity["updatedAt"].endswith("Z")


def test_entity_with_an_unknown_id_is_null_not_an_error(harness: Harness) -> None:
    g = seed(harness)
    data = ok(harness, g.key, '{ entity(id: "ent_doesnotexist") { id } }')
    assert data == {"entity": None}


def test_degree_counts_relationships_in_both_directions(harness: Harness) -> None:
    g = seed(harness)
    query = "query($a: ID!, $b: ID!) { a: entity(id: $a) { degree } b: entity(id: $b) { degree } }"
    data = ok(harness, g.key, query, {"a": g.ids["acme"], "b": g.ids["bob"]})
    assert data == {"a": {"degree": 2}, "b": {"degree": 2}}


# --- searchEntities ------------------------------------------------------------------------------

SEARCH = """query($q: String!, $types: [EntityType!], $limit: Int, $after: String) {
  searchEntities(q: $q, types: $types, limit: $limit, after: $after) {
    total nextCursor items { id externalId label type }
  }
}"""


def search(harness: Harness, key: str, q: str, **variables: Any) -> dict[str, Any]:
    page: dict[str, Any] = ok(harness, key, SEARCH, {"q": q, **variables})["searchEntities"]
    return page


def external_ids(page: dict[str, Any]) -> set[str]:
    return {item["externalId"] for item in page["items"]}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("smi", {"alice", "bob"}),
        ("SMITH", {"alice", "bob"}),
        ("jones carol", {"carol"}),
        ("car jon", {"carol"}),
        ("Ålice", {"alice"}),
        ("oslo", {"alice"}),
        ("norway", {"acme"}),
        ("smith jones", set()),
        ("nobody", set()),
    ],
)
def test_search_matches_every_word_as_a_token_prefix(
    harness: Harness, q: str, expected: set[str]
) -> None:
    g = seed(harness)
    page = search(harness, g.key, q)
    assert external_ids(page) == expected
    assert page["total"] == len(expected)


def test_search_finds_labels_written_in_non_latin_scripts(harness: Harness) -> None:
    tenant = harness.new_tenant()
    moscow = {**person("msk", "Москва"), "type": "LOCATION"}
    harness.ingest(tenant.admin_key, [moscow])
    response = harness.graphql(tenant.admin_key, SEARCH, {"q": "моск"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["searchEntities"]["total"] == 1


def test_search_can_be_limited_to_entity_types(harness: Harness) -> None:
    g = seed(harness)
    assert external_ids(search(harness, g.key, "acme", types=["ORGANIZATION"])) == {"acme"}
    assert external_ids(search(harness, g.key, "acme", types=["PERSON"])) == set()
    assert external_ids(search(harness, g.key, "o", types=["PERSON", "ORGANIZATION"])) == {"alice"}


def test_search_without_letters_or_digits_is_a_validation_error(harness: Harness) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, SEARCH, {"q": "  !! "})
    failure(response, 400, "VALIDATION")


def test_search_pages_walk_every_result_exactly_once(harness: Harness) -> None:
    tenant = harness.new_tenant()
    members = [person(f"m-{n:02d}", f"Member {n}") for n in range(23)]
    harness.ingest(tenant.admin_key, [*members, person("other", "Someone Else")])

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = search(harness, tenant.admin_key, "member", limit=5, after=cursor)
        assert page["total"] == 23
        assert len(page["items"]) <= 5
        seen += [item["externalId"] for item in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
        assert pages < 10, "pagination does not end"

    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == {f"m-{n:02d}" for n in range(23)}


@pytest.mark.parametrize("cursor", ["abc", "a", "not-a-cursor"])
def test_a_cursor_that_was_not_issued_is_a_validation_error(harness: Harness, cursor: str) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, SEARCH, {"q": "smith", "after": cursor})
    error = failure(response, 400, "VALIDATION")
    assert "cursor" in error["message"]


@pytest.mark.parametrize("cursor", ["%%%", "!!!"])
def test_a_garbage_cursor_is_refused_rather_than_restarting_from_the_top(
    harness: Harness, cursor: str
) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, SEARCH, {"q": "smith", "after": cursor})
    failure(response, 400, "VALIDATION")


def test_a_zero_limit_page_does_not_make_the_next_page_skip_a_result(harness: Harness) -> None:
    g = seed(harness)
    empty = search(harness, g.key, "smith", limit=0)
    assert empty["items"] == []
    if empty["nextCursor"] is not None:
        rest = search(harness, g.key, "smith", limit=25, after=empty["nextCursor"])
        assert external_ids(rest) == {"alice", "bob"}


# --- neighbors -----------------------------------------------------------------------------------

NEIGHBORS = """query($id: ID!, $hops: Int, $types: [RelationshipType!]) {
  neighbors(id: $id, hops: $hops, relationshipTypes: $types) {
    entities { id externalId }
    relationships { type fromId toId from { externalId } to { externalId } }
  }
}"""


def neighbors(harness: Harness, g: Seeded, name: str, **variables: Any) -> dict[str, Any]:
    data = ok(harness, g.key, NEIGHBORS, {"id": g.ids[name], **variables})
    subgraph: dict[str, Any] = data["neighbors"]
    return subgraph


def test_neighbors_one_hop_are_the_directly_connected_entities(harness: Harness) -> None:
    g = seed(harness)
    sub = neighbors(harness, g, "bob", hops=1)
    assert sub["entities"][0]["externalId"] == "bob"  # nearest first: itself
    assert {e["externalId"] for e in sub["entities"]} == {"bob", "acme", "carol"}
    assert {
        (r["from"]["externalId"], r["type"], r["to"]["externalId"]) for r in sub["relationships"]
    } == {
        ("bob", "WORKS_FOR", "acme"),
        ("carol", "CONNECTED_TO", "bob"),
    }


def test_neighbors_two_hops_reach_one_step_further(harness: Harness) -> None:
    g = seed(harness)
    sub = neighbors(harness, g, "alice", hops=2)
    assert {e["externalId"] for e in sub["entities"]} == {"alice", "acme", "bob"}
    three = neighbors(harness, g, "alice", hops=3)
    assert {e["externalId"] for e in three["entities"]} == {"alice", "acme", "bob", "carol"}
    ids = {e["id"] for e in three["entities"]}
    assert all(r["fromId"] in ids and r["toId"] in ids for r in three["relationships"])


def test_neighbors_follow_only_the_relationship_types_asked_for(harness: Harness) -> None:
    g = seed(harness)
    sub = neighbors(harness, g, "bob", hops=2, types=["CONNECTED_TO"])
    assert {e["externalId"] for e in sub["entities"]} == {"bob", "carol", "dave"}
    assert {r["type"] for r in sub["relationships"]} == {"CONNECTED_TO"}


def test_neighbors_of_an_isolated_entity_is_just_itself(harness: Harness) -> None:
    g = seed(harness)
    sub = neighbors(harness, g, "loner", hops=3)
    assert [e["externalId"] for e in sub["entities"]] == ["loner"]
    assert sub["relationships"] == []


@pytest.mark.parametrize("hops", [0, 4])
def test_neighbors_hops_outside_one_to_three_is_a_validation_error(
    harness: Harness, hops: int
) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, NEIGHBORS, {"id": g.ids["bob"], "hops": hops})
    error = failure(response, 400, "VALIDATION")
    assert "hops" in error["message"]


def test_neighbors_of_an_unknown_id_is_entity_not_found(harness: Harness) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, NEIGHBORS, {"id": "ent_nope"})
    error = failure(response, 404, "ENTITY_NOT_FOUND")
    assert error["path"] == ["neighbors"]


# --- pathBetween ---------------------------------------------------------------------------------

PATH = """query($a: ID!, $b: ID!, $max: Int) {
  pathBetween(fromId: $a, toId: $b, maxHops: $max) {
    length entities { externalId } relationships { type fromId toId }
  }
}"""


def path(harness: Harness, g: Seeded, a: str, b: str, **variables: Any) -> Any:
    return ok(harness, g.key, PATH, {"a": g.ids[a], "b": g.ids[b], **variables})["pathBetween"]


def test_path_between_follows_edges_in_either_direction(harness: Harness) -> None:
    g = seed(harness)
    found = path(harness, g, "alice", "carol")
    assert found["length"] == 3
    assert [e["externalId"] for e in found["entities"]] == ["alice", "acme", "bob", "carol"]
    assert [r["type"] for r in found["relationships"]] == ["WORKS_FOR", "WORKS_FOR", "CONNECTED_TO"]


def test_path_between_respects_max_hops(harness: Harness) -> None:
    g = seed(harness)
    assert path(harness, g, "alice", "dave") is None  # 4 hops; default maxHops is 3
    assert path(harness, g, "alice", "dave", max=3) is None
    found = path(harness, g, "alice", "dave", max=4)
    assert found["length"] == 4
    assert [e["externalId"] for e in found["entities"]] == ["alice", "acme", "bob", "carol", "dave"]


def test_path_between_unconnected_entities_is_null(harness: Harness) -> None:
    g = seed(harness)
    assert path(harness, g, "alice", "loner", max=6) is None


def test_path_from_an_entity_to_itself_has_length_zero(harness: Harness) -> None:
    g = seed(harness)
    found = path(harness, g, "bob", "bob")
    assert found == {"length": 0, "entities": [{"externalId": "bob"}], "relationships": []}


@pytest.mark.parametrize("max_hops", [0, 7])
def test_path_between_max_hops_outside_one_to_six_is_a_validation_error(
    harness: Harness, max_hops: int
) -> None:
    g = seed(harness)
    response = harness.graphql(
        g.key, PATH, {"a": g.ids["alice"], "b": g.ids["bob"], "max": max_hops}
    )
    failure(response, 400, "VALIDATION")


def test_path_between_an_unknown_id_is_entity_not_found(harness: Harness) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, PATH, {"a": g.ids["alice"], "b": "ent_nope"})
    error = failure(response, 404, "ENTITY_NOT_FOUND")
    assert error["extensions"]["id"] == "ent_nope"


# --- pagerankTop ---------------------------------------------------------------------------------

PAGERANK = """query($limit: Int, $type: EntityType) {
  pagerankTop(limit: $limit, type: $type) { score computedAt entity { externalId type } }
}"""


def test_pagerank_is_empty_until_computed(harness: Harness) -> None:
    g = seed(harness)
    assert ok(harness, g.key, PAGERANK)["pagerankTop"] == []


def test_pagerank_top_ranks_the_hub_first_after_a_recompute(harness: Harness) -> None:
    tenant = harness.new_tenant()
    spokes = [person(f"s{n}", f"Spoke {n}") for n in range(6)]
    hub = {**person("hub", "Hub Org"), "type": "ORGANIZATION"}
    harness.ingest(
        tenant.admin_key, [hub, *spokes, *(edge("MEMBER_OF", f"s{n}", "hub") for n in range(6))]
    )

    scored = harness.services.graph.recompute_pagerank(tenant.id)

    assert scored == 7
    top = ok(harness, tenant.admin_key, PAGERANK, {"limit": 3})["pagerankTop"]
    assert len(top) == 3
    assert top[0]["entity"]["externalId"] == "hub"
    assert top[0]["score"] > top[1]["score"] >= top[2]["score"] > 0
    assert all(item["computedAt"].endswith("Z") for item in top)
    only_orgs = ok(harness, tenant.admin_key, PAGERANK, {"type": "ORGANIZATION"})["pagerankTop"]
    assert [item["entity"]["externalId"] for item in only_orgs] == ["hub"]
    people = ok(harness, tenant.admin_key, PAGERANK, {"type": "PERSON"})["pagerankTop"]
    assert len(people) == 6
    assert {item["entity"]["type"] for item in people} == {"PERSON"}


def test_a_viewer_can_read_analytics(harness: Harness) -> None:
    g = seed(harness)
    harness.services.graph.recompute_pagerank(g.tenant_id)
    response = harness.client.post(
        f"/v1/admin/tenants/{g.slug}/keys",
        json={"name": "viewer", "roles": ["viewer"]},
        headers=harness.operator_headers,
    )
    viewer = response.json()["apiKey"]
    assert len(ok(harness, viewer, PAGERANK)["pagerankTop"]) == 6


# --- deprecated fields ---------------------------------------------------------------------------


def test_deprecated_name_props_and_get_entity_still_answer_like_their_replacements(
    harness: Harness,
) -> None:
    g = seed(harness)
    query = """query($id: ID!) {
      new: entity(id: $id) { id label attributes }
      old: getEntity(id: $id) { id label attributes name props }
    }"""
    data = ok(harness, g.key, query, {"id": g.ids["alice"]})
    assert data["old"]["name"] == data["new"]["label"] == "Alice Smith"
    assert data["old"]["props"] == data["new"]["attributes"] == {"city": "Oslo"}
    assert {k: data["old"][k] for k in ("id", "label", "attributes")} == data["new"]
    assert ok(harness, g.key, '{ getEntity(id: "ent_nope") { id } }') == {"getEntity": None}


def test_the_schema_marks_the_old_fields_deprecated(harness: Harness) -> None:
    g = seed(harness)
    query = """{
      entity: __type(name: "Entity") { fields(includeDeprecated: true) {
        name isDeprecated deprecationReason } }
      query: __type(name: "Query") { fields(includeDeprecated: true) { name isDeprecated } }
    }"""
    data = ok(harness, g.key, query)
    entity_fields = {f["name"]: f for f in data["entity"]["fields"]}
    assert entity_fields["name"]["isDeprecated"] is True
    assert "label" in entity_fields["name"]["deprecationReason"]
    assert entity_fields["props"]["isDeprecated"] is True
    assert entity_fields["label"]["isDeprecated"] is False
    query_fields = {f["name"]: f["isDeprecated"] for f in data["query"]["fields"]}
    assert query_fields["getEntity"] is True
    assert query_fields["entity"] is False


# --- the ingest mutation -------------------------------------------------------------------------

INGEST = """mutation(
  $entities: [EntityInput!], $relationships: [RelationshipInput!], $partial: Boolean
) {
  ingest(entities: $entities, relationships: $relationships, partial: $partial) {
    acceptedEntities acceptedRelationships rejected errors { line field reason } ids
  }
}"""


def test_the_ingest_mutation_stores_entities_and_relationships(harness: Harness) -> None:
    tenant = harness.new_tenant()
    data = ok(
        harness,
        tenant.admin_key,
        INGEST,
        {
            "entities": [
                {
                    "externalId": "a",
                    "type": "PERSON",
                    "label": "Ann",
                    "attributes": {"city": "Rome"},
                },
                {"externalId": "b", "type": "ORGANIZATION", "label": "Beta Inc", "confidence": 0.5},
            ],
            "relationships": [{"type": "WORKS_FOR", "from": "a", "to": "b"}],
        },
    )["ingest"]

    assert data["acceptedEntities"] == 2
    assert data["acceptedRelationships"] == 1
    assert data["rejected"] == 0
    assert data["errors"] == []
    assert set(data["ids"]) == {"a", "b"}
    assert harness.services.graph.counts(tenant.id) == {"entities": 2, "relationships": 1}
    stored = ok(
        harness,
        tenant.admin_key,
        "query($id: ID!) { entity(id: $id) { label confidence attributes } }",
        {"id": data["ids"]["b"]},
    )
    assert stored["entity"] == {"label": "Beta Inc", "confidence": 0.5, "attributes": {}}


def test_the_ingest_mutation_refuses_a_bad_batch_with_line_errors(harness: Harness) -> None:
    tenant = harness.new_tenant()
    variables = {
        "entities": [
            {"externalId": "a", "type": "PERSON", "label": "Ann"},
            {"externalId": "b", "type": "PERSON", "label": "Bo", "confidence": 3.0},
        ],
        "relationships": [{"type": "OWNS", "from": "a", "to": "nobody"}],
    }
    response = harness.graphql(tenant.admin_key, INGEST, variables)
    error = failure(response, 400, "INGEST_INVALID")
    assert [(e["line"], e["field"]) for e in error["extensions"]["lineErrors"]] == [
        (2, "confidence"),
        (3, "to"),
    ]
    assert harness.services.graph.counts(tenant.id)["entities"] == 0

    partial = ok(harness, tenant.admin_key, INGEST, variables | {"partial": True})["ingest"]
    assert partial["acceptedEntities"] == 1
    assert partial["rejected"] == 2
    assert harness.services.graph.counts(tenant.id)["entities"] == 1


def test_a_viewer_cannot_use_the_ingest_mutation(harness: Harness) -> None:
    tenant = harness.new_tenant()
    viewer = harness.new_key(tenant, "viewer")
    variables = {"entities": [{"externalId": "a", "type": "PERSON", "label": "Ann"}]}
    error = failure(harness.graphql(viewer, INGEST, variables), 403, "POLICY_DENIED")
    assert "ingest.write" in error["message"]
    assert harness.services.graph.counts(tenant.id)["entities"] == 0


# --- refusals: limits, malformed requests, the error shape ---------------------------------------

# Depth 11 through v1.1's Entity.resolution.members (introspection has its own depth limit).
DEEP_QUERY = (
    '{ entity(id: "x") { resolution { members { resolution { members { resolution { members '
    "{ resolution { members { resolution { clusterId } } } } } } } } } } }"
)


def test_a_query_deeper_than_the_limit_is_refused_before_it_runs(harness: Harness) -> None:
    g = seed(harness)
    response = harness.client.post(
        "/graphql",
        json={"query": DEEP_QUERY},
        headers={"Authorization": f"Bearer {g.key}", "X-IG-Api-Version": "1.1"},
    )
    error = failure(response, 400, "QUERY_TOO_DEEP")
    assert error["extensions"]["maxDepth"] == 10
    assert error["extensions"]["depth"] == 11


def test_a_query_too_deep_for_a_stricter_limit_is_refused(settings: Settings) -> None:
    strict = settings.model_copy(update={"graphql_max_depth": 3})
    services = start_services(strict)
    operator = {"Authorization": f"Bearer {settings.operator_key}"}
    with TestClient(create_app(services=services)) as client:
        created = client.post(
            "/v1/admin/tenants",
            json={"name": "Deep", "slug": f"deep-{secrets.token_hex(4)}"},
            headers=operator,
        ).json()
        headers = {"Authorization": f"Bearer {created['apiKey']}"}
        shallow = '{ searchEntities(q: "a") { items { id } } }'
        deep = '{ neighbors(id: "x") { relationships { from { id } } } }'
        assert client.post("/graphql", json={"query": shallow}, headers=headers).status_code == 200
        response = client.post("/graphql", json={"query": deep}, headers=headers)
        error = failure(response, 400, "QUERY_TOO_DEEP")
        assert error["extensions"]["depth"] == 4


def test_a_query_too_costly_is_refused_before_it_runs(harness: Harness) -> None:
    g = seed(harness)
    fields = "id externalId type label attributes confidence degree createdAt updatedAt name"
    aliases = " ".join(
        f'p{n}: searchEntities(q: "smith", limit: 500) {{ items {{ {fields} }} }}'
        for n in range(12)
    )
    error = failure(harness.graphql(g.key, f"{{ {aliases} }}"), 400, "QUERY_TOO_COSTLY")
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"] == 50_000


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ searchEntities(q: "a", limit: 501) { total } }', {}),
        ('query($l: Int) { searchEntities(q: "a", limit: $l) { total } }', {"l": 100_000}),
        ('{ neighbors(id: "x", limit: 1000) { entities { id } } }', {}),
        ("{ pagerankTop(limit: 501) { score } }", {}),
        ('{ searchEntities(q: "a", limit: -1) { total } }', {}),
    ],
    ids=["literal", "variable", "neighbors", "pagerank", "negative"],
)
def test_a_list_limit_over_the_maximum_is_refused(
    harness: Harness, query: str, variables: dict[str, Any]
) -> None:
    g = seed(harness)
    error = failure(harness.graphql(g.key, query, variables), 400, "LIST_LIMIT_EXCEEDED")
    assert error["extensions"]["maxList"] == 500


def test_a_list_limit_hidden_in_a_variable_default_is_refused(harness: Harness) -> None:
    g = seed(harness)
    query = 'query($l: Int = 100000) { searchEntities(q: "smith", limit: $l) { total } }'
    failure(harness.graphql(g.key, query), 400, "LIST_LIMIT_EXCEEDED")


@pytest.mark.parametrize(
    "query",
    [
        '{ searchEntities(q: "smith", limit: null) { total } }',
        "query($id: ID!) { neighbors(id: $id, hops: null) { entities { id } } }",
        "query($id: ID!) { neighbors(id: $id, limit: null) { entities { id } } }",
    ],
    ids=["search-limit", "neighbors-hops", "neighbors-limit"],
)
def test_an_explicit_null_limit_is_not_an_internal_error(harness: Harness, query: str) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, query, {"id": g.ids["bob"]} if "$id" in query else None)
    assert response.status_code < 500, response.text


def test_pagerank_top_with_a_null_limit_does_not_return_every_entity(harness: Harness) -> None:
    tenant = harness.new_tenant()
    harness.ingest(tenant.admin_key, [person(f"p{n}", f"P {n}") for n in range(30)])
    harness.services.graph.recompute_pagerank(tenant.id)
    response = harness.graphql(tenant.admin_key, "{ pagerankTop(limit: null) { score } }")
    if response.status_code == 200:
        assert len(response.json()["data"]["pagerankTop"]) <= 20
    else:
        failure(response, 400, "VALIDATION")


@pytest.mark.parametrize(
    "query",
    ["{ entity(id: ", 'query { searchEntities(q: "a") { total } ', "}{"],
    ids=["unterminated", "unbalanced", "garbage"],
)
def test_a_syntax_error_is_a_graphql_validation_error(harness: Harness, query: str) -> None:
    g = seed(harness)
    error = failure(harness.graphql(g.key, query), 400, "GRAPHQL_VALIDATION")
    assert "syntax" in error["message"].lower()


def test_an_unknown_field_is_a_graphql_validation_error(harness: Harness) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, '{ entity(id: "x") { id secretField } }')
    error = failure(response, 400, "GRAPHQL_VALIDATION")
    assert "secretField" in error["message"]


@pytest.mark.parametrize(
    "variables",
    [{"id": "x", "hops": "two"}, {}, {"id": None}],
    ids=["wrong-type", "missing-required", "null-for-non-null"],
)
def test_a_bad_variable_is_a_client_error_not_an_internal_one(
    harness: Harness, variables: dict[str, Any]
) -> None:
    g = seed(harness)
    response = harness.graphql(g.key, NEIGHBORS, variables)
    failure(response, 400, "GRAPHQL_VALIDATION")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "MALFORMED_REQUEST"),
        (b'{"variables": {}}', "application/json", 400, "MALFORMED_REQUEST"),
        (b'{"query": ""}', "application/json", 400, "MALFORMED_REQUEST"),
        (b'{"query": 42}', "application/json", 400, "MALFORMED_REQUEST"),
        (b'["{ entity(id: \\"x\\") { id } }"]', "application/json", 400, "MALFORMED_REQUEST"),
        (
            b'{"query": "{ entity(id: \\"x\\") { id } }", "variables": [1]}',
            "application/json",
            400,
            "MALFORMED_REQUEST",
        ),
        (b'{ entity(id: "x") { id } }', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
    ids=[
        "not-json",
        "no-query",
        "empty-query",
        "query-not-string",
        "array",
        "bad-variables",
        "wrong-media-type",
    ],
)
def test_a_malformed_request_body_is_refused(
    harness: Harness, body: bytes, content_type: str, status: int, code: str
) -> None:
    g = seed(harness)
    headers = {"Authorization": f"Bearer {g.key}", "content-type": content_type}
    response = harness.client.post("/graphql", content=body, headers=headers)
    failure(response, status, code)


def test_put_on_graphql_is_refused_with_405(harness: Harness) -> None:
    g = seed(harness)
    response = harness.client.put(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {g.key}"}
    )
    failure(response, 405, "METHOD_NOT_ALLOWED")


def test_errors_carry_the_request_id_when_refused_before_execution(harness: Harness) -> None:
    g = seed(harness)
    headers = {"Authorization": f"Bearer {g.key}", "x-request-id": "trace-me-123"}
    response = harness.client.post("/graphql", json={"query": "{"}, headers=headers)
    assert response.headers["x-request-id"] == "trace-me-123"
    assert response.json()["errors"][0]["extensions"]["requestId"] == "trace-me-123"


# --- search on a PostgreSQL database with a linguistic collation ----------------------------------


@pytest.fixture
def icu_collation_url() -> Iterator[str]:
    """A fresh PostgreSQL database whose default collation is ICU en-US (a common setup)."""
    name = f"intelgraph_icu_{secrets.token_hex(4)}"
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    try:
        admin.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
            "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    except psycopg.Error as exc:
        admin.close()
        pytest.skip(f"this PostgreSQL cannot create an ICU database: {exc}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_search_prefixes_ending_in_z_or_9_work_under_a_linguistic_collation(
    icu_collation_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=icu_collation_url,
        data_dir=f"{tmp_path}/data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
    )
    services = start_services(settings)
    operator = {"Authorization": f"Bearer {settings.operator_key}"}
    with TestClient(create_app(services=services)) as client:
        created = client.post(
            "/v1/admin/tenants", json={"name": "Icu", "slug": "icu"}, headers=operator
        ).json()
        headers = {"Authorization": f"Bearer {created['apiKey']}"}
        client.post(
            "/v1/ingest",
            content=b'{"kind":"entity","external_id":"l","type":"PERSON","label":"Lizzy Oslo2019"}',
            headers=headers | {"content-type": "application/x-ndjson"},
        )
        for q in ("lizzy", "liz", "oslo2019", "oslo2"):
            response = client.post(
                "/graphql",
                json={
                    "query": "query($q: String!) { searchEntities(q: $q) { total } }",
                    "variables": {"q": q},
                },
                headers=headers,
            )
            assert response.json()["data"]["searchEntities"]["total"] == 1, q
