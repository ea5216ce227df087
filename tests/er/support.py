"""Helpers the ER tests share: building records and configs, reading a pair's levels."""

from __future__ import annotations

from typing import Any

import numpy as np

from intelgraph.demo.records import CorruptionProfile, generate_organizations, generate_people
from intelgraph.er.engine.comparisons import NULL_LEVEL, compare_pairs
from intelgraph.er.engine.config import ResolutionConfig, default_config, parse_config
from intelgraph.er.engine.preparation import prepare
from intelgraph.er.engine.records import Record

# Harder than the demo default: more duplicates, more typos, more missing fields.
HARD_PROFILE = CorruptionProfile(
    duplicate_share=0.5, max_duplicates=3, typo=0.6, name_swap=0.1, missing_field=0.5
)


def person(record_id: str, **attributes: str | None) -> Record:
    return Record(record_id, "PERSON", attributes)


def organization(record_id: str, **attributes: str | None) -> Record:
    return Record(record_id, "ORGANIZATION", attributes)


def levels_of(config: ResolutionConfig, left: Record, right: Record) -> dict[str, str]:
    """The level label of every comparison for the pair (``null`` when a side is missing)."""
    prepared = prepare([left, right], config)
    gamma = compare_pairs(prepared, np.asarray([0]), np.asarray([1]))
    labels = {}
    for column, spec in enumerate(config.comparisons):
        level = int(gamma[0, column])
        labels[spec.name] = "null" if level == NULL_LEVEL else spec.levels[level].label
    return labels


def level_of(
    comparison: str, left: Record, right: Record, config: ResolutionConfig | None = None
) -> str:
    """The level label of one comparison of the default config of the records' type."""
    config = config or default_config(left.entity_type)
    return levels_of(config, left, right)[comparison]


def config_with(entity_type: str = "PERSON", **changes: Any) -> ResolutionConfig:
    """The default config of ``entity_type`` with top-level keys replaced."""
    data = default_config(entity_type).model_dump(mode="json")
    data.update(changes)
    return parse_config(data)


def generated_people(
    n_clusters: int, seed: int, profile: CorruptionProfile | None = None
) -> tuple[list[Record], dict[str, str]]:
    """Synthetic PERSON records with controlled corruptions, and their true clusters."""
    synthetic = generate_people(n_clusters, seed, profile)
    records = [Record(s.record_id, s.entity_type, s.attributes) for s in synthetic]
    return records, {s.record_id: s.cluster_id for s in synthetic}


def generated_organizations(
    n_clusters: int, seed: int, profile: CorruptionProfile | None = None
) -> tuple[list[Record], dict[str, str]]:
    """Synthetic ORGANIZATION records with controlled corruptions, and their true clusters."""
    synthetic = generate_organizations(n_clusters, seed, profile)
    records = [Record(s.record_id, s.entity_type, s.attributes) for s in synthetic]
    return records, {s.record_id: s.cluster_id for s in synthetic}
