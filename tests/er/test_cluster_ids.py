"""Stable cluster ids: kept when members are added, oldest kept on merge, new on split."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelgraph.er.engine.cluster_ids import ClusterAssignment, ClusterIdChanges, assign_cluster_ids
from intelgraph.kernel.errors import IntelGraphError


def _ids(*names: str) -> Callable[[], str]:
    return iter(names).__next__


def _start(*clusters: tuple[str, ...]) -> ClusterAssignment:
    """Clusters c0, c1… created in this order (c0 oldest)."""
    names = [f"c{i}" for i in range(len(clusters))]
    return assign_cluster_ids(ClusterAssignment(), clusters, _ids(*names)).assignment


def test_new_clusters_get_new_ids_in_creation_order() -> None:
    changes = assign_cluster_ids(ClusterAssignment(), [("a", "b"), ("c",)], _ids("x", "y"))
    assert changes.assignment.record_clusters == {"a": "x", "b": "x", "c": "y"}
    assert changes.assignment.cluster_ordinals == {"x": 0, "y": 1}
    assert changes.created == ["x", "y"]


def test_an_id_does_not_change_when_members_are_added() -> None:
    previous = _start(("a", "b"), ("c",))
    changes = assign_cluster_ids(previous, [("a", "b", "d"), ("c", "e")], _ids("new"))
    assert changes.assignment.record_clusters == {
        "a": "c0",
        "b": "c0",
        "d": "c0",
        "c": "c1",
        "e": "c1",
    }
    assert changes.created == [] and changes.merged == {} and changes.split == {}


def test_when_clusters_merge_the_older_id_survives() -> None:
    previous = _start(("a",), ("b", "c"), ("d",))
    changes = assign_cluster_ids(previous, [("d", "b", "c", "a")], _ids("new"))
    assert set(changes.assignment.record_clusters.values()) == {"c0"}
    assert changes.merged == {"c1": "c0", "c2": "c0"}
    assert "c1" not in changes.assignment.cluster_ordinals


def test_merge_order_follows_creation_not_names() -> None:
    previous = assign_cluster_ids(ClusterAssignment(), [("a",), ("b",)], _ids("zz", "aa"))
    changes = assign_cluster_ids(previous.assignment, [("a", "b")], _ids("new"))
    assert changes.assignment.record_clusters == {"a": "zz", "b": "zz"}
    assert changes.merged == {"aa": "zz"}


def test_a_split_gives_the_detached_part_a_new_id() -> None:
    previous = _start(("a", "b", "c"))
    changes = assign_cluster_ids(previous, [("a", "b"), ("c",)], _ids("n1"))
    assert changes.assignment.record_clusters == {"a": "c0", "b": "c0", "c": "n1"}
    assert changes.split == {"n1": "c0"}
    assert changes.created == ["n1"]


def test_an_even_split_keeps_the_id_with_the_part_whose_first_record_sorts_first() -> None:
    previous = _start(("a", "b", "c", "d"))
    changes = assign_cluster_ids(previous, [("c", "d"), ("b", "a")], _ids("n1"))
    assert changes.assignment.record_clusters["a"] == "c0"
    assert changes.assignment.record_clusters["c"] == "n1"


def test_members_no_component_names_keep_their_cluster() -> None:
    previous = _start(("a", "b", "c"), ("x",))
    changes = assign_cluster_ids(previous, [("a", "z")], _ids("n1"))
    clusters = changes.assignment.record_clusters
    assert clusters["b"] == clusters["c"] == "c0"
    assert clusters["a"] == clusters["z"] == "n1"
    assert clusters["x"] == "c1"
    assert changes.split == {"n1": "c0"}


def test_a_record_in_two_components_is_refused() -> None:
    with pytest.raises(IntelGraphError, match="more than one component"):
        assign_cluster_ids(ClusterAssignment(), [("a", "b"), ("b",)])


def test_default_ids_are_opaque_and_prefixed() -> None:
    changes = assign_cluster_ids(ClusterAssignment(), [("a",)])
    assert changes.assignment.record_clusters["a"].startswith("clu_")


def test_changes_round_trip_through_json() -> None:
    previous = _start(("a", "b"), ("c",))
    changes = assign_cluster_ids(previous, [("a", "b", "c")], _ids("n"))
    again = ClusterIdChanges.model_validate_json(changes.model_dump_json())
    assert again == changes
    assert again.assignment.members() == {"c0": ["a", "b", "c"]}


_records = st.sampled_from([f"r{i}" for i in range(12)])


@st.composite
def _partition(draw: st.DrawFn) -> list[list[str]]:
    records = draw(st.lists(_records, unique=True, min_size=1, max_size=12))
    labels = draw(st.lists(st.integers(0, 4), min_size=len(records), max_size=len(records)))
    groups: dict[int, list[str]] = {}
    for record, label in zip(records, labels, strict=True):
        groups.setdefault(label, []).append(record)
    return list(groups.values())


@settings(max_examples=200, deadline=None)
@given(before=_partition(), after=_partition())
def test_ids_follow_the_rules_for_any_change(
    before: list[list[str]], after: list[list[str]]
) -> None:
    counter = iter(range(10_000))
    previous = assign_cluster_ids(
        ClusterAssignment(), before, lambda: f"old{next(counter)}"
    ).assignment
    changes = assign_cluster_ids(previous, after, lambda: f"new{next(counter)}")
    clusters = changes.assignment.record_clusters
    # Every named component is one cluster, and different components are different ones.
    component_ids = [clusters[component[0]] for component in after]
    for component, cluster_id in zip(after, component_ids, strict=True):
        assert {clusters[r] for r in component} == {cluster_id}
    assert len(set(component_ids)) == len(component_ids)
    # Records no component names keep an id shared with their old cluster-mates.
    named = {r for component in after for r in component}
    for record, old in previous.record_clusters.items():
        if record not in named:
            mates = [r for r, c in previous.record_clusters.items() if c == old and r not in named]
            assert len({clusters[r] for r in mates}) == 1
    # A component holding one whole old cluster plus only new records keeps its id.
    for component, cluster_id in zip(after, component_ids, strict=True):
        olds = {previous.record_clusters[r] for r in component if r in previous.record_clusters}
        if len(olds) == 1:
            (old,) = olds
            members = [r for r, c in previous.record_clusters.items() if c == old]
            if set(members) <= set(component):
                assert cluster_id == old
    # Surviving ids keep their creation ordinal; members() agrees with the mapping.
    for cluster_id, ordinal in changes.assignment.cluster_ordinals.items():
        if cluster_id in previous.cluster_ordinals:
            assert previous.cluster_ordinals[cluster_id] == ordinal
    members = changes.assignment.members()
    assert {r for group in members.values() for r in group} == set(clusters)
    for cluster_id, group in members.items():
        assert all(clusters[r] == cluster_id for r in group)
    assert set(members) == set(changes.assignment.cluster_ordinals)
