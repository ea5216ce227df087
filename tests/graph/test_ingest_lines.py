"""Ingest lines keep their meaning on the fast path: the canonical form the provenance digest
covers, the digest itself, the search terms, and the line errors a client reads."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from intelgraph.graph.ingest import EntityLine, RelationshipLine, parse_ndjson
from intelgraph.graph.model import EntityType, RelationshipType
from intelgraph.graph.provenance import canonical_json, list_digest, payload_digest
from intelgraph.graph.search_terms import (
    MAX_TERM_LENGTH,
    SEARCHABLE_ATTRIBUTES,
    entity_terms,
    tokens,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
attributes = st.dictionaries(
    st.sampled_from([*SEARCHABLE_ATTRIBUTES, "dob", "note", "score"]), json_values, max_size=6
)
words = st.text(min_size=1, max_size=90)

entity_documents = st.fixed_dictionaries(
    {
        "kind": st.just("entity"),
        "external_id": st.text(min_size=1, max_size=30),
        "type": st.sampled_from([t.value for t in EntityType]),
        "label": words,
        "attributes": attributes,
    },
    optional={
        "source": st.none() | st.text(max_size=20),
        "confidence": st.floats(0.0, 1.0),
        "purposes": st.lists(st.text(min_size=1, max_size=10), max_size=3),
    },
)
relationship_documents = st.fixed_dictionaries(
    {
        "kind": st.just("relationship"),
        "type": st.sampled_from([t.value for t in RelationshipType]),
        "from": st.text(min_size=1, max_size=30),
        "to": st.text(min_size=1, max_size=30),
    },
    optional={"confidence": st.floats(0.0, 1.0), "attributes": attributes},
)


@given(entity_documents)
def test_an_entity_lines_canonical_form_is_its_json_dump(document: dict[str, Any]) -> None:
    line = EntityLine.model_validate(document)
    assert line.canonical() == line.model_dump(mode="json", by_alias=True)


@given(relationship_documents)
def test_a_relationship_lines_canonical_form_is_its_json_dump(document: dict[str, Any]) -> None:
    line = RelationshipLine.model_validate(document)
    assert line.canonical() == line.model_dump(mode="json", by_alias=True)


@given(st.lists(st.dictionaries(st.text(max_size=5), json_values, max_size=4), max_size=5))
def test_a_digest_of_items_encoded_one_by_one_equals_the_digest_of_the_list(
    payload: list[dict[str, Any]],
) -> None:
    assert list_digest(canonical_json(item) for item in payload) == payload_digest(payload)


def test_the_digest_depends_on_content_not_on_attribute_order() -> None:
    first = EntityLine.model_validate(
        {
            "kind": "entity",
            "external_id": "p",
            "type": "PERSON",
            "label": "A",
            "attributes": {"a": 1, "b": 2},
        }
    )
    second = EntityLine.model_validate(
        {
            "kind": "entity",
            "external_id": "p",
            "type": "PERSON",
            "label": "A",
            "attributes": {"b": 2, "a": 1},
        }
    )
    changed = first.model_copy(update={"label": "B"})
    assert list_digest([canonical_json(first.canonical())]) == list_digest(
        [canonical_json(second.canonical())]
    )
    assert list_digest([canonical_json(first.canonical())]) != list_digest(
        [canonical_json(changed.canonical())]
    )


@given(words, attributes)
def test_entity_terms_are_the_tokens_of_the_label_and_searchable_text_attributes(
    label: str, attrs: dict[str, Any]
) -> None:
    texts = [label] + [
        value
        for name, value in attrs.items()
        if name in SEARCHABLE_ATTRIBUTES and isinstance(value, str)
    ]
    expected = {token for text in texts for token in tokens(text)}

    terms = entity_terms(label, attrs)

    assert terms == expected
    assert all(0 < len(term) <= MAX_TERM_LENGTH for term in terms)


def test_terms_are_folded_and_long_words_cut() -> None:
    terms = entity_terms("Zoë Ünal-Smith", {"city": "Zürich", "dob": "1990", "email": "x" * 70})
    assert terms == {"zoe", "unal", "smith", "zurich", "x" * MAX_TERM_LENGTH}


def test_line_errors_name_the_line_and_the_field_without_the_union_tag() -> None:
    body = b"\n".join(
        [
            orjson.dumps({"kind": "entity", "external_id": "x", "type": "ALIEN", "label": "X"}),
            orjson.dumps({"kind": "relationship", "type": "OWNS", "from": "", "to": "b"}),
            orjson.dumps(
                {"kind": "entity", "external_id": "y", "type": "PERSON", "label": "Y", "colour": 1}
            ),
            b"[1]",
            orjson.dumps({"kind": "document"}),
            b"{not json",
        ]
    )
    batch = parse_ndjson(body)
    assert [(e.line, e.field) for e in batch.errors] == [
        (1, "type"),
        (2, "from"),
        (3, "colour"),
        (4, ""),
        (5, "kind"),
        (6, ""),
    ]
    assert batch.record_count == 0
