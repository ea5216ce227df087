"""Synthetic records: repeatable, valid ingest input, and duplicates whose truth is known."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from typing import Any

import orjson
import pytest

from intelgraph.demo.records import (
    CITIES,
    CORRUPTION_KINDS,
    ENTITY_TYPES,
    GIVEN_NAMES,
    NICKNAMES,
    RELATIONSHIP_TYPES,
    SOURCES,
    SURNAMES,
    CorruptionProfile,
    SyntheticRecord,
    bulk_entity_lines,
    demo_ingest_lines,
    generate_organizations,
    generate_people,
    random_graph_edges,
)
from intelgraph.graph.ingest import parse_ndjson
from intelgraph.graph.model import EntityType, RelationshipType

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def demo_lines() -> list[dict[str, Any]]:
    return list(demo_ingest_lines())


def _entities(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["kind"] == "entity"]


def _relationships(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["kind"] == "relationship"]


def _by_cluster(records: list[SyntheticRecord]) -> dict[str, list[SyntheticRecord]]:
    clusters: dict[str, list[SyntheticRecord]] = defaultdict(list)
    for record in records:
        clusters[record.cluster_id].append(record)
    return clusters


# --- reference data ---------------------------------------------------------------------


def test_embedded_lists_are_large_enough_and_know_nicknames() -> None:
    assert len(GIVEN_NAMES) >= 250 and len(SURNAMES) >= 250
    assert 45 <= len(CITIES) <= 60
    assert "Bill" in NICKNAMES["William"] and "Bob" in NICKNAMES["Robert"]
    assert "Liz" in NICKNAMES["Elizabeth"]
    assert set(NICKNAMES) <= set(GIVEN_NAMES)


def test_type_vocabularies_match_the_graph_model() -> None:
    assert {member.value for member in EntityType} == ENTITY_TYPES
    assert {member.value for member in RelationshipType} == RELATIONSHIP_TYPES


# --- determinism --------------------------------------------------------------------------


def test_same_seed_gives_the_same_records() -> None:
    assert generate_people(200, seed=5) == generate_people(200, seed=5)
    assert generate_organizations(100, seed=5) == generate_organizations(100, seed=5)
    assert list(demo_ingest_lines(3, 200, 40)) == list(demo_ingest_lines(3, 200, 40))
    assert list(bulk_entity_lines(500, seed=2)) == list(bulk_entity_lines(500, seed=2))
    assert random_graph_edges(100, 1_000, seed=9) == random_graph_edges(100, 1_000, seed=9)


def test_different_seeds_give_different_records() -> None:
    assert generate_people(50, seed=1) != generate_people(50, seed=2)
    assert list(demo_ingest_lines(1, 100, 20)) != list(demo_ingest_lines(2, 100, 20))
    assert random_graph_edges(100, 1_000, seed=1) != random_graph_edges(100, 1_000, seed=2)


def test_generation_leaves_the_global_random_alone() -> None:
    import random

    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    generate_people(50, seed=1)
    list(demo_ingest_lines(1, 50, 10))
    random_graph_edges(50, 200, seed=1)
    assert random.random() == expected


# --- the demo tenant --------------------------------------------------------------------


def test_defaults_give_a_few_thousand_entities_and_several_thousand_links(
    demo_lines: list[dict[str, Any]],
) -> None:
    entities, relationships = _entities(demo_lines), _relationships(demo_lines)
    assert 3_000 <= len(entities) <= 10_000
    assert 5_000 <= len(relationships) <= 20_000
    types = Counter(entity["type"] for entity in entities)
    for entity_type in ("PERSON", "ORGANIZATION", "ACCOUNT", "DEVICE", "LOCATION"):
        assert types[entity_type] > 0, entity_type
    # Entities come first, then relationships.
    kinds = [line["kind"] for line in demo_lines]
    assert kinds == sorted(kinds, key=lambda kind: kind != "entity")


def test_external_ids_are_unique_and_every_endpoint_exists(
    demo_lines: list[dict[str, Any]],
) -> None:
    ids = [entity["external_id"] for entity in _entities(demo_lines)]
    assert len(ids) == len(set(ids))
    known = set(ids)
    for relationship in _relationships(demo_lines):
        assert relationship["from"] in known and relationship["to"] in known
        assert relationship["from"] != relationship["to"]


def test_no_relationship_repeats(demo_lines: list[dict[str, Any]]) -> None:
    keys = [(r["from"], r["type"], r["to"]) for r in _relationships(demo_lines)]
    assert len(keys) == len(set(keys))


def test_types_sources_confidences_and_values_are_valid(
    demo_lines: list[dict[str, Any]],
) -> None:
    for entity in _entities(demo_lines):
        assert entity["type"] in ENTITY_TYPES
        assert entity["source"] in SOURCES
        assert 0.0 <= entity["confidence"] <= 1.0
        assert entity["label"].strip()
        assert entity["purposes"] == ["investigation"]
        assert all(
            isinstance(key, str) and isinstance(value, str)
            for key, value in entity["attributes"].items()
        )
    for relationship in _relationships(demo_lines):
        assert relationship["type"] in RELATIONSHIP_TYPES
        assert 0.0 <= relationship["confidence"] <= 1.0


def test_relationship_types_join_the_right_kinds_of_entity(
    demo_lines: list[dict[str, Any]],
) -> None:
    type_of = {entity["external_id"]: entity["type"] for entity in _entities(demo_lines)}
    expected = {
        "WORKS_FOR": {("PERSON", "ORGANIZATION")},
        "MANAGES": {("PERSON", "ORGANIZATION")},
        "MEMBER_OF": {("PERSON", "ORGANIZATION")},
        "REPORTS_TO": {("PERSON", "PERSON")},
        "COMMUNICATES_WITH": {("PERSON", "PERSON")},
        "SUBSIDIARY_OF": {("ORGANIZATION", "ORGANIZATION")},
        "PARTNER_OF": {("ORGANIZATION", "ORGANIZATION")},
        "COMPETITOR_OF": {("ORGANIZATION", "ORGANIZATION")},
        "TRANSACTED_WITH": {("ACCOUNT", "ACCOUNT")},
        "ACCESSED": {("DEVICE", "ACCOUNT")},
        "OWNS": {("PERSON", "ACCOUNT"), ("PERSON", "DEVICE"), ("ORGANIZATION", "ACCOUNT")},
        "LOCATED_AT": {("ORGANIZATION", "LOCATION"), ("PERSON", "LOCATION")},
    }
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in _relationships(demo_lines):
        seen[r["type"]].add((type_of[r["from"]], type_of[r["to"]]))
    assert set(seen) == set(expected)
    for rel_type, pairs in seen.items():
        assert pairs <= expected[rel_type], rel_type


def test_degrees_are_skewed_with_a_few_hubs(demo_lines: list[dict[str, Any]]) -> None:
    degree: Counter[str] = Counter()
    for r in _relationships(demo_lines):
        degree[r["from"]] += 1
        degree[r["to"]] += 1
    median = statistics.median(degree.values())
    top = [count for _, count in degree.most_common(5)]
    assert top[0] >= 30 * median
    assert all(count >= 10 * median for count in top)


def test_duplicated_people_appear_as_separate_entities_from_other_sources(
    demo_lines: list[dict[str, Any]],
) -> None:
    people = {r.record_id: r for r in generate_people(1500, seed=7)}
    demo_people = {e["external_id"]: e for e in _entities(demo_lines) if e["type"] == "PERSON"}
    assert set(demo_people) == set(people)
    for cluster in _by_cluster(list(people.values())).values():
        assert len({record.source for record in cluster}) == len(cluster)
        for record in cluster:
            assert demo_people[record.record_id]["attributes"] == record.attributes


def test_demo_lines_pass_ingest_validation(demo_lines: list[dict[str, Any]]) -> None:
    body = b"\n".join(orjson.dumps(line) for line in demo_lines)
    batch = parse_ndjson(body)
    assert batch.errors == []
    assert batch.record_count == len(demo_lines)


def test_small_and_empty_demo_tenants_still_hold_together() -> None:
    for people, organizations in ((0, 0), (5, 0), (0, 5), (3, 2)):
        lines = list(demo_ingest_lines(1, people, organizations))
        known = {line["external_id"] for line in _entities(lines)}
        assert all(r["from"] in known and r["to"] in known for r in _relationships(lines))
    with pytest.raises(ValueError):
        list(demo_ingest_lines(1, -1, 0))


# --- records with known truth ------------------------------------------------------------


@pytest.mark.parametrize("generate", [generate_people, generate_organizations])
def test_each_cluster_has_one_original_and_duplicates_that_differ_from_it(
    generate: Any,
) -> None:
    records: list[SyntheticRecord] = generate(600, seed=11)
    assert len({record.record_id for record in records}) == len(records)
    clusters = _by_cluster(records)
    assert len(clusters) == 600
    for cluster in clusters.values():
        originals = [record for record in cluster if not record.is_duplicate]
        assert len(originals) == 1
        original = originals[0]
        assert len(cluster) <= 1 + CorruptionProfile().max_duplicates
        assert original.source not in {r.source for r in cluster if r is not original}
        for duplicate in cluster:
            assert duplicate.entity_type == original.entity_type
            if duplicate is not original:
                assert duplicate.attributes != original.attributes
                assert set(duplicate.corruptions) <= set(CORRUPTION_KINDS)


def test_original_people_have_well_formed_attributes() -> None:
    originals = [r for r in generate_people(300, seed=3) if not r.is_duplicate]
    for record in originals:
        attrs = record.attributes
        assert record.entity_type == "PERSON"
        assert set(attrs) == {
            "given_name", "surname", "full_name", "dob", "street", "city", "postcode",
            "state", "country", "email", "phone", "national_id",
        }  # fmt: skip
        assert attrs["full_name"] == f"{attrs['given_name']} {attrs['surname']}"
        assert ISO_DATE.match(attrs["dob"])
        assert E164.match(attrs["phone"]), attrs["phone"]
        assert re.match(r"^[a-z0-9._]+@[a-z.]+$", attrs["email"]), attrs["email"]
        assert attrs["email"].rsplit(".", 1)[-1] in ("com", "net", "org", "example", "test")
    emails = [record.attributes["email"] for record in originals]
    assert len(emails) == len(set(emails))


def test_original_organizations_have_well_formed_attributes() -> None:
    originals = [r for r in generate_organizations(300, seed=3) if not r.is_duplicate]
    names = [record.attributes["name"] for record in originals]
    assert len(names) == len(set(names))
    for record in originals:
        attrs = record.attributes
        assert set(attrs) == {
            "name", "registration_id", "lei", "street", "city", "postcode", "state",
            "country", "website", "phone",
        }  # fmt: skip
        assert re.match(r"^[0-9A-Z]{18}\d{2}$", attrs["lei"])
        assert int("".join(str(int(ch, 36)) for ch in attrs["lei"])) % 97 == 1
        assert attrs["website"].startswith("https://www.")
        assert E164.match(attrs["phone"])


def test_profile_rates_roughly_hold() -> None:
    profile = CorruptionProfile(
        duplicate_share=0.25,
        max_duplicates=1,
        typo=0.3,
        missing_field=0.2,
        email_case=0.4,
        phone_format=1.0,  # always one corruption: no forced typo to skew the counts
        whitespace_case=0.1,
        nickname=0.5,
        dob_swap=0.5,
        name_swap=0.1,
        address_abbreviation=0.0,
    )
    records = generate_people(4000, seed=21, profile=profile)
    clusters = _by_cluster(records)
    duplicated = sum(len(cluster) > 1 for cluster in clusters.values())
    assert duplicated / len(clusters) == pytest.approx(0.25, abs=0.03)

    originals = {r.cluster_id: r for r in records if not r.is_duplicate}
    duplicates = [r for r in records if r.is_duplicate]
    counts = Counter(kind for r in duplicates for kind in r.corruptions)

    def share(kind: str) -> float:
        return counts[kind] / len(duplicates)

    assert share("phone_format") == 1.0
    assert counts["address_abbreviation"] == 0
    assert share("typo") == pytest.approx(0.3, abs=0.06)
    assert share("missing_field") == pytest.approx(0.2, abs=0.05)
    assert share("email_case") == pytest.approx(0.4, abs=0.06)
    assert share("whitespace_case") == pytest.approx(0.1, abs=0.04)
    assert share("name_swap") == pytest.approx(0.1, abs=0.04)

    # Kinds that only apply to some records hold their rate among those records.
    has_nickname = [
        r for r in duplicates if originals[r.cluster_id].attributes["given_name"] in NICKNAMES
    ]
    nicknamed = sum("nickname" in r.corruptions for r in has_nickname)
    assert nicknamed / len(has_nickname) == pytest.approx(0.5, abs=0.1)

    def swappable(dob: str) -> bool:
        _, month, day = dob.split("-")
        return int(day) <= 12 and day != month

    can_swap = [r for r in duplicates if swappable(originals[r.cluster_id].attributes["dob"])]
    swapped = sum("dob_swap" in r.corruptions for r in can_swap)
    assert swapped / len(can_swap) == pytest.approx(0.5, abs=0.1)


def test_corruptions_do_what_they_say() -> None:
    for kind in ("nickname", "name_swap", "dob_swap", "email_case", "phone_format"):
        records = generate_people(300, seed=2, profile=_only(kind))
        originals = {r.cluster_id: r.attributes for r in records if not r.is_duplicate}
        corrupted = [r for r in records if kind in r.corruptions]
        assert len(corrupted) >= 50, kind
        for duplicate in corrupted:
            before, after = originals[duplicate.cluster_id], duplicate.attributes
            if kind == "nickname":
                assert after["given_name"] in NICKNAMES[before["given_name"]]
                assert after["full_name"] == f"{after['given_name']} {after['surname']}"
            elif kind == "name_swap":
                assert (after["given_name"], after["surname"]) == (
                    before["surname"],
                    before["given_name"],
                )
            elif kind == "dob_swap":
                year, month, day = before["dob"].split("-")
                assert after["dob"] == f"{year}-{day}-{month}"
            elif kind == "email_case":
                assert after["email"] != before["email"]
                assert after["email"].lower() == before["email"]
            else:
                digits = re.sub(r"\D", "", after["phone"]).lstrip("0")
                assert after["phone"] != before["phone"]
                assert before["phone"].lstrip("+").endswith(digits[-8:])


def test_org_suffix_swaps_the_legal_form() -> None:
    records = generate_organizations(300, seed=4, profile=_only("org_suffix"))
    originals = {r.cluster_id: r.attributes for r in records if not r.is_duplicate}
    duplicates = [r for r in records if r.is_duplicate]
    assert all(r.corruptions == ("org_suffix",) for r in duplicates)
    pairs = {(originals[r.cluster_id]["name"], r.attributes["name"]) for r in duplicates}
    forms = {("Limited", "Ltd"), ("Ltd", "Limited"), ("Incorporated", "Inc"), ("Inc", "Inc.")}
    assert any(
        before.endswith(" " + long) and after.endswith(" " + short)
        for before, after in pairs
        for long, short in forms
    )
    assert any(" & " in before and " and " in after for before, after in pairs)


def test_a_profile_with_no_corruption_still_makes_duplicates_differ() -> None:
    rates: dict[str, Any] = {kind: 0.0 for kind in CORRUPTION_KINDS}
    records = generate_people(200, seed=8, profile=CorruptionProfile(duplicate_share=1.0, **rates))
    duplicates = [r for r in records if r.is_duplicate]
    assert duplicates and all(r.corruptions == ("typo",) for r in duplicates)


def test_profile_refuses_rates_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="typo"):
        CorruptionProfile(typo=1.5)
    with pytest.raises(ValueError, match="max_duplicates"):
        CorruptionProfile(max_duplicates=0)
    with pytest.raises(ValueError, match="unknown"):
        CorruptionProfile().rate("gremlins")


# --- benchmark generators ----------------------------------------------------------------


def test_bulk_lines_are_valid_and_numbered_from_start() -> None:
    lines = list(bulk_entity_lines(5_000, seed=1, start=10_000))
    assert len(lines) == 5_000
    assert lines[0]["external_id"] == "bulk-10000" and lines[-1]["external_id"] == "bulk-14999"
    assert len({line["external_id"] for line in lines}) == len(lines)
    batch = parse_ndjson(b"\n".join(orjson.dumps(line) for line in lines[:1000]))
    assert batch.errors == [] and len(batch.entities) == 1000
    assert list(bulk_entity_lines(0, seed=1)) == []


def test_random_graph_edges_have_power_law_degrees() -> None:
    edges = random_graph_edges(10_000, 100_000, seed=3)
    assert len(edges) == 100_000
    assert all(0 <= s < 10_000 and 0 <= t < 10_000 for s, t in edges)
    in_degree = Counter(t for _, t in edges)
    out_degree = Counter(s for s, _ in edges)
    mean = len(edges) / 10_000
    assert max(in_degree.values()) > 50 * mean
    assert max(out_degree.values()) > 50 * mean
    assert in_degree.most_common(1)[0][0] != out_degree.most_common(1)[0][0]
    assert len(set(in_degree) | set(out_degree)) > 9_000  # the tail is not starved


def test_random_graph_edges_edge_cases() -> None:
    assert random_graph_edges(0, 0, seed=1) == []
    assert random_graph_edges(1, 3, seed=1) == [(0, 0)] * 3
    with pytest.raises(ValueError):
        random_graph_edges(0, 5, seed=1)
    with pytest.raises(ValueError):
        random_graph_edges(-1, 5, seed=1)


def _only(kind: str) -> CorruptionProfile:
    """Every entity duplicated once, with only ``kind`` (always, where it applies)."""
    rates: dict[str, Any] = {other: float(other == kind) for other in CORRUPTION_KINDS}
    return CorruptionProfile(duplicate_share=1.0, max_duplicates=1, **rates)
