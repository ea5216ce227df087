"""Synthetic data with known truth: the demo tenant, ER test records, benchmark inputs."""

from intelgraph.demo.records import (
    CORRUPTION_KINDS,
    CorruptionProfile,
    SyntheticRecord,
    bulk_entity_lines,
    demo_ingest_lines,
    generate_organizations,
    generate_people,
    random_graph_edges,
)

__all__ = [
    "CORRUPTION_KINDS",
    "CorruptionProfile",
    "SyntheticRecord",
    "bulk_entity_lines",
    "demo_ingest_lines",
    "generate_organizations",
    "generate_people",
    "random_graph_edges",
]
