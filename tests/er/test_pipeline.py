"""Batch and online resolution end to end, on generated data and on crafted chains."""

from __future__ import annotations

import pytest

from intelgraph.er.engine.clustering import ChainingGuard
from intelgraph.er.engine.config import default_config, parse_config
from intelgraph.er.engine.decisions import Decision, Thresholds
from intelgraph.er.engine.evaluation import pairwise_metrics
from intelgraph.er.engine.pipeline import ResolvedIndex, resolve_batch, resolve_incremental
from intelgraph.er.engine.scoring import new_model
from intelgraph.kernel.errors import IntelGraphError

from .support import (
    HARD_PROFILE,
    generated_organizations,
    generated_people,
    organization,
    person,
)

# Five exact/else comparisons, no term frequencies, and blocking only on email and phone:
# a small world where scores are easy to reason about. With m = 0.9/0.1 and u = 0.01/0.99
# an agreement weighs +6.5, a disagreement -3.3 and the prior -6.6, so three agreements and
# two disagreements make p = 0.99 (auto-merge) and one agreement makes p < 0.01.
_FIELDS = ("given_name", "surname", "email", "phone", "national_id")
SMALL = parse_config(
    {
        "entity_type": "PERSON",
        "version": "test-small",
        "attributes": {f: "identifier" for f in _FIELDS},
        "comparisons": [
            {
                "name": f,
                "fields": [f],
                "levels": [{"label": "exact", "test": "exact"}, {"label": "else", "test": "else"}],
            }
            for f in _FIELDS
        ],
        "blocking": [
            {"name": "email", "keys": [{"field": "email"}]},
            {"name": "phone", "keys": [{"field": "phone"}]},
        ],
        "training": {"em_blocking": [{"name": "email", "keys": [{"field": "email"}]}]},
    }
)
SMALL_MODEL = new_model(SMALL, 0.01, [[0.9, 0.1]] * 5, [[0.01, 0.99]] * 5)
STRICT = ChainingGuard(min_review_share=0.75)


def _small(record_id: str, given: str, surname: str, email: str, phone: str, nid: str):
    return person(
        record_id, given_name=given, surname=surname, email=email, phone=phone, national_id=nid
    )


def test_batch_resolution_recovers_generated_people() -> None:
    records, truth = generated_people(1500, seed=41, profile=HARD_PROFILE)
    resolution = resolve_batch(records, default_config("PERSON"))
    metrics = pairwise_metrics(resolution.cluster_labels(), truth)
    assert metrics.precision >= 0.97
    assert metrics.recall >= 0.95
    assert set(resolution.timings) == {"prepare", "block", "compare", "train", "score", "cluster"}
    decisions = resolution.decisions()
    assert decisions and {d.decision for d in decisions} <= {Decision.AUTO_MERGE, Decision.REVIEW}
    assert all(d.match_probability >= 0.6 for d in decisions)


def test_batch_resolution_recovers_generated_organisations() -> None:
    records, truth = generated_organizations(1500, seed=42, profile=HARD_PROFILE)
    resolution = resolve_batch(records, default_config("ORGANIZATION"))
    assert pairwise_metrics(resolution.cluster_labels(), truth).f1 >= 0.95


def test_a_given_model_is_used_as_is() -> None:
    records, _ = generated_people(300, seed=43)
    config = default_config("PERSON")
    first = resolve_batch(records, config)
    second = resolve_batch(records, config, model=first.model)
    assert "train" not in second.timings
    assert second.model is first.model
    assert second.clustering == first.clustering


def test_a_chain_through_a_bridging_record_is_held_for_review() -> None:
    records = [
        _small("a", "ada", "lovelace", "e1", "p1", "n1"),
        _small("b", "ada", "lovelace", "e1", "p2", "n2"),
        _small("c", "charles", "babbage", "e1", "p2", "n2"),
    ]
    resolution = resolve_batch(records, SMALL, SMALL_MODEL, guard=STRICT)
    assert resolution.clustering.clusters == (("a",), ("b",), ("c",))
    (held,) = resolution.clustering.held
    assert held.members == ("a", "b", "c")
    assert held.review_share == pytest.approx(2 / 3)


def test_pairs_blocking_missed_inside_a_cluster_are_scored_before_judging_it() -> None:
    # a-c share no email or phone, so they are never candidates; they agree on 3 of 5.
    records = [
        _small("a", "ada", "lovelace", "e1", "p1", "n1"),
        _small("b", "ada", "lovelace", "e1", "p2", "n1"),
        _small("c", "ada", "lovelace", "e2", "p2", "n1"),
    ]
    resolution = resolve_batch(records, SMALL, SMALL_MODEL, guard=STRICT)
    assert ("a", "c") not in resolution.candidates.id_pairs(resolution.record_ids)
    assert resolution.clustering.clusters == (("a", "b", "c"),)


def test_records_of_another_type_or_with_repeated_ids_are_refused() -> None:
    config = default_config("PERSON")
    with pytest.raises(IntelGraphError, match="but config 'person-v1' resolves PERSON"):
        resolve_batch([person("a"), organization("b")], config)
    with pytest.raises(IntelGraphError, match="appears more than once"):
        resolve_batch([person("a"), person("a")], config)


@pytest.fixture(scope="module")
def online() -> tuple:
    records, truth = generated_people(1200, seed=44, profile=HARD_PROFILE)
    split = len(records) - 300
    config = default_config("PERSON")
    resolution = resolve_batch(records[:split], config)
    changes = resolution.assign_ids()
    index = ResolvedIndex.from_prepared(resolution.prepared, changes.assignment)
    before = dict(changes.assignment.record_clusters)
    result = resolve_incremental(records[split:], index, resolution.model)
    return records, truth, split, index, before, result, resolution.model


def test_new_records_join_the_clusters_of_their_duplicates(online: tuple) -> None:
    records, truth, split, index, before, result, _ = online
    assert len(index) == len(records)
    final = index.assignment.record_clusters
    assert pairwise_metrics({r: final[r] for r in truth}, truth).f1 >= 0.95
    assert set(result.timings) == {"prepare", "index", "block", "score", "cluster"}
    joined = [
        r.record_id
        for r in records[split:]
        if truth[r.record_id] in {truth[o.record_id] for o in records[:split]}
    ]
    assert joined, "the generated batch should contain duplicates of indexed people"
    kept = sum(
        1
        for record_id in joined
        if final[record_id] in {before[o] for o in before if truth[o] == truth[record_id]}
    )
    assert kept / len(joined) >= 0.95


def test_existing_cluster_ids_survive_online_additions(online: tuple) -> None:
    _, _, _, index, before, result, _ = online
    final = index.assignment.record_clusters
    changed = {r for r, c in before.items() if final[r] != c}
    # Only merges may move an indexed record, and then to the older id.
    for record_id in changed:
        assert result.changes.merged.get(before[record_id]) == final[record_id]


def test_a_record_already_in_the_index_is_refused(online: tuple) -> None:
    records, _, _, index, _, _, model = online
    with pytest.raises(IntelGraphError, match="already resolved"):
        resolve_incremental(records[:1], index, model)


def test_an_online_bridge_between_two_clusters_is_held_and_both_keep_their_ids() -> None:
    existing = [
        _small("a", "ada", "lovelace", "e1", "p1", "n1"),
        _small("c", "charles", "babbage", "e1", "p2", "n2"),
    ]
    index = ResolvedIndex.build(existing, SMALL, new_cluster_id=iter(["A", "C"]).__next__)
    bridge = _small("b", "ada", "lovelace", "e1", "p2", "n2")
    result = resolve_incremental(
        [bridge], index, SMALL_MODEL, guard=STRICT, new_cluster_id=iter(["B"]).__next__
    )
    assert index.assignment.record_clusters == {"a": "A", "c": "C", "b": "B"}
    (held,) = result.held
    assert held.members == ("a", "b", "c")


def test_an_online_duplicate_joins_and_a_newcomer_starts_a_cluster() -> None:
    index = ResolvedIndex.build(
        [_small("a", "ada", "lovelace", "e1", "p1", "n1")],
        SMALL,
        new_cluster_id=iter(["A"]).__next__,
    )
    result = resolve_incremental(
        [
            _small("a2", "ada", "lovelace", "e1", "p9", "n1"),
            _small("z", "zoe", "zhou", "e7", "p7", "n7"),
        ],
        index,
        SMALL_MODEL,
        Thresholds(),
        new_cluster_id=iter(["Z"]).__next__,
    )
    assert result.cluster_of("a2") == "A"
    assert result.cluster_of("z") == "Z"
    assert result.changes.created == ["Z"]
    assert [(d.left_id, d.right_id, d.decision) for d in result.decisions] == [
        ("a2", "a", Decision.AUTO_MERGE)
    ]


def test_an_online_model_for_another_config_is_refused() -> None:
    index = ResolvedIndex.build([_small("a", "ada", "lovelace", "e1", "p1", "n1")], SMALL)
    other = new_model(
        default_config("ORGANIZATION"),
        0.01,
        [[1 / len(c.levels)] * len(c.levels) for c in default_config("ORGANIZATION").comparisons],
        [[1 / len(c.levels)] * len(c.levels) for c in default_config("ORGANIZATION").comparisons],
    )
    with pytest.raises(IntelGraphError, match="does not fit"):
        resolve_incremental([_small("b", "x", "y", "e", "p", "n")], index, other)
