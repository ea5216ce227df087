"""A query answered by its compiled plan is byte for byte what graphql-core's executor answers.

Every request here is sent twice through the whole app, once with the compiled plans on and
once with them off, and the two responses (status and body bytes) must be the same: for every
shipped persisted operation, for hand-picked documents (errors included) and for random
documents drawn from the schema's simple fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from conftest import Harness, edge, person
from intelgraph.api.executor import GraphQLExecutor
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings

MANIFEST = Path(__file__).parents[2] / "src" / "intelgraph" / "persisted" / "manifest.json"
ENTITY_LEAVES = [
    "id",
    "externalId",
    "type",
    "label",
    "attributes",
    "confidence",
    "source",
    "purposes",
    "createdAt",
    "updatedAt",
    "degree",
    "name",
    "props",
]
ENTITY_LEAVES_V1_1 = [*ENTITY_LEAVES, "retentionTier", "sources { system collectedAt reliability }"]
RELATIONSHIP_LEAVES = ["id", "type", "fromId", "toId", "confidence", "firstSeen", "lastSeen"]


@dataclass
class Seeded:
    key: str
    ids: dict[str, str]  # external id -> entity id
    foreign_id: str  # an entity of another tenant


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_harness(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    """One app per store, with the edge cache off: every request here must be executed."""
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
        cache_enabled=False,
    )
    services = start_services(settings)
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})


@pytest.fixture(scope="module")
def seeded(module_harness: Harness) -> Seeded:
    harness = module_harness
    tenant = harness.new_tenant()
    response = harness.ingest(
        tenant.admin_key,
        [
            person("alice", "Alice Smith", city="Oslo"),
            person("bob", "Bob Smith"),
            person("carol", "Carol Jones"),
            {
                "kind": "entity",
                "external_id": "acme",
                "type": "ORGANIZATION",
                "label": "Acme Corp",
                "attributes": {"country": "Norway"},
                "source": "crm",
                "purposes": ["investigation"],
            },
            edge("WORKS_FOR", "alice", "acme"),
            edge("WORKS_FOR", "bob", "acme"),
            edge("CONNECTED_TO", "carol", "bob"),
        ],
    )
    assert response.status_code == 200, response.text
    ids: dict[str, str] = response.json()["ids"]
    harness.services.graph.recompute_pagerank(tenant.id)
    other = harness.new_tenant()
    foreign = harness.ingest(other.admin_key, [person("eve", "Eve Other")])
    return Seeded(tenant.admin_key, ids, next(iter(foreign.json()["ids"].values())))


def _executors(harness: Harness) -> dict[str, GraphQLExecutor]:
    app: Any = harness.client.app
    executors: dict[str, GraphQLExecutor] = app.state.executors
    return executors


def both_ways(
    harness: Harness, key: str, body: dict[str, Any], version: str = "1.1"
) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
    """(status, body bytes) of the request with the compiled plans on, then off."""
    headers = {
        "Authorization": f"Bearer {key}",
        "X-IG-Api-Version": version,
        "Content-Type": "application/json",
        "X-Request-Id": "compiled-plan-comparison",  # error bodies carry it
    }
    answers = []
    for is_compiled in (True, False):
        for executor in _executors(harness).values():
            executor.is_compiled = is_compiled
        try:
            response = harness.client.post("/graphql", content=orjson.dumps(body), headers=headers)
        finally:
            for executor in _executors(harness).values():
                executor.is_compiled = True
        assert response.headers.get("x-ig-cache") != "HIT"  # executed, not served from cache
        answers.append((response.status_code, response.content))
    return answers[0], answers[1]


def assert_same(harness: Harness, key: str, body: dict[str, Any], version: str = "1.1") -> Any:
    compiled, generic = both_ways(harness, key, body, version)
    assert compiled == generic, body
    return orjson.loads(compiled[1])


def _shipped_operations() -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = json.loads(MANIFEST.read_text())["operations"]
    return operations


def _variables_for(operation_id: str, seeded: Seeded) -> list[dict[str, Any]]:
    alice = seeded.ids["alice"]
    cases: dict[str, list[dict[str, Any]]] = {
        "getEntityById:v1": [{"id": alice}, {"id": "nope"}, {"id": seeded.foreign_id}],
        "pagerankTop:v1": [{}, {"limit": 2}, {"limit": None, "type": "ORGANIZATION"}],
        "searchEntities:v1": [{"q": "smith"}, {"q": "smith", "limit": 1}, {"q": "zzz"}],
        "neighbors:v1": [{"id": alice}, {"id": alice, "hops": 2, "limit": 2}, {"id": "nope"}],
    }
    return cases.get(operation_id, [{}])


@pytest.mark.parametrize("operation", _shipped_operations(), ids=lambda op: op["id"])
def test_every_shipped_operation_answers_the_same_bytes_compiled_and_generic(
    module_harness: Harness, seeded: Seeded, operation: dict[str, Any]
) -> None:
    for number, variables in enumerate(_variables_for(operation["id"], seeded)):
        for version in ("1.0", "1.1"):
            by_text = {"query": operation["document"], "variables": variables}
            answer = assert_same(module_harness, seeded.key, by_text, version)
            assert number > 0 or "errors" not in answer  # the first ones find something
            by_id = {"operationId": operation["id"], "variables": variables}
            assert_same(module_harness, seeded.key, by_id, version)


def test_every_shipped_operation_is_covered_by_a_compiled_plan(module_harness: Harness) -> None:
    for executor in _executors(module_harness).values():
        for operation in _shipped_operations():
            prepared = executor.prepare(operation["document"])
            assert all(facts.plan is not None for facts in prepared.facts.values()), operation


DOCUMENTS: list[tuple[str, dict[str, Any]]] = [
    ("query($id: ID!) { entity(id: $id) { id label type } }", {"id": "@alice"}),
    ('{ a: entity(id: "@alice") { id } b: entity(id: "@bob") { label n: name } }', {}),
    ("query($id: ID!) { getEntity(id: $id) { id props name } }", {"id": "@acme"}),
    ("query($ids: [ID!]!) { entities(ids: $ids) { id label } }", {"ids": ["@alice", "x"]}),
    ("{ entities(ids: []) { id } apiVersion }", {}),
    (
        "query($id: ID!) { entity(id: $id) { sources { system reliability } retentionTier } }",
        {"id": "@acme"},
    ),
    (
        "query($id: ID!) { neighbors(id: $id) { relationships { id type from { id label } to "
        "{ id } } entities { id degree } } }",
        {"id": "@bob"},
    ),
    (
        "query($a: ID!, $b: ID!) { pathBetween(fromId: $a, toId: $b, maxHops: 4) "
        "{ length entities { id } relationships { type } } }",
        {"a": "@alice", "b": "@carol"},
    ),
    ('{ searchEntities(q: "acme", types: [ORGANIZATION]) { total items { id } } }', {}),
    ("{ pagerankTop(limit: 3) { score computedAt entity { externalId } } }", {}),
    # errors: a resolver refusing, unknown ids, invalid variables, limits
    ("query($a: ID!, $b: ID!) { explainMatch(a: $a, b: $b) { a b } }", {"a": "x", "b": "y"}),
    ('{ entity(id: "x") { id } explainMatch(a: "x", b: "y") { a } }', {}),
    ("query($id: ID!) { entity(id: $id) { id } }", {}),
    ("query($id: ID!) { entity(id: $id) { id } }", {"id": None}),
    ("query($n: Int) { pagerankTop(limit: $n) { score } }", {"n": 100000}),
    ("query($n: Int) { pagerankTop(limit: $n) { score } }", {"n": "many"}),
    ('{ entity(id: "@alice") { id resolution { clusterId decision } canonicalId } }', {}),
    # not covered by a plan: graphql-core answers both ways
    ('{ entity(id: "@alice") { __typename ... on Entity { id } } }', {}),
    ('query($s: Boolean!) { entity(id: "@alice") { id label @include(if: $s) } }', {"s": False}),
]


def _with_ids(value: Any, seeded: Seeded) -> Any:
    """``"@alice"`` is alice's entity id in documents and variables."""
    if isinstance(value, str):
        for external_id, entity_id in seeded.ids.items():
            value = value.replace(f"@{external_id}", entity_id)
        return value
    if isinstance(value, list):
        return [_with_ids(item, seeded) for item in value]
    if isinstance(value, dict):
        return {name: _with_ids(item, seeded) for name, item in value.items()}
    return value


@pytest.mark.parametrize(("document", "variables"), DOCUMENTS)
def test_documents_and_their_errors_answer_the_same_bytes_compiled_and_generic(
    module_harness: Harness, seeded: Seeded, document: str, variables: dict[str, Any]
) -> None:
    body = {"query": _with_ids(document, seeded), "variables": _with_ids(variables, seeded)}
    assert_same(module_harness, seeded.key, body)


@st.composite
def entity_documents(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    """A random read of entities: root fields, aliases, leaf subsets and orders, variables."""
    version = draw(st.sampled_from(["1.0", "1.1"]))
    leaves = ENTITY_LEAVES if version == "1.0" else ENTITY_LEAVES_V1_1
    definitions: list[str] = []
    variables: dict[str, Any] = {}
    roots: list[str] = []
    ids = st.sampled_from(["@alice", "@bob", "@acme", "missing", "@foreign", ""])
    for number in range(draw(st.integers(1, 3))):
        root = draw(st.sampled_from(["entity", "getEntity", "entities", "relationship"]))
        if root == "entities" and version == "1.0":
            root = "entity"
        chosen = draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=6, unique=True))
        aliased = [
            f"{alias}: {leaf}" if alias and "{" not in leaf else leaf
            for leaf, alias in zip(
                chosen,
                draw(
                    st.lists(
                        st.sampled_from(["", "x", "y", "z"]),
                        min_size=len(chosen),
                        max_size=len(chosen),
                    )
                ),
                strict=True,
            )
        ]
        if len({leaf.split(":")[0].split(" ")[0] for leaf in aliased}) != len(aliased):
            aliased = chosen  # an alias repeated over different fields does not validate
        selection = " ".join(aliased)
        variable = f"v{number}"
        if root == "entities":
            definitions.append(f"${variable}: [ID!]!")
            variables[variable] = draw(st.lists(ids, max_size=4))
            roots.append(f"r{number}: entities(ids: ${variable}) {{ {selection} }}")
        elif root == "relationship":
            definitions.append(f"${variable}: ID!")
            variables[variable] = draw(ids)
            rel = " ".join(
                draw(
                    st.lists(
                        st.sampled_from(RELATIONSHIP_LEAVES), min_size=1, max_size=4, unique=True
                    )
                )
            )
            roots.append(
                f"r{number}: neighbors(id: ${variable}, limit: 3) "
                f"{{ relationships {{ {rel} from {{ {selection} }} }} }}"
            )
        else:
            how = draw(st.sampled_from(["literal", "variable", "missing", "null"]))
            if how == "literal":
                roots.append(f'r{number}: {root}(id: "{draw(ids)}") {{ {selection} }}')
                continue
            definitions.append(f"${variable}: ID!")
            if how == "variable":
                variables[variable] = draw(ids)
            elif how == "null":
                variables[variable] = None
            roots.append(f"r{number}: {root}(id: ${variable}) {{ {selection} }}")
    head = f"query({', '.join(definitions)})" if definitions else "query"
    return f"{head} {{ {' '.join(roots)} }}", variables, version


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=entity_documents())
def test_random_documents_answer_the_same_bytes_compiled_and_generic(
    module_harness: Harness, seeded: Seeded, case: tuple[str, dict[str, Any], str]
) -> None:
    document, variables, version = case
    with_foreign = _with_ids(variables, seeded)
    text = _with_ids(document, seeded).replace("@foreign", seeded.foreign_id)
    with_foreign = json.loads(json.dumps(with_foreign).replace("@foreign", seeded.foreign_id))
    assert_same(module_harness, seeded.key, {"query": text, "variables": with_foreign}, version)
