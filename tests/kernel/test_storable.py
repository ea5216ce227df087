"""storable.loads: the fast path (orjson, walk skipped) decides exactly as a full walk over
an exact decoding would, for any JSON with any text and any integer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intelgraph.kernel import storable

# Text with the characters that matter: NUL, lone surrogates, astral ones (surrogate pairs).
TEXT = st.text(
    alphabet=st.sampled_from(["a", "7", "\x00", "\ud800", "\udfff", "é", "😀", '"', "\\"]),
    max_size=6,
)
INTEGERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64]),
)
JSON = st.recursive(
    st.none() | st.booleans() | INTEGERS | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=12,
)


def exact(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"))


@given(JSON)
def test_loads_refuses_exactly_what_a_walk_over_the_exact_value_finds(value: Any) -> None:
    raw = json.dumps(value).encode()  # ASCII: NUL and surrogates as \u escapes
    expected = storable.find_unstorable(exact(raw))

    if expected is None:
        assert storable.loads(raw) == exact(raw)
    else:
        with pytest.raises(storable.UnstorableError) as refused:
            storable.loads(raw)
        assert refused.value.found == expected


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[1,]", b"NaN", b"[Infinity]", b'"\x00"', b"\xff", b'"abc']
)
def test_malformed_json_is_a_value_error_not_a_refusal(raw: bytes) -> None:
    with pytest.raises(ValueError) as refused:
        storable.loads(raw)
    assert not isinstance(refused.value, storable.UnstorableError)


def test_a_field_is_named_with_its_path_and_unstorable_characters_escaped() -> None:
    found = storable.find_unstorable({"a": [{"b\x00": 1}]}, ("variables",))

    assert found is not None
    assert found.field == "variables.a.0.b\\u0000"
    error = found.to_error()
    assert error.code == "UNSTORABLE_VALUE" and error.status == 400
    assert error.details["field"] == "variables.a.0.b\\u0000"


def test_the_walk_has_no_depth_limit() -> None:
    deep: Any = "a\x00b"
    for _ in range(5000):
        deep = [deep]

    found = storable.find_unstorable(deep)

    assert found is not None and "U+0000" in found.reason
    assert found.field.startswith("0.0.0") and found.field.endswith("…")  # shortened


def test_a_number_beyond_the_float_range_is_refused_naming_it() -> None:
    with pytest.raises(storable.UnstorableError) as refused:
        storable.loads(b'{"n": [1e400]}')

    assert refused.value.found.field == "n.0"
