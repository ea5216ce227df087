"""Blocking rules as data produce candidate pairs without comparing all pairs."""

from __future__ import annotations

import numpy as np

from intelgraph.er.engine.blocking import BlockingIndex, blocking_recall, candidate_pairs
from intelgraph.er.engine.config import BlockingRuleSpec, default_config
from intelgraph.er.engine.evaluation import true_pairs
from intelgraph.er.engine.preparation import prepare

from .support import (
    HARD_PROFILE,
    generated_organizations,
    generated_people,
    organization,
    person,
)


def _rule(**data: object) -> BlockingRuleSpec:
    return BlockingRuleSpec.model_validate({"name": "r", **data})


def _id_pairs(records: list, rules: list[BlockingRuleSpec]) -> set[tuple[str, str]]:
    prepared = prepare(records, default_config(records[0].entity_type))
    return set(candidate_pairs(prepared, rules).id_pairs(prepared.record_ids))


def test_records_sharing_a_key_become_pairs_once_in_order() -> None:
    records = [
        person("a", surname="Smith", dob="1980-01-01"),
        person("b", surname="Smyth", dob="1980-06-01"),
        person("c", surname="Smith", dob="1990-01-01"),
        person("d", surname="Jones", dob="1980-01-01"),
    ]
    rule = _rule(
        keys=[{"field": "surname", "transform": "soundex"}, {"field": "dob", "transform": "year"}]
    )
    assert _id_pairs(records, [rule, rule]) == {("a", "b")}


def test_a_record_missing_a_key_part_is_in_no_block() -> None:
    records = [person("a", surname="Smith"), person("b", surname="Smith", dob="1980-01-01")]
    rule = _rule(keys=[{"field": "surname"}, {"field": "dob", "transform": "year"}])
    assert _id_pairs(records, [rule]) == set()


def test_names_in_either_order_share_an_unordered_key() -> None:
    records = [
        person("a", given_name="Ada", surname="Lovelace"),
        person("b", given_name="Lovelace", surname="Ada"),
        person("c", given_name="Ada", surname="Byron"),
    ]
    rule = _rule(keys=[{"fields": ["given_name", "surname"], "transform": "unordered"}])
    assert _id_pairs(records, [rule]) == {("a", "b")}


def test_token_keys_put_a_record_in_one_block_per_token() -> None:
    records = [
        organization("a", name="Acme Steel"),
        organization("b", name="Steel Works"),
        organization("c", name="Acme Foods"),
        organization("d", name="Globex"),
    ]
    rule = _rule(keys=[{"field": "name", "transform": "tokens"}])
    assert _id_pairs(records, [rule]) == {("a", "b"), ("a", "c")}


def test_blocks_larger_than_the_limit_are_skipped_and_counted() -> None:
    records = [person(str(i), surname="Smith") for i in range(5)] + [
        person("x", surname="Byron"),
        person("y", surname="Byron"),
    ]
    rule = _rule(keys=[{"field": "surname"}], max_block_size=4)
    prepared = prepare(records, default_config("PERSON"))
    pairs = candidate_pairs(prepared, [rule])
    assert pairs.id_pairs(prepared.record_ids) == [("x", "y")]
    assert pairs.skipped_blocks == {"r": 1}


def test_default_person_blocking_finds_almost_every_true_pair_among_few_candidates() -> None:
    records, truth = generated_people(1500, seed=11, profile=HARD_PROFILE)
    config = default_config("PERSON")
    prepared = prepare(records, config)
    pairs = candidate_pairs(prepared, config.blocking)
    n = len(records)
    assert blocking_recall(pairs.id_pairs(prepared.record_ids), true_pairs(truth)) >= 0.98
    assert len(pairs) < n * (n - 1) / 2 / 50


def test_default_organisation_blocking_finds_almost_every_true_pair() -> None:
    records, truth = generated_organizations(1500, seed=12, profile=HARD_PROFILE)
    config = default_config("ORGANIZATION")
    prepared = prepare(records, config)
    pairs = candidate_pairs(prepared, config.blocking)
    assert blocking_recall(pairs.id_pairs(prepared.record_ids), true_pairs(truth)) >= 0.98


def test_the_index_finds_the_same_pairs_for_new_rows_as_batch_blocking() -> None:
    records, _ = generated_people(600, seed=13, profile=HARD_PROFILE)
    config = default_config("PERSON")
    prepared = prepare(records, config)
    split = 500
    index = BlockingIndex(list(config.blocking))
    index.add(prepared, np.arange(split))
    new_rows = np.arange(split, len(records))
    index.add(prepared, new_rows)
    found = index.candidates_for(prepared, new_rows)
    online = set(zip(found.left.tolist(), found.right.tolist(), strict=True))
    batch = candidate_pairs(prepared, config.blocking)
    expected = {
        (a, b)
        for a, b in zip(batch.left.tolist(), batch.right.tolist(), strict=True)
        if b >= split or a >= split
    }
    assert online == expected


def test_blocking_recall_counts_pairs_in_either_order() -> None:
    assert blocking_recall([("b", "a"), ("c", "d")], [("a", "b"), ("a", "c")]) == 0.5
    assert blocking_recall([], []) == 1.0


def test_sorted_token_keys_ignore_word_order() -> None:
    records = [
        organization("a", name="Smith & Jones Ltd"),
        organization("b", name="Jones and Smith Limited"),
        organization("c", name="Smith Jones Partners"),
    ]
    rule = _rule(keys=[{"field": "name", "transform": "sorted_tokens"}])
    assert _id_pairs(records, [rule]) == {("a", "b")}
