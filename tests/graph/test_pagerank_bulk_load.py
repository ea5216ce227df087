"""PageRank's bulk load (ids as byte blocks) stores what the row-by-row load stored."""

from __future__ import annotations

import pytest

from conftest import Harness, TenantHandle
from intelgraph.demo.records import random_graph_edges
from intelgraph.graph import analytics_repository as analytics_repo
from intelgraph.graph import repository as repo
from intelgraph.graph.id_lookup import FixedWidthIds
from intelgraph.graph.pagerank import compute_pagerank, ranked_subset
from intelgraph.graph.pagerank_worker import rank_blocks, recompute_stored

TYPES = ("PERSON", "ORGANIZATION", "ACCOUNT")


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def seed(harness: Harness, ids: list[str], pairs: list[tuple[str, str]]) -> TenantHandle:
    tenant = harness.new_tenant()
    now = harness.services.clock.now()
    with harness.services.engine.begin() as conn:
        repo.insert_entities(
            conn,
            [
                (tenant.id, entity_id, f"x{i}", TYPES[i % 3], f"node {i}", "{}", 0.9, None, "[]")
                for i, entity_id in enumerate(ids)
            ],
            now,
        )
        repo.insert_relationships(
            conn,
            [
                (tenant.id, f"rel_{n:024x}", "CONNECTED_TO", a, b, 0.9, "{}")
                for n, (a, b) in enumerate(pairs)
            ],
            now,
        )
    return tenant


def row_load_ranking(harness: Harness, tenant_id: str, keep: int) -> dict[str, float]:
    """What the recompute stored before the bulk load: rows, string ids, ranked_subset."""
    with harness.services.engine.connect() as conn:
        nodes, types, edges = repo.all_edges(conn, tenant_id)
    return ranked_subset(compute_pagerank(nodes, edges), dict(zip(nodes, types, strict=True)), keep)


def test_bulk_load_keeps_the_same_scores_as_the_row_load_ties_and_noise_included(
    harness: Harness,
) -> None:
    # Ids stored out of id order; the last 200 entities have no edges: their equal scores
    # straddle the cut, so which of them are kept is decided by id, as before.
    ids = [f"ent_{(i * 7919) % 1000:024x}" for i in range(600)]
    pairs = dict.fromkeys(
        (ids[a], ids[b]) for a, b in random_graph_edges(400, 3_000, seed=5) if a != b
    )
    noise = [(ids[0], ids[0]), (ids[1], "ent_not_an_entity_0000000000"), ("ent_short", ids[2])]
    tenant = seed(harness, ids, [*pairs, *noise])
    with harness.services.engine.connect() as conn:
        blocks = analytics_repo.load_graph_blocks(conn, tenant.id)
    assert blocks is not None
    ranked = rank_blocks(blocks, keep=300)
    assert ranked is not None
    scored, edges_read, kept = ranked
    expected = row_load_ranking(harness, tenant.id, keep=300)
    assert scored == 600
    assert edges_read == len(pairs) + 2  # the end of another width is left out by the query
    assert set(kept) == set(expected)
    assert kept == pytest.approx(expected, rel=1e-9)


def test_recompute_stores_what_the_row_load_would_have_stored(harness: Harness) -> None:
    ids = [f"ent_{i:024x}" for i in range(300)]
    pairs = [(ids[a], ids[b]) for a, b in dict.fromkeys(random_graph_edges(300, 2_000, seed=8))]
    tenant = seed(harness, ids, pairs)
    expected = row_load_ranking(harness, tenant.id, keep=50)
    services = harness.services
    run = recompute_stored(services.engine, tenant.id, services.clock.now(), keep=50)
    with services.engine.connect() as conn:
        stored = repo.top_pagerank(conn, tenant.id, 1_000, None)
    assert run.scored == 300
    assert {entity.id: score for entity, score, _ in stored} == pytest.approx(expected)


def test_entity_ids_of_several_widths_are_ranked_from_rows(harness: Harness) -> None:
    ids = [f"ent_{i:024x}" for i in range(50)] + [f"ent_{i}" for i in range(50)]
    pairs = [(ids[i], ids[(i * 3 + 1) % 100]) for i in range(100)]
    tenant = seed(harness, ids, pairs)
    with harness.services.engine.connect() as conn:
        assert analytics_repo.load_graph_blocks(conn, tenant.id) is None
    services = harness.services
    run = recompute_stored(services.engine, tenant.id, services.clock.now(), keep=500)
    assert run.scored == 100
    with services.engine.connect() as conn:
        stored = repo.top_pagerank(conn, tenant.id, 1_000, None)
    expected = compute_pagerank(ids, pairs)
    assert {entity.id: score for entity, score, _ in stored} == pytest.approx(expected)


def test_an_id_differing_from_a_node_in_one_byte_is_not_that_node() -> None:
    nodes = [b"ent_aaaaaaaaaaaaaaaaaaaaaaaa", b"ent_bbbbbbbbbbbbbbbbbbbbbbbb"]
    lookup = FixedWidthIds(b"".join(nodes), 28)
    ends = [nodes[1], b"ent_bbbbbbbbbbbbbbbbbbbbbbbc", b"Ent_aaaaaaaaaaaaaaaaaaaaaaaa", nodes[0]]
    assert lookup.indexes_of(b"".join(ends)).tolist() == [1, -1, -1, 0]
    assert lookup.id_at(1) == "ent_bbbbbbbbbbbbbbbbbbbbbbbb"


def test_nodes_out_of_id_order_report_the_order_that_sorts_them() -> None:
    lookup = FixedWidthIds(b"ent_00000002ent_00000000ent_00000001", 12)
    order = lookup.sorted_order()
    assert order is not None and order.tolist() == [1, 2, 0]
    assert FixedWidthIds(b"ent_00000000ent_00000001", 12).sorted_order() is None
