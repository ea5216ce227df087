"""Pure parts of the ER service: attribute mapping and keeping decided pairs apart."""

from __future__ import annotations

from intelgraph.er.engine.cluster_ids import ClusterAssignment
from intelgraph.er.engine.mapping import entity_record
from intelgraph.er.online import keep_apart


def test_common_attribute_spellings_map_onto_the_canonical_names() -> None:
    record = entity_record(
        "ent_1",
        "PERSON",
        "Ada Lovelace",
        {
            "firstName": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1815-12-10",
            "zip": "W1",
            "mobile": "+44 20 7946 0000",
            "tags": ["not", "a", "scalar"],
        },
    )

    assert record.attributes == {
        "given_name": "Ada",
        "surname": "Lovelace",
        "dob": "1815-12-10",
        "postcode": "W1",
        "phone": "+44 20 7946 0000",
    }


def test_the_label_stands_in_for_a_missing_name() -> None:
    person = entity_record("ent_1", "PERSON", "Ada Lovelace", {"email": "ada@example.com"})
    company = entity_record("ent_2", "ORGANIZATION", "Acme Ltd", {"company_number": "0123"})

    assert person.attributes["full_name"] == "Ada Lovelace"
    assert company.attributes == {"name": "Acme Ltd", "registration_id": "0123"}


def test_a_batch_merge_that_joins_records_kept_apart_is_undone() -> None:
    previous = ClusterAssignment(
        record_clusters={"a": "c1", "b": "c2", "x": "c3"},
        cluster_ordinals={"c1": 0, "c2": 1, "c3": 2},
        next_ordinal=3,
    )
    # The batch's new record n bridged a and b; x joined nothing.
    merged = ClusterAssignment(
        record_clusters={"a": "c1", "b": "c1", "n": "c1", "x": "c3"},
        cluster_ordinals={"c1": 0, "c3": 2},
        next_ordinal=3,
    )

    fixed, undone = keep_apart(previous, merged, [("a", "b")], new_cluster_id=lambda: "c9")

    assert undone == [("a", "b", "n")]
    assert fixed.record_clusters == {"a": "c1", "b": "c2", "n": "c9", "x": "c3"}
    assert fixed.cluster_ordinals == {"c1": 0, "c2": 1, "c3": 2, "c9": 3}


def test_pairs_already_together_before_the_batch_are_left_alone() -> None:
    together = ClusterAssignment(
        record_clusters={"a": "c1", "b": "c1"}, cluster_ordinals={"c1": 0}, next_ordinal=1
    )

    fixed, undone = keep_apart(together, together, [("a", "b")])

    assert fixed is together and undone == []
