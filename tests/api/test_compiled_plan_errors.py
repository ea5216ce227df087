"""What goes wrong inside a compiled query reaches the client exactly as graphql-core writes it.

A small schema whose resolvers misbehave on purpose (an IntelGraphError, a null for a non-null
field, a value its enum does not have, a generator for a list) runs each document with the
compiled plans on and off; the two answers (status, body bytes, the budget's count) match.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from ariadne import ObjectType, QueryType, make_executable_schema

from intelgraph.api.budget import BudgetLimits, RequestBudget
from intelgraph.api.executor import GraphQLExecutor
from intelgraph.api.limits import QueryLimits
from intelgraph.kernel.errors import ENTITY_NOT_FOUND, RESPONSE_TOO_LARGE, IntelGraphError

SDL = """
type Query {
  item(id: ID!): Item
  items(limit: Int = 3): [Item!]!
  strict: Item!
  numbers: [Int!]!
}
type Item {
  id: ID!
  name: String!
  color: Color
  tags: [String!]!
  broken: String
  child: Item!
  score: Float!
}
enum Color { RED BLUE }
"""

ITEMS: dict[str, dict[str, Any]] = {
    "a": {"id": "a", "name": "Ada", "color": "RED", "tags": ["x", "y"], "score": 1},
    "green": {"id": "green", "name": "G", "color": "GREEN", "tags": [], "score": 0.5},
    "orphan": {"id": "orphan", "name": "O", "color": None, "tags": ["z"], "score": 2.0},
    "nameless": {"id": "nameless", "name": None, "color": "BLUE", "tags": [], "score": 3},
}
CALLS: list[str] = []

query = QueryType()
item_type = ObjectType("Item")


@query.field("item")
def resolve_item(_: None, __: Any, id: str) -> dict[str, Any] | None:
    CALLS.append(f"item:{id}")
    if id == "boom":
        raise IntelGraphError(ENTITY_NOT_FOUND, "no item boom", {"id": id})
    return ITEMS.get(id)


@query.field("items")
def resolve_items(_: None, __: Any, limit: int) -> list[dict[str, Any]]:
    return list(ITEMS.values())[:limit]


@query.field("strict")
def resolve_strict(_: None, __: Any) -> None:
    return None


@query.field("numbers")
def resolve_numbers(_: None, __: Any) -> Iterator[int]:
    return iter(range(3))


@item_type.field("broken")
def resolve_broken(item: dict[str, Any], _: Any) -> str:
    raise IntelGraphError(ENTITY_NOT_FOUND, f"broken on {item['id']}")


@item_type.field("child")
def resolve_child(item: dict[str, Any], _: Any) -> dict[str, Any] | None:
    return None if item["id"] == "orphan" else ITEMS["a"]


SCHEMA = make_executable_schema(SDL, query, item_type)
LIMITS = QueryLimits(max_depth=10, max_cost=10_000, max_list=100)


def run(document: str, variables: dict[str, Any], *, compiled: bool, max_bytes: int) -> Any:
    executor = GraphQLExecutor(SCHEMA, LIMITS, 10, compiled=compiled)
    budget = RequestBudget(BudgetLimits(30.0, max_bytes), lambda: 0.0)
    try:
        outcome = executor.execute(executor.prepare(document), variables, None, None, budget=budget)
    except IntelGraphError as error:
        return ("raised", error.error.code, orjson.dumps(error.to_graphql_error()))
    return (
        outcome.status,
        orjson.dumps(outcome.body),
        budget.response_bytes,
        outcome.operation_label,
    )


CASES = [
    ('{ item(id: "a") { id name color tags score child { name } } }', {}),
    (
        'query($id: ID!) { x: item(id: $id) { n: name, id } y: item(id: "nope") { id } }',
        {"id": "a"},
    ),
    ('{ item(id: "boom") { id } other: item(id: "a") { id } }', {}),
    ('{ item(id: "a") { id broken name } }', {}),
    ('{ item(id: "orphan") { id child { id } } }', {}),
    ("{ items { id child { id } } }", {}),
    ("{ items(limit: 4) { id name } }", {}),
    ('{ item(id: "green") { id color } }', {}),
    ('{ strict { id } item(id: "a") { id } }', {}),
    ("{ numbers }", {}),
    ("query($n: Int) { items(limit: $n) { id tags } }", {"n": None}),
    ("query($n: Int) { items(limit: $n) { id tags } }", {}),
    ("query($n: Int) { items(limit: $n) { id tags } }", {"n": 2}),
]


@pytest.mark.parametrize("max_bytes", [10_000, 60])
@pytest.mark.parametrize(("document", "variables"), CASES)
def test_compiled_and_generic_answers_match_errors_and_budget_included(
    document: str, variables: dict[str, Any], max_bytes: int
) -> None:
    compiled = run(document, variables, compiled=True, max_bytes=max_bytes)
    generic = run(document, variables, compiled=False, max_bytes=max_bytes)
    assert compiled == generic


def test_an_answer_too_large_is_refused_at_the_same_field_both_ways() -> None:
    document = "{ items(limit: 4) { id name tags } }"
    compiled = run(document, {}, compiled=True, max_bytes=40)
    assert compiled[:2] == ("raised", RESPONSE_TOO_LARGE.code)
    assert compiled == run(document, {}, compiled=False, max_bytes=40)


def test_a_query_its_plan_answers_runs_each_resolver_once() -> None:
    CALLS.clear()
    run(
        '{ a: item(id: "a") { id } b: item(id: "orphan") { id } }',
        {},
        compiled=True,
        max_bytes=10_000,
    )
    assert CALLS == ["item:a", "item:orphan"]


def test_a_query_whose_plan_meets_an_error_is_answered_by_graphql_core() -> None:
    CALLS.clear()
    _status, body, _, _ = run('{ item(id: "boom") { id } }', {}, compiled=True, max_bytes=10_000)
    assert orjson.loads(body)["errors"][0]["path"] == ["item"]
    assert CALLS == ["item:boom", "item:boom"]  # the plan's try, then graphql-core's
