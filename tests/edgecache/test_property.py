"""Laws of the cache under random traffic: a response never carries another tenant's data,
and no read after a completed write returns data from before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Harness, edge, person
from edgecache.support import GET_ENTITY, PAGERANK_TOP, V1_1, cached_read, truth

TENANTS = 3
ENTITIES = 3


@dataclass
class World:
    harness: Harness
    tenants: list[Any]
    keys: list[list[str]]  # per tenant: admin, viewer, analyst
    ids: list[list[str]]  # per tenant: entity ids


@pytest.fixture(scope="module")
def world(module_harness: Harness) -> World:
    tenants, keys, ids = [], [], []
    for number in range(TENANTS):
        tenant = module_harness.new_tenant()
        lines = [person(f"p{i}", f"T{number} person {i}") for i in range(ENTITIES)]
        response = module_harness.ingest(tenant.admin_key, lines)
        tenants.append(tenant)
        keys.append(
            [
                tenant.admin_key,
                module_harness.new_key(tenant, "viewer"),
                module_harness.new_key(tenant, "analyst"),
            ]
        )
        ids.append([response.json()["ids"][f"p{i}"] for i in range(ENTITIES)])
    return World(module_harness, tenants, keys, ids)


tenant_index = st.integers(0, TENANTS - 1)
entity_index = st.integers(0, ENTITIES - 1)
read = st.tuples(
    st.just("read"),
    tenant_index,
    st.integers(0, 2),  # which key (scope)
    st.sampled_from(["1.0", "1.1"]),
    st.sampled_from([GET_ENTITY, PAGERANK_TOP]),
    st.one_of(entity_index, st.integers(1, 4).map(lambda n: -n)),  # entity, or a foreign id
    st.sampled_from(["GET", "POST"]),
)
relabel = st.tuples(st.just("relabel"), tenant_index, entity_index, st.integers(0, 1_000))
link = st.tuples(st.just("link"), tenant_index, entity_index, entity_index)
recompute = st.tuples(st.just("pagerank"), tenant_index)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.one_of(read, read, relabel, link, recompute), min_size=4, max_size=14))
def test_no_foreign_and_no_pre_write_data_is_ever_served(world: World, steps: list[Any]) -> None:
    harness = world.harness
    for step in steps:
        if step[0] == "relabel":
            _, t, e, n = step
            harness.ingest(world.keys[t][0], [person(f"p{e}", f"T{t} person {e} v{n}")])
        elif step[0] == "link":
            _, t, a, b = step
            if a != b:
                harness.ingest(world.keys[t][0], [edge("CONNECTED_TO", f"p{a}", f"p{b}")])
        elif step[0] == "pagerank":
            harness.services.graph.recompute_pagerank(world.tenants[step[1]].id)
        else:
            _, t, k, version, operation, target, method = step
            key = world.keys[t][k]
            headers = V1_1 if version == "1.1" else {}
            if operation == GET_ENTITY:
                # a negative target asks for another tenant's entity by its id
                owner = t if target >= 0 else (t - target) % TENANTS
                variables: dict[str, Any] = {"id": world.ids[owner][abs(target) % ENTITIES]}
            else:
                variables = {"limit": 1 + abs(target) % 3}
            response = cached_read(
                harness, key, operation, variables, method=method, headers=headers
            )
            assert response.status_code == 200, response.text
            assert response.json() == truth(harness, key, operation, variables, headers), step
            for other in range(TENANTS):
                if other != t:
                    assert f"T{other} person".encode() not in response.content
                    assert not any(i.encode() in response.content for i in world.ids[other])
