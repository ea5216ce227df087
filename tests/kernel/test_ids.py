"""Ids are opaque, time-ordered and unique, whether made one at a time or many at once."""

from __future__ import annotations

import base64
import re
from itertools import pairwise
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intelgraph.kernel import ids
from intelgraph.kernel.ids import new_id, new_ids

ID_FORMAT = re.compile(r"^ent_[0-9a-v]{24}$")


def millis_of(identifier: str) -> int:
    """The clock reading an id carries (its first 48 bits)."""
    raw = base64.b32hexdecode(identifier.split("_", 1)[1].upper())
    return int.from_bytes(raw[:6], "big")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A wall clock the test sets, in milliseconds."""
    state = SimpleNamespace(millis=1_700_000_000_000)
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: state.millis * 1_000_000))
    return state


@given(count=st.integers(min_value=1, max_value=2_000))
def test_bulk_ids_have_the_single_id_format_and_increase(count: int) -> None:
    made = new_ids("ent", count)

    assert len(made) == count
    assert all(ID_FORMAT.match(identifier) for identifier in made)
    assert all(earlier < later for earlier, later in pairwise(made))


def test_bulk_ids_carry_the_clock_reading_like_single_ids(clock: SimpleNamespace) -> None:
    made = new_ids("ent", 50)

    assert {millis_of(identifier) for identifier in made} == {clock.millis}
    assert millis_of(new_id("ent")) == clock.millis


def test_ids_made_later_sort_after_earlier_bulk_ids_and_before_later_ones(
    clock: SimpleNamespace,
) -> None:
    before = new_id("ent")
    clock.millis += 1
    bulk = new_ids("ent", 1_000)
    clock.millis += 1
    after = new_id("ent")
    clock.millis += 1
    next_bulk = new_ids("ent", 10)

    assert before < bulk[0]
    assert bulk[-1] < after < next_bulk[0]


def test_bulk_ids_do_not_repeat_across_calls_in_one_millisecond(clock: SimpleNamespace) -> None:
    made = new_ids("ent", 5_000) + new_ids("ent", 5_000) + [new_id("ent") for _ in range(100)]

    assert len(set(made)) == len(made)


def test_the_prefix_names_the_kind(clock: SimpleNamespace) -> None:
    assert all(identifier.startswith("rel_") for identifier in new_ids("rel", 3))
    assert new_id("rel").startswith("rel_")


@pytest.mark.parametrize("count", [0, -1])
def test_asking_for_no_ids_gives_none(count: int) -> None:
    assert new_ids("ent", count) == []
