"""Tenant isolation as a law: whatever is ingested, no principal ever sees another tenant's data.

Tenants are generated with overlapping external ids and labels, so a query that forgot its
tenant filter would find the neighbour's entities by search, by id or by walking edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Harness, edge
from intelgraph.settings import Settings

EXTERNAL_IDS = [f"e{n}" for n in range(6)]
WORDS = ["alpha", "beta", "gamma"]
ENTITY_TYPES = ["PERSON", "ORGANIZATION"]
RELATIONSHIP_TYPES = ["CONNECTED_TO", "OWNS", "WORKS_FOR"]
ROLES = ["viewer", "analyst", "admin"]


@pytest.fixture(name="settings")
def roomy_settings(settings: Settings) -> Settings:
    """Every read a principal could use goes in one request: more than the default limits."""
    return settings.model_copy(
        update={
            "graphql_max_tokens": 10_000,
            "graphql_max_aliases": 1_000,
            "graphql_max_root_fields": 1_000,
        }
    )


@dataclass(frozen=True)
class TenantPlan:
    key_roles: list[frozenset[str]]
    entities: list[tuple[str, str, str]]  # (external_id, label, type)
    edges: list[tuple[int, int, str]]  # indexes into entities


@dataclass
class Principal:
    tenant_id: str
    key: str
    roles: frozenset[str]


@dataclass
class World:
    entity_ids: dict[str, set[str]] = field(default_factory=dict)  # tenant id -> entity ids
    principals: list[Principal] = field(default_factory=list)


labels = st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(" ".join)

tenant_plans = st.builds(
    TenantPlan,
    key_roles=st.lists(
        st.frozensets(st.sampled_from(ROLES), min_size=1, max_size=2), min_size=0, max_size=1
    ),
    entities=st.lists(
        st.tuples(st.sampled_from(EXTERNAL_IDS), labels, st.sampled_from(ENTITY_TYPES)),
        min_size=1,
        max_size=6,
        unique_by=lambda entity: entity[0],
    ),
    edges=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.sampled_from(RELATIONSHIP_TYPES)),
        max_size=6,
    ),
)


def build_world(harness: Harness, plans: list[TenantPlan]) -> World:
    world = World()
    for plan in plans:
        tenant = harness.new_tenant()
        world.principals.append(Principal(tenant.id, tenant.admin_key, frozenset({"admin"})))
        for roles in plan.key_roles:
            key = harness.new_key(tenant, *sorted(roles))
            world.principals.append(Principal(tenant.id, key, roles))
        lines: list[dict[str, Any]] = [
            {"kind": "entity", "external_id": x, "type": t, "label": label}
            for x, label, t in plan.entities
        ]
        count = len(plan.entities)
        lines += [
            edge(kind, plan.entities[a % count][0], plan.entities[b % count][0])
            for a, b, kind in plan.edges
        ]
        response = harness.ingest(tenant.admin_key, lines)
        assert response.status_code == 200, response.text
        world.entity_ids[tenant.id] = set(response.json()["ids"].values())
        assert harness.services.graph.recompute_pagerank(tenant.id) == count
    return world


def variables_query(fields: list[str], variables: dict[str, str]) -> str:
    definitions = ", ".join(f"${name}: ID!" for name in variables)
    return (
        f"query({definitions}) {{ {' '.join(fields)} }}"
        if variables
        else f"{{ {' '.join(fields)} }}"
    )


def reads_as(harness: Harness, who: Principal, own: list[str], foreign: list[str]) -> Any:
    """One request with every read a principal could use to reach data.

    Foreign ids go to entity/getEntity (must be null) and to both ends of pathBetween (must
    fail with ENTITY_NOT_FOUND, each on its own: Path is nullable); own ids start walks.
    ``own[0]`` is always ``$o0``.
    """
    variables: dict[str, str] = {}
    fields: list[str] = []
    # Walks start at up to three own entities (first, middle, last): the graphs are small,
    # and three hops from these reach nearly all of it.
    starts = sorted({own[0], own[len(own) // 2], own[-1]})
    for n, entity_id in enumerate(starts):
        variables[f"o{n}"] = entity_id
        fields.append(
            f"n{n}: neighbors(id: $o{n}, hops: 3, limit: 20) "
            "{ entities { id } relationships { fromId toId from { id } to { id } } }"
        )
        fields.append(
            f"p{n}: pathBetween(fromId: $o0, toId: $o{n}, maxHops: 6) {{ entities {{ id }} }}"
        )
    for n, entity_id in enumerate(foreign):
        variables[f"f{n}"] = entity_id
        fields.append(f"f{n}: entity(id: $f{n}) {{ id }} g{n}: getEntity(id: $f{n}) {{ id }}")
        fields.append(f"to{n}: pathBetween(fromId: $o0, toId: $f{n}) {{ length }}")
        fields.append(f"from{n}: pathBetween(fromId: $f{n}, toId: $o0) {{ length }}")
    for word in WORDS:
        fields.append(f'{word}: searchEntities(q: "{word}", limit: 50) {{ total items {{ id }} }}')
    fields.append("rank: pagerankTop(limit: 50) { entity { id } }")
    response = harness.graphql(who.key, variables_query(fields, variables), variables)
    assert response.status_code == 200, response.text
    return response.json()


def ids_in(value: Any) -> set[str]:
    """Every entity id anywhere in a response fragment."""
    found: set[str] = set()
    if isinstance(value, dict):
        for name, inner in value.items():
            if name in ("id", "fromId", "toId") and isinstance(inner, str):
                found.add(inner)
            else:
                found |= ids_in(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= ids_in(inner)
    return found


def neighbors_of(harness: Harness, who: Principal, entity_id: str) -> Any:
    return harness.graphql(
        who.key, "query($id: ID!) { neighbors(id: $id) { entities { id } } }", {"id": entity_id}
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plans=st.lists(tenant_plans, min_size=2, max_size=3))
def test_no_principal_ever_sees_another_tenants_entities(
    harness: Harness, plans: list[TenantPlan]
) -> None:
    world = build_world(harness, plans)
    all_ids = [ids for ids in world.entity_ids.values()]
    assert sum(len(ids) for ids in all_ids) == len(set().union(*all_ids)), "ids are shared"

    for number, who in enumerate(world.principals):
        own = sorted(world.entity_ids[who.tenant_id])
        foreign = sorted(set().union(*world.entity_ids.values()) - set(own))

        body = reads_as(harness, who, own, foreign)

        data = body["data"]
        assert ids_in(data) <= set(own), f"{sorted(who.roles)} key saw {ids_in(data) - set(own)}"
        for n in range(len(foreign)):
            assert data[f"f{n}"] is None and data[f"g{n}"] is None
            assert data[f"to{n}"] is None and data[f"from{n}"] is None
        for word in WORDS:
            assert data[word]["total"] == len(data[word]["items"])
        errors = body.get("errors", [])
        assert {e["extensions"]["code"] for e in errors} <= {"ENTITY_NOT_FOUND"}
        expected = {f"{end}{n}" for n in range(len(foreign)) for end in ("to", "from")}
        assert {e["path"][0] for e in errors} == expected

        if not foreign:
            continue
        # The first principal starts from every foreign id, the others from one each: the
        # lookup does not depend on the role, and a request per id is the slow part here.
        starts = foreign if number == 0 else [foreign[number % len(foreign)]]
        for entity_id in starts:
            response = neighbors_of(harness, who, entity_id)
            assert response.status_code == 404, response.text
            assert response.json()["errors"][0]["extensions"]["code"] == "ENTITY_NOT_FOUND"
            assert response.json()["data"] is None
