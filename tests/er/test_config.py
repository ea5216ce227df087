"""Configs are data: the defaults load, and a bad config is refused naming the problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from intelgraph.er.engine.config import (
    config_fingerprint,
    default_config,
    load_config,
    parse_config,
    parse_config_text,
)
from intelgraph.er.engine.records import CANONICAL_ATTRIBUTES, EntityType
from intelgraph.kernel.errors import IntelGraphError


def _person_data() -> dict[str, Any]:
    return copy.deepcopy(default_config("PERSON").model_dump(mode="json"))


def _refusal(data: Any) -> str:
    with pytest.raises(IntelGraphError) as caught:
        parse_config(data, source="test.yaml")
    assert caught.value.code == "VALIDATION"
    assert caught.value.status == 400
    return caught.value.message


@pytest.mark.parametrize("entity_type", list(EntityType))
def test_default_configs_load_and_use_only_canonical_attributes(entity_type: EntityType) -> None:
    config = default_config(entity_type)
    assert config.entity_type == entity_type
    assert set(config.attributes) <= set(CANONICAL_ATTRIBUTES[entity_type])
    assert config.comparisons and config.blocking and config.training.em_blocking


def test_a_config_round_trips_through_json_with_the_same_fingerprint() -> None:
    config = default_config("ORGANIZATION")
    again = parse_config(config.model_dump(mode="json"))
    assert again == config
    assert config_fingerprint(again) == config_fingerprint(config)


def test_changing_a_threshold_changes_the_fingerprint() -> None:
    data = _person_data()
    data["comparisons"][1]["levels"][1]["at_least"] = 0.95
    assert config_fingerprint(parse_config(data)) != config_fingerprint(default_config("PERSON"))


def test_an_unknown_attribute_is_refused_with_the_known_ones_listed() -> None:
    data = _person_data()
    data["attributes"]["shoe_size"] = "number"
    message = _refusal(data)
    assert "test.yaml" in message
    assert "'shoe_size' is not a canonical PERSON attribute" in message
    assert "given_name" in message


def test_a_comparison_on_an_undeclared_field_is_refused() -> None:
    data = _person_data()
    data["comparisons"][0]["fields"] = ["nickname"]
    assert "comparisons[given_name].fields: unknown attribute(s) nickname" in _refusal(data)


def test_a_test_that_does_not_fit_the_attribute_kind_is_refused() -> None:
    data = _person_data()
    data["comparisons"][1]["levels"][1] = {"label": "close", "test": "date_transposed"}
    message = _refusal(data)
    assert "comparisons[surname].levels[close]" in message
    assert "date_transposed does not apply to name attributes" in message


def test_levels_must_end_with_else() -> None:
    data = _person_data()
    data["comparisons"][1]["levels"].pop()
    assert "the last level must have test 'else'" in _refusal(data)


def test_a_similarity_level_needs_its_threshold() -> None:
    data = _person_data()
    del data["comparisons"][1]["levels"][1]["at_least"]
    message = _refusal(data)
    assert "comparisons[surname].levels[jw_0.92]" in message
    assert "needs at_least" in message


def test_an_out_of_range_threshold_is_refused() -> None:
    data = _person_data()
    data["comparisons"][1]["levels"][1]["at_least"] = 92
    assert "needs at_least between 0 (excluded) and 1" in _refusal(data)


def test_repeated_level_labels_are_refused() -> None:
    data = _person_data()
    data["comparisons"][1]["levels"][2]["label"] = "jw_0.92"
    assert "level labels must be unique, repeated: jw_0.92" in _refusal(data)


def test_the_null_label_is_reserved() -> None:
    data = _person_data()
    data["comparisons"][1]["levels"][1]["label"] = "null"
    assert "reserved for the missing-value level" in _refusal(data)


def test_a_misspelt_key_is_refused() -> None:
    data = _person_data()
    data["comparisons"][0]["levls"] = []
    message = _refusal(data)
    assert "comparisons[given_name].levls" in message


def test_an_unknown_test_name_is_refused() -> None:
    data = _person_data()
    data["comparisons"][1]["levels"][1]["test"] = "soundslike"
    message = _refusal(data)
    assert "comparisons[surname].levels[jw_0.92].test" in message


def test_a_blocking_transform_that_does_not_fit_is_refused() -> None:
    data = _person_data()
    data["blocking"][0]["keys"] = [{"field": "national_id", "transform": "year"}]
    assert "blocking[national_id].keys[national_id]: transform year" in _refusal(data)


def test_an_unordered_key_needs_two_fields() -> None:
    data = _person_data()
    data["blocking"][0]["keys"] = [{"field": "surname", "transform": "unordered"}]
    assert "needs two or more fields" in _refusal(data)


def test_an_unknown_phone_region_is_refused() -> None:
    data = _person_data()
    data["normalisation"]["phone_region"] = "XX"
    assert "phone_region 'XX'" in _refusal(data)


def test_swappable_fields_must_be_of_one_kind() -> None:
    data = _person_data()
    data["swappable"] = [["given_name", "dob"]]
    assert "both attributes must be of the same kind" in _refusal(data)


def test_several_problems_are_reported_together() -> None:
    data = _person_data()
    data["attributes"]["shoe_size"] = "number"
    data["comparisons"][0]["fields"] = ["nickname"]
    message = _refusal(data)
    assert "shoe_size" in message and "nickname" in message


def test_a_config_that_is_not_a_mapping_is_refused() -> None:
    assert "must be a mapping" in _refusal(["entity_type", "PERSON"])


def test_invalid_yaml_is_refused() -> None:
    with pytest.raises(IntelGraphError, match="not valid YAML/JSON"):
        parse_config_text("entity_type: [PERSON", source="bad.yaml")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IntelGraphError, match="cannot read ER config"):
        load_config(tmp_path / "absent.yaml")


def test_a_json_config_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "person.json"
    path.write_text(default_config("PERSON").model_dump_json(), encoding="utf-8")
    assert load_config(path) == default_config("PERSON")
