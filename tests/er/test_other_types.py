"""Entity types without a packaged default (VEHICLE, ACCOUNT…): a config declares their
attributes, is refused naming each problem when wrong, and resolves them like the built-in
types."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from intelgraph.er.engine.config import default_config, parse_config, parse_config_text
from intelgraph.er.engine.golden import parse_golden_csv
from intelgraph.er.engine.mapping import entity_record
from intelgraph.er.engine.runs import evaluate_golden
from intelgraph.kernel.errors import IntelGraphError

from .other_types import (
    ACCOUNT_CONFIG,
    VEHICLE_CONFIG,
    generate_accounts,
    generate_vehicles,
    golden_csv_of,
)


def _vehicle_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(VEHICLE_CONFIG)
    return data


def _refusal(data: Any) -> str:
    with pytest.raises(IntelGraphError) as caught:
        parse_config(data, source="vehicle.yaml")
    assert caught.value.code == "VALIDATION"
    return caught.value.message


def test_a_config_for_a_type_without_a_default_declares_its_own_attributes() -> None:
    config = parse_config_text(VEHICLE_CONFIG)

    assert config.entity_type == "VEHICLE"
    assert list(config.attributes) == ["vin", "plate", "make", "model", "year"]


def test_the_type_name_is_upper_cased_and_a_malformed_one_is_refused() -> None:
    data = _vehicle_data()
    data["entity_type"] = "vehicle"
    assert parse_config(data).entity_type == "VEHICLE"

    data["entity_type"] = "motor vehicle"
    assert "entity_type: 'motor vehicle' is not a valid type name" in _refusal(data)


def test_an_unknown_comparator_is_refused_with_the_known_ones_listed() -> None:
    data = _vehicle_data()
    data["comparisons"][1]["levels"][1] = {"label": "close", "test": "fuzzy"}

    message = _refusal(data)

    assert "comparisons[plate].levels[close].test: unknown comparator 'fuzzy'" in message
    assert "jaro_winkler" in message and "damerau_levenshtein" in message


def test_an_unknown_field_is_refused_with_the_declared_ones_listed() -> None:
    data = _vehicle_data()
    data["comparisons"][1]["fields"] = ["registration"]

    message = _refusal(data)

    assert "comparisons[plate].fields: unknown attribute(s) registration" in message
    assert "(declared: vin, plate, make, model, year)" in message


def test_bad_levels_are_refused() -> None:
    data = _vehicle_data()
    data["comparisons"][0]["levels"] = [{"label": "exact", "test": "exact"}]
    assert "comparisons[vin].levels: List should have at least 2 items" in _refusal(data)

    data = _vehicle_data()
    data["comparisons"][0]["levels"].pop()
    assert "comparisons[vin]: the last level must have test 'else'" in _refusal(data)

    data = _vehicle_data()
    data["comparisons"][4]["levels"][1] = {"label": "near", "test": "jaro_winkler", "at_least": 2}
    assert "needs at_least between 0 (excluded) and 1" in _refusal(data)


def test_an_unknown_attribute_kind_is_refused_with_the_known_ones_listed() -> None:
    data = _vehicle_data()
    data["attributes"]["colour"] = "paint"

    message = _refusal(data)

    assert "attributes.colour: unknown attribute kind 'paint': use one of text, name" in message


def test_a_malformed_attribute_name_is_refused() -> None:
    data = _vehicle_data()
    data["attributes"]["Body-Type"] = "text"

    assert "attributes: 'Body-Type' is not a valid attribute name" in _refusal(data)


def test_a_type_without_a_default_says_how_to_give_it_a_config() -> None:
    with pytest.raises(IntelGraphError) as caught:
        default_config("VEHICLE")

    assert "no config for entity type VEHICLE" in caught.value.message
    assert "--config FILE" in caught.value.message
    assert "intelgraph er config set TENANT --type VEHICLE FILE" in caught.value.message


def test_a_golden_set_of_vehicles_is_resolved_under_its_config() -> None:
    golden = parse_golden_csv(golden_csv_of(generate_vehicles(60, 5)))

    result = evaluate_golden(golden, "VEHICLE", parse_config_text(VEHICLE_CONFIG))

    assert result.entity_type == "VEHICLE" and result.is_trained_here
    assert result.f1 >= 0.95 and result.report.bcubed.f1 >= 0.95
    assert result.report.blocking_recall == 1.0


def test_a_golden_set_of_accounts_is_resolved_under_its_config() -> None:
    golden = parse_golden_csv(golden_csv_of(generate_accounts(60, 5)))

    result = evaluate_golden(golden, "ACCOUNT", parse_config_text(ACCOUNT_CONFIG))

    assert result.f1 >= 0.9 and result.report.pairwise.precision >= 0.98


def test_an_entity_of_a_configured_type_keeps_its_attributes_under_snake_case_names() -> None:
    record = entity_record(
        "ent_1", "ACCOUNT", "Ada Lovelace", {"IBAN": "GB82 WEST", "holderName": "Ada", "n": [1]}
    )

    assert record.entity_type == "ACCOUNT"
    assert record.attributes == {"iban": "GB82 WEST", "holder_name": "Ada", "label": "Ada Lovelace"}
