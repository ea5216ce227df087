"""GraphQL limits as an attacker meets them: each refusal is coded, cheap and linear.

Checks are asserted by the nodes they visit, never by time: a document whose fragments
each spread the previous one twice must be measured in a few dozen steps, not 2^n.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import OperationDefinitionNode, get_introspection_query, parse
from starlette.testclient import TestClient
from typer.testing import CliRunner

from conftest import Harness, TenantHandle, person
from intelgraph.api import executor as executor_module
from intelgraph.api.limits import (
    QueryLimits,
    check_cost,
    check_introspection,
    estimate_cost,
    measure_document,
    parse_document,
)
from intelgraph.api.schemas import build_schemas
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.settings import Settings

LIMITS = QueryLimits(max_depth=10, max_cost=50_000, max_list=500)
SCHEMA_V1_1 = build_schemas()["1.1"]
V1_1 = {"X-IG-Api-Version": "1.1"}
GRAPHIQL_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)


def doubling_fragments(n: int) -> str:
    """Issue 11, D1: F0 = { __typename }, Fi = { ...F(i-1) ...F(i-1) }, query { ...F(n-1) }."""
    parts = ["fragment F0 on Query { __typename }"]
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n)]
    parts.append(f"query {{ ...F{n - 1} }}")
    return "\n".join(parts)


def operation_of(text: str) -> tuple[Any, OperationDefinitionNode]:
    document = parse(text)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return document, operation


def refusal(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one coded error of a refused request, in the one error shape."""
    assert response.status_code == status, response.text[:500]
    assert "Traceback" not in response.text
    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == code, errors
    assert errors[0]["message"]
    first: dict[str, Any] = errors[0]
    return first


def post(harness: Harness, key: str, query: str, **headers: str) -> Any:
    return harness.client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}", **headers}
    )


@pytest.fixture
def tenant(harness: Harness) -> TenantHandle:
    return harness.new_tenant()


# --- one walk, each fragment measured once --------------------------------------------------


@pytest.mark.parametrize("n", [25, 30])
def test_doubling_fragments_are_measured_in_a_bounded_number_of_steps(n: int) -> None:
    text = doubling_fragments(n)
    figures = measure_document(parse_document(text, LIMITS))
    (operation,) = figures.operations.values()
    assert operation.root_fields == 2 ** (n - 1)  # every spread counted, each fragment once
    assert operation.depth == 1
    assert figures.visited_nodes < 200

    document, node = operation_of(text)
    estimate = estimate_cost(SCHEMA_V1_1, document, node, {}, LIMITS)
    assert estimate.cost == 2 ** (n - 1)
    assert estimate.visited_nodes < 200


def test_a_fragment_cycle_counts_nothing_and_ends() -> None:
    text = "fragment A on Query { __typename ...B } fragment B on Query { ...A } { ...A }"
    (operation,) = measure_document(parse(text)).operations.values()
    assert operation.root_fields == 1


def test_a_chain_of_thousands_of_fragments_needs_no_deep_recursion() -> None:
    n = 5_000
    parts = [f"fragment F{i} on Query {{ __typename ...F{i + 1} }}" for i in range(n)]
    parts += [f"fragment F{n} on Query {{ __typename }}", "{ ...F0 }"]
    (operation,) = measure_document(parse("\n".join(parts))).operations.values()
    assert operation.root_fields == n + 1


def test_introspection_is_left_out_of_the_depth_and_measured_on_its_own() -> None:
    figures = measure_document(parse(get_introspection_query()))
    (operation,) = figures.operations.values()
    assert operation.depth == 0
    assert 10 < operation.introspection_depth <= 20
    assert figures.uses_introspection
    assert not measure_document(parse("{ __typename }")).uses_introspection


# --- the cost model: list sizes multiplied through nested lists ------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        # 1 searchEntities + 1 items + 500 x id
        ('{ searchEntities(q: "a", limit: 500) { items { id } } }', {}, 502),
        # 500 items x (resolution + members + 50 x id), plus total
        (
            '{ searchEntities(q: "a", limit: 500) { total items { resolution '
            "{ members(limit: 50) { id } } } } }",
            {},
            3 + 500 * (2 + 50),
        ),
        # 6 hops: 100 per hop, 7 entities, 6 relationships
        (
            '{ pathBetween(fromId: "a", toId: "b", maxHops: 6) '
            "{ entities { id } relationships { id } } }",
            {},
            1 + 600 + (1 + 7) + (1 + 6),
        ),
        # 20 entities, up to 40 relationships each with its two ends
        (
            '{ neighbors(id: "a", limit: 20) { entities { id } relationships { from { id } } } }',
            {},
            1 + 100 + (1 + 20) + (1 + 40 * 2),
        ),
        ("query($ids: [ID!]!) { entities(ids: $ids) { id label } }", {"ids": ["a", "b", "c"]}, 7),
        ("{ pagerankTop(limit: 50) { score entity { id } } }", {}, 1 + 50 * 3),
        # One fragment on EntityPage, costed once, sized by each parent's limit.
        (
            "fragment Page on EntityPage { items { id } } "
            '{ a: searchEntities(q: "a", limit: 100) { ...Page } '
            'b: searchEntities(q: "a", limit: 5) { ...Page } }',
            {},
            (2 + 100) + (2 + 5),
        ),
    ],
    ids=["search-page", "nested-members", "path", "neighbors", "entities-ids", "pagerank", "frag"],
)
def test_the_cost_multiplies_each_list_by_its_real_size(
    query: str, variables: dict[str, Any], cost: int
) -> None:
    document, operation = operation_of(query)
    generous = QueryLimits(max_depth=10, max_cost=10**9, max_list=500)
    assert check_cost(SCHEMA_V1_1, document, operation, variables, generous) == cost


# --- refusals over HTTP ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [25, 30])
def test_the_doubling_fragment_document_is_refused_at_once(
    harness: Harness, tenant: TenantHandle, n: int
) -> None:
    viewer = harness.new_key(tenant, "viewer")
    error = refusal(post(harness, viewer, doubling_fragments(n)), 400, "QUERY_TOO_MANY_ROOT_FIELDS")
    assert error["extensions"]["limit"] == 20
    assert error["extensions"]["value"] == 2 ** (n - 1)


@pytest.mark.parametrize(
    "query", [get_introspection_query(), GRAPHIQL_INTROSPECTION], ids=["standard", "graphiql"]
)
def test_the_standard_introspection_query_is_answered(
    harness: Harness, tenant: TenantHandle, query: str
) -> None:
    response = post(harness, tenant.admin_key, query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_800_aliased_introspection_queries_are_refused(
    harness: Harness, tenant: TenantHandle
) -> None:
    query = "{ " + " ".join(f"a{n}: __schema {{ queryType {{ name }} }}" for n in range(800)) + " }"
    error = refusal(post(harness, tenant.admin_key, query), 400, "QUERY_TOO_MANY_TOKENS")
    assert error["extensions"]["limit"] == 1_000


def test_3000_duplicate_fields_are_refused_before_validation(
    harness: Harness, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    validations: list[object] = []
    real_validate = executor_module.validate

    def counting_validate(*args: Any, **kwargs: Any) -> Any:
        validations.append(args)
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(executor_module, "validate", counting_validate)
    query = '{ entity(id: "x") { ' + "id " * 3_000 + "} }"
    refusal(post(harness, tenant.admin_key, query), 400, "QUERY_TOO_MANY_TOKENS")
    assert validations == []


def nested(fields: list[str]) -> str:
    """``{ a { b { c } } }`` from ``["a", "b", "c"]``: one field per level."""
    text = fields[-1]
    for name in reversed(fields[:-1]):
        text = f"{name} {{ {text} }}"
    return f"{{ {text} }}"


ENTITY_51_DIRECTIVES = '{ entity(id: "x") { ' + "id @include(if: true) " * 51 + "} }"


@pytest.mark.parametrize(
    ("query", "code", "limit", "value"),
    [
        ("{ " + "__typename " * 1_000 + "}", "QUERY_TOO_MANY_TOKENS", 1_000, 1_001),
        (
            "{ " + " ".join(f"a{n}: __typename" for n in range(16)) + " }",
            "QUERY_TOO_MANY_ALIASES",
            15,
            16,
        ),
        ("{ " + "__typename " * 21 + "}", "QUERY_TOO_MANY_ROOT_FIELDS", 20, 21),
        (ENTITY_51_DIRECTIVES, "QUERY_TOO_MANY_DIRECTIVES", 50, 51),
        # Unknown fields: refused for depth before validation would even look.
        (nested(["a"] * 10 + ["b"]), "QUERY_TOO_DEEP", 10, 11),
        (nested(["__schema", "types"] + ["ofType"] * 18 + ["name"]), "QUERY_TOO_DEEP", 20, 21),
    ],
    ids=["tokens", "aliases", "root-fields", "directives", "depth", "introspection-depth"],
)
def test_each_limit_is_refused_with_its_code_naming_the_limit_and_value(
    harness: Harness, tenant: TenantHandle, query: str, code: str, limit: int, value: int
) -> None:
    error = refusal(post(harness, tenant.admin_key, query), 400, code)
    assert error["extensions"]["category"] == "VALIDATION"
    assert (error["extensions"]["limit"], error["extensions"]["value"]) == (limit, value)
    assert str(limit) in error["message"]


def test_a_nul_in_a_string_literal_is_refused_naming_the_argument(
    harness: Harness, tenant: TenantHandle
) -> None:
    query = '{ entity(id: "a\\u0000b") { id } }'
    error = refusal(post(harness, tenant.admin_key, query), 400, "UNSTORABLE_VALUE")
    assert error["extensions"]["category"] == "VALIDATION"
    assert error["extensions"]["field"] == "entity(id:)"

    mutation = (
        'mutation { ingest(entities: [{externalId: "ok", type: PERSON, label: "Ann"}, '
        '{externalId: "x", type: PERSON, label: "B\\u0000"}]) { acceptedEntities } }'
    )
    error = refusal(post(harness, tenant.admin_key, mutation), 400, "UNSTORABLE_VALUE")
    assert error["extensions"]["field"] == "ingest(entities:)[1].label"
    assert harness.services.graph.counts(tenant.id)["entities"] == 0


def test_nested_lists_multiply_into_a_refused_cost(harness: Harness, tenant: TenantHandle) -> None:
    query = (
        '{ searchEntities(q: "a", limit: 500) { items { resolution '
        "{ members(limit: 100) { id label } } } } }"
    )
    error = refusal(post(harness, tenant.admin_key, query, **V1_1), 400, "QUERY_TOO_COSTLY")
    assert error["extensions"]["value"] == 2 + 500 * (2 + 100 * 2)
    assert error["extensions"]["limit"] == 50_000


def test_full_search_pages_are_not_overcounted(harness: Harness, tenant: TenantHandle) -> None:
    harness.ingest(tenant.admin_key, [person("ada", "Ada Smith")])
    pages = " ".join(
        f'p{n}: searchEntities(q: "smith", limit: 500) {{ items {{ id label type attributes }} }}'
        for n in range(4)
    )
    response = post(harness, tenant.admin_key, f"{{ {pages} }}")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["p3"]["items"][0]["label"] == "Ada Smith"


# --- past one limit, the next one holds ----------------------------------------------------


@pytest.fixture
def roomy_app(
    request: pytest.FixtureRequest, settings: Settings
) -> Iterator[tuple[TestClient, str]]:
    """An app whose earlier limits are raised (``request.param``), with a tenant's admin key."""
    services = start_services(settings.model_copy(update=request.param))
    operator = {"Authorization": f"Bearer {settings.operator_key}"}
    with TestClient(create_app(services=services)) as client:
        created = client.post(
            "/v1/admin/tenants",
            json={"name": "Roomy", "slug": f"roomy-{secrets.token_hex(4)}"},
            headers=operator,
        )
        assert created.status_code == 201, created.text
        yield client, created.json()["apiKey"]


ATTACKS = {
    "800-schema": "{ "
    + " ".join(f"a{n}: __schema {{ queryType {{ name }} }}" for n in range(800))
    + " }",
    "300-paths": "{ "
    + " ".join(f'p{n}: pathBetween(fromId: "a", toId: "b") {{ length }}' for n in range(300))
    + " }",
}
MANY_TOKENS = {"graphql_max_tokens": 100_000}
MANY_EVERYTHING = MANY_TOKENS | {"graphql_max_aliases": 1_000, "graphql_max_root_fields": 1_000}


@pytest.mark.parametrize("roomy_app", [MANY_TOKENS], indirect=True, ids=["tokens-raised"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_with_more_tokens_allowed_the_aliases_limit_refuses(
    roomy_app: tuple[TestClient, str], attack: str
) -> None:
    client, key = roomy_app
    response = client.post(
        "/graphql", json={"query": ATTACKS[attack]}, headers={"Authorization": f"Bearer {key}"}
    )
    assert refusal(response, 400, "QUERY_TOO_MANY_ALIASES")["extensions"]["limit"] == 15


@pytest.mark.parametrize("roomy_app", [MANY_EVERYTHING], indirect=True, ids=["all-raised"])
@pytest.mark.parametrize(
    ("attack", "cost"), [("800-schema", 800 * 5_000), ("300-paths", 300 * 302)]
)
def test_with_every_count_raised_the_cost_still_refuses(
    roomy_app: tuple[TestClient, str], attack: str, cost: int
) -> None:
    client, key = roomy_app
    response = client.post(
        "/graphql", json={"query": ATTACKS[attack]}, headers={"Authorization": f"Bearer {key}"}
    )
    assert refusal(response, 400, "QUERY_TOO_COSTLY")["extensions"]["value"] == cost


# --- the per-tenant introspection switch ----------------------------------------------------

HIDDEN_TYPE_QUERY = 'fragment T on Query { __type(name: "Entity") { name } } { ...T }'


def test_a_principal_without_introspection_is_refused_only_for_schema_and_type() -> None:
    closed = Principal(
        tenant_id="t", key_id="k", name="n", roles=("viewer",), allows_introspection=False
    )
    for text in (get_introspection_query(), HIDDEN_TYPE_QUERY):
        prepared = measure_document(parse(text))
        with pytest.raises(IntelGraphError) as refused:
            check_introspection(prepared, closed)
        assert refused.value.code == "INTROSPECTION_DISABLED"
        assert refused.value.status == 403
    check_introspection(measure_document(parse("{ __typename }")), closed)


def set_introspection(harness: Harness, tenant: TenantHandle, allowed: bool) -> dict[str, Any]:
    response = harness.client.put(
        f"/v1/admin/tenants/{tenant.slug}/api-settings",
        json={"allowsIntrospection": allowed},
        headers=harness.operator_headers,
    )
    assert response.status_code == 200, response.text
    settings: dict[str, Any] = response.json()["tenant"]
    return settings


def test_a_tenant_with_introspection_off_is_refused_schema_and_type(
    harness: Harness, tenant: TenantHandle
) -> None:
    assert set_introspection(harness, tenant, False)["allowsIntrospection"] is False
    for query in (get_introspection_query(), HIDDEN_TYPE_QUERY):
        error = refusal(post(harness, tenant.admin_key, query), 403, "INTROSPECTION_DISABLED")
        assert error["extensions"]["category"] == "AUTHORIZATION"
    typename = post(harness, tenant.admin_key, "{ __typename }")
    assert typename.status_code == 200, typename.text
    assert typename.json()["data"] == {"__typename": "Query"}

    other = harness.new_tenant()  # the same cached document, another tenant: still allowed
    assert post(harness, other.admin_key, get_introspection_query()).status_code == 200

    assert set_introspection(harness, tenant, True)["allowsIntrospection"] is True
    assert post(harness, tenant.admin_key, get_introspection_query()).status_code == 200


def test_a_new_tenant_allows_introspection(harness: Harness, tenant: TenantHandle) -> None:
    response = harness.client.get(
        f"/v1/admin/tenants/{tenant.slug}", headers=harness.operator_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["tenant"]["allowsIntrospection"] is True


def test_the_cli_switches_introspection_off(tmp_path: Any) -> None:
    env = {
        "INTELGRAPH_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "INTELGRAPH_DATA_DIR": str(tmp_path / "data"),
        "INTELGRAPH_OPERATOR_KEY": "igo_cli_test_operator_key",
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "COLUMNS": "200",
    }
    runner = CliRunner()

    def run(*args: str) -> Any:
        cli_services.cache_clear()
        try:
            return runner.invoke(cli, list(args), env=env)
        finally:
            cli_services.cache_clear()

    assert run("db", "upgrade").exit_code == 0  # what `serve` or an operator does first
    assert run("tenant", "create", "--name", "Closed", "--slug", "closed").exit_code == 0
    result = run("tenant", "api", "closed", "--no-introspection")
    assert result.exit_code == 0, result.output
    assert "introspection off" in result.output
    result = run("tenant", "api", "closed", "--introspection")
    assert "introspection on" in result.output
