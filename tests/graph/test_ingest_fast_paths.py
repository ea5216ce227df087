"""The ingest's fast paths answer exactly as the plain ones: one check of the whole body in
place of a storability check per line, pydantic's validators called without their wrapper,
and search terms split by a byte table (ASCII) or from cached chunks (any other text)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from intelgraph.graph.ingest import (
    EntityLine,
    IngestBatch,
    LineError,
    RelationshipLine,
    parse_ndjson,
)
from intelgraph.graph.model import EntityType, RelationshipType
from intelgraph.graph.search_terms import SEARCHABLE_ATTRIBUTES, entity_terms, tokens
from intelgraph.kernel import storable


def parsed_line_by_line(body: bytes) -> IngestBatch:
    """What parse_ndjson answered before its fast paths: each line checked on its own and
    validated through ``model_validate``."""
    batch = IngestBatch()
    for number, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            document = storable.loads(raw)
        except storable.UnstorableError as exc:
            batch.errors.append(LineError(number, exc.found.field, exc.found.reason))
            continue
        except ValueError as exc:
            batch.errors.append(LineError(number, "", f"not valid JSON: {exc}"))
            continue
        if not isinstance(document, dict):
            batch.errors.append(LineError(number, "", "a line must be a JSON object"))
            continue
        kind = document.get("kind")
        try:
            if kind == "entity":
                batch.entities.append((number, EntityLine.model_validate(document)))
            elif kind == "relationship":
                batch.relationships.append((number, RelationshipLine.model_validate(document)))
            else:
                batch.errors.append(LineError(number, "kind", "must be 'entity' or 'relationship'"))
        except ValidationError as exc:
            for problem in exc.errors(include_url=False):
                location = ".".join(str(part) for part in problem["loc"])
                batch.errors.append(LineError(number, location, problem["msg"]))
    return batch


# Values near every limit a line has, and the ones only the storability check refuses:
# NUL, lone surrogates, integers beyond 64 bits, long digit runs inside strings.
awkward_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "a\x00b", "\ud800", "x" * 257, "1234567890123456789", "Zoë"]),
)
awkward_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 0.5, -0.0, 1.0000001, 2**63, -(2**63) - 1, True]),
)
values = st.recursive(
    st.none() | st.booleans() | awkward_numbers | awkward_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(awkward_text, inner, max_size=3),
    max_leaves=6,
)
entity_fields = {
    "kind": st.just("entity") | values,
    "external_id": awkward_text | st.text(min_size=1, max_size=8),
    "type": st.sampled_from([t.value for t in EntityType] + ["ALIEN", "person"]) | values,
    "label": awkward_text | st.text(min_size=1, max_size=8),
    "attributes": st.dictionaries(awkward_text, values, max_size=3) | values,
    "source": st.none() | awkward_text,
    "confidence": awkward_numbers | values,
    "purposes": st.lists(awkward_text, max_size=3) | values,
    "colour": values,
}
relationship_fields = {
    "kind": st.just("relationship") | values,
    "type": st.sampled_from([t.value for t in RelationshipType] + ["LIKES"]) | values,
    "from": awkward_text | st.text(min_size=1, max_size=8),
    "from_": awkward_text,
    "to": awkward_text | st.text(min_size=1, max_size=8),
    "confidence": awkward_numbers | values,
    "attributes": st.dictionaries(awkward_text, values, max_size=3) | values,
}


def documents(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    names = sorted(fields)
    return st.sets(st.sampled_from(names), max_size=len(names)).flatmap(
        lambda chosen: st.fixed_dictionaries({name: fields[name] for name in sorted(chosen)})
    )


def encoded(document: Any) -> bytes:
    # The standard library writes what orjson cannot (integers beyond 64 bits, lone
    # surrogates as \ud800 escapes): lines a client could send.
    return json.dumps(document).encode()


plain_text = st.text(min_size=1, max_size=10)
valid_entities = st.fixed_dictionaries(
    {
        "kind": st.just("entity"),
        "external_id": plain_text,
        "type": st.sampled_from([t.value for t in EntityType]),
        "label": plain_text,
    },
    optional={
        "attributes": st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
        "source": st.none() | st.text(max_size=8),
        "confidence": st.floats(0.0, 1.0) | st.sampled_from([0, 1]),
        "purposes": st.lists(plain_text, max_size=3),
    },
)
valid_relationships = st.fixed_dictionaries(
    {
        "kind": st.just("relationship"),
        "type": st.sampled_from([t.value for t in RelationshipType]),
        "from": plain_text,
        "to": plain_text,
    },
    optional={
        "confidence": st.floats(0.0, 1.0),
        "attributes": st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
    },
)


def one_field_off(
    valid: st.SearchStrategy[dict[str, Any]], fields: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """A valid document with one field set to an awkward value, or dropped."""
    return st.tuples(valid, st.sampled_from(sorted(fields)), st.booleans()).flatmap(
        lambda chosen: (
            st.just({k: v for k, v in chosen[0].items() if k != chosen[1]})
            if chosen[2]
            else fields[chosen[1]].map(lambda value: {**chosen[0], chosen[1]: value})
        )
    )


lines = st.one_of(
    valid_entities.map(encoded),
    valid_relationships.map(encoded),
    one_field_off(valid_entities, entity_fields).map(encoded),
    one_field_off(valid_relationships, relationship_fields).map(encoded),
    documents(entity_fields).map(encoded),
    documents(relationship_fields).map(encoded),
    values.map(encoded),
    st.binary(max_size=12).filter(lambda raw: b"\n" not in raw),
    st.sampled_from([b"", b"   ", b"{not json", b'{"kind": "entity"', b"[1]", b'"\\u0000"']),
)


@settings(max_examples=400)
@given(st.lists(lines, max_size=6))
def test_a_body_parses_into_the_same_lines_and_errors_as_checked_line_by_line(
    body_lines: list[bytes],
) -> None:
    body = b"\n".join(body_lines)

    fast, reference = parse_ndjson(body), parsed_line_by_line(body)

    assert fast.errors == reference.errors
    assert fast.entities == reference.entities
    assert fast.relationships == reference.relationships
    pairs: list[tuple[Any, Any]] = [
        *zip(fast.entities, reference.entities, strict=True),
        *zip(fast.relationships, reference.relationships, strict=True),
    ]
    for (_, got), (_, expected) in pairs:
        assert type(got) is type(expected)
        assert got.model_fields_set == expected.model_fields_set
        assert got.model_dump(mode="json", by_alias=True) == expected.model_dump(
            mode="json", by_alias=True
        )


ascii_words = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=127), min_size=1, max_size=80
)
spaced_words = st.lists(
    st.text(min_size=1, max_size=12) | st.sampled_from(["Zoë", "Ünal", "ﬁne", "½", "Σίσυφος"]),
    min_size=1,
    max_size=6,
).flatmap(
    lambda parts: st.lists(
        st.sampled_from([" ", "\u00a0", "\t", "\u3000", "\u2028", "-", "\u0301"]),
        min_size=len(parts),
        max_size=len(parts),
    ).map(lambda gaps: "".join(part + gap for part, gap in zip(parts, gaps, strict=True)))
)


@given(
    ascii_words | spaced_words,
    st.dictionaries(
        st.sampled_from([*SEARCHABLE_ATTRIBUTES, "note"]), ascii_words | spaced_words, max_size=4
    ),
)
def test_search_terms_are_the_folded_word_tokens_whichever_path_splits_them(
    label: str, attributes: dict[str, Any]
) -> None:
    texts = [label] + [value for name, value in attributes.items() if name in SEARCHABLE_ATTRIBUTES]
    expected = {token for text in texts for token in tokens(text)}

    first, again = entity_terms(label, attributes), entity_terms(label, attributes)

    assert first == expected
    assert again == expected  # the second time from the cache of folded chunks
