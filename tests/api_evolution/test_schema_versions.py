"""v1.1 is an additive release: no client of v1 can break."""

from __future__ import annotations

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

from intelgraph.api.schemas import SCHEMA_DIR, build_schemas


def _sdl(name: str) -> str:
    return (SCHEMA_DIR / name).read_text(encoding="utf-8")


def test_v1_1_has_no_breaking_change_against_v1() -> None:
    v1 = build_schema(_sdl("v1.graphql"))
    v1_1 = build_schema(_sdl("v1_1.graphql"))
    assert find_breaking_changes(v1, v1_1) == []


def test_v1_1_dangerous_changes_are_only_the_known_ones() -> None:
    v1 = build_schema(_sdl("v1.graphql"))
    v1_1 = build_schema(_sdl("v1_1.graphql"))
    dangerous = [change.description for change in find_dangerous_changes(v1, v1_1)]
    # Adding types/fields is safe; a new enum value or optional argument would be listed here.
    assert dangerous == []


def test_v1_1_adds_the_promised_fields() -> None:
    schemas = build_schemas()
    query = schemas["1.1"].query_type
    entity = schemas["1.1"].get_type("Entity")
    assert query is not None and {"entities", "apiVersion"} <= set(query.fields)
    assert {"sources", "purposes", "retentionTier"} <= set(entity.fields)  # type: ignore[union-attr]
    v1_query = schemas["1.0"].query_type
    assert v1_query is not None and "apiVersion" not in v1_query.fields


def test_every_deprecated_field_is_listed_in_the_deprecations_doc() -> None:
    from pathlib import Path

    from intelgraph.api.deprecations import deprecations

    doc = (Path(__file__).resolve().parents[2] / "docs/api/deprecations.md").read_text()
    for field, record in deprecations().items():
        assert f"## {field}" in doc
        assert record.replacement in doc
